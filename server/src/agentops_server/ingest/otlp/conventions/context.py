"""Session-level context any span may carry: tags, metadata, conversation id, host env.

OpenInference puts `session.id`, `user.id`, `metadata` and `tag.tags` on instrumented spans,
not on the root, so these are read on every span and the assembler unions them.
"""

from __future__ import annotations

from typing import Any

from agentops_server.ingest.otlp.conventions.values import (
    decoded_container,
    first_text,
    string_list,
)
from agentops_server.ingest.otlp.spans import AttrValue, Span

__all__ = ["context", "resource_host_env"]

_ASSOCIATION = "traceloop.association.properties."
CONVERSATION = (
    "gen_ai.conversation.id",
    "session.id",
    "traceloop.association.properties.session_id",
)
_HOST_PREFIXES = ("host.", "os.", "process.runtime.", "service.", "telemetry.sdk.")
_CONTEXT_KEYS = frozenset({"metadata", "user.id", "tag.tags", *CONVERSATION})
"""The keys read here, but for the association properties."""


def context(span: Span, *, associations: bool, resource_env: bool = True) -> dict[str, Any]:
    """SpanFacts fields tags, metadata, conversation_id and host_env.

    `associations` scans the keys for `traceloop.association.properties.*` (OpenLLMetry's
    SDK writes them on any span), a cost paid only by conventions that may carry them.
    `resource_env` gives root spans the host environment of their resource.
    """
    attrs = span.attributes
    host_env = resource_host_env(span) if resource_env and span.parent_span_id is None else None
    if not associations and attrs.keys().isdisjoint(_CONTEXT_KEYS):  # most spans carry none
        return {"tags": (), "metadata": {}, "conversation_id": None, "host_env": host_env}
    metadata: dict[str, AttrValue] = {}
    raw = attrs.get("metadata")
    if raw is not None:
        parsed = decoded_container(raw)
        if isinstance(parsed, dict):
            metadata.update(parsed)
        else:
            metadata["metadata"] = parsed
    user = attrs.get("user.id")
    if user is not None:
        metadata["user_id"] = user
    if associations:
        for key, value in attrs.items():
            if key.startswith(_ASSOCIATION):
                metadata[key[len(_ASSOCIATION) :]] = value
    tags = attrs.get("tag.tags")
    return {
        "tags": string_list(tags) if tags is not None else (),
        "metadata": metadata,
        "conversation_id": first_text(attrs, CONVERSATION),
        "host_env": host_env,
    }


def resource_host_env(span: Span) -> dict[str, AttrValue] | None:
    """host.*, os.*, process.runtime.*, service.*, telemetry.sdk.* from the span's resource."""
    env = {k: v for k, v in span.resource.items() if k.startswith(_HOST_PREFIXES)}
    return env or None
