"""OTLP/HTTP ingestion, I/O-free: decode request bodies into records and read their meaning."""
