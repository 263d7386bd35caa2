"""Decode OTLP/HTTP request bodies (already decompressed) into records, by media type."""

from __future__ import annotations

from agentops_server.ingest.otlp import json_reader, protobuf_reader
from agentops_server.ingest.otlp.errors import Undecodable, UnsupportedMediaType
from agentops_server.ingest.otlp.spans import LogRecord, Span

__all__ = ["Undecodable", "UnsupportedMediaType", "decode_logs", "decode_traces"]

PROTOBUF = "application/x-protobuf"
JSON = "application/json"


def decode_traces(body: bytes, content_type: str) -> list[Span]:
    """An ExportTraceServiceRequest as spans; raises Undecodable or UnsupportedMediaType."""
    media = content_type.strip().lower()
    if media == PROTOBUF:
        return protobuf_reader.read_traces(body)
    if media == JSON:
        return json_reader.read_traces(body)
    raise _unsupported(content_type)


def decode_logs(body: bytes, content_type: str) -> list[LogRecord]:
    """An ExportLogsServiceRequest as log records; raises Undecodable or UnsupportedMediaType."""
    media = content_type.strip().lower()
    if media == PROTOBUF:
        return protobuf_reader.read_logs(body)
    if media == JSON:
        return json_reader.read_logs(body)
    raise _unsupported(content_type)


def _unsupported(content_type: str) -> UnsupportedMediaType:
    return UnsupportedMediaType(
        f"unsupported content type {content_type!r}: OTLP/HTTP takes {PROTOBUF} or {JSON}"
    )
