"""HTTP API: one router per resource (ingest, sessions, health), errors and request parsing."""
