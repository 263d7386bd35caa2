"""Shared test helpers: real PostgreSQL databases and real server processes."""
