"""Ingestion: two front doors (AgentOps v2 JSON in v2.py, OpenTelemetry OTLP in otlp/) that
produce the same store records for one writer (writer.py)."""
