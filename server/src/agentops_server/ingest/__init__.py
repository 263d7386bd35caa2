"""Ingestion: the front doors (v2 JSON, OTLP) that turn request bodies into records to store."""
