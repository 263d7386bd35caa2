"""agentops 0.4: SDK spans (`agentops.span.kind`) and its provider instrumentations' spans.

LLM spans carry no `agentops.span.kind`; they are CLIENT spans with `gen_ai.*` attributes in
the legacy OpenLLMetry shape. `tool_call.*` children of an LLM span are tool calls the model
requested, not executions: they become actions. The session span carries the end state, the
reason and extra kwargs of legacy `end_session`, tags, metadata and (for `session.session`)
the host environment.
"""

from __future__ import annotations

from typing import Any

from agentops_server.ingest.otlp.conventions.context import context
from agentops_server.ingest.otlp.conventions.error_facts import error_facts
from agentops_server.ingest.otlp.conventions.facts import SpanFacts, SpanKind
from agentops_server.ingest.otlp.conventions.llm import read_llm
from agentops_server.ingest.otlp.conventions.usage import reported_cost
from agentops_server.ingest.otlp.conventions.values import (
    decoded,
    decoded_container,
    scalar_text,
    string_list,
    text,
)
from agentops_server.ingest.otlp.spans import AttrValue, Span

__all__ = ["is_agentops", "read"]

CLIENT = 3
_KINDS: dict[str, SpanKind] = {"session": "session", "agent": "agent", "tool": "tool", "llm": "llm"}
_LLM_SCOPES = frozenset({"openai", "anthropic"})
_END_STATES = {"success": "Success", "fail": "Fail", "failure": "Fail", "error": "Fail"}
_LEGACY = "agentops.legacy."
_METADATA = "trace.metadata."
_HOST_PREFIXES = ("host.", "cpu.", "memory.")
# Bare keys on a session span that are not dict tags.
_NOT_TAGS = frozenset({"error", "imported_libraries"})


def is_agentops(span: Span) -> bool:
    if "agentops.span.kind" in span.attributes or span.scope_name.startswith("agentops"):
        return True
    resource = span.resource
    return resource.get("service.name") == "agentops" and "agentops.project.id" in resource


def read(span: Span) -> SpanFacts | None:
    """None for a span of an agentops process that is none of the SDK's: another
    instrumentation in the same process wrote it, so another convention may read it."""
    attrs = span.attributes
    declared = text(attrs.get("agentops.span.kind"))
    if declared is None:
        if span.name.startswith("tool_call.") and ("tool.call.id" in attrs or "tool.name" in attrs):
            return _tool_call(span)
        if _is_llm(span):
            return read_llm(span, "agentops", _context(span))
        if span.scope_name.startswith("agentops"):
            return _entity(span, "action", "entity")
        return None
    declared = declared.lower()
    if declared == "llm":
        return read_llm(span, "agentops", _context(span))
    if declared == "session":
        return _session(span)
    return _entity(span, _KINDS.get(declared, "action"), declared)


def _is_llm(span: Span) -> bool:
    attrs = span.attributes
    if "gen_ai.request.type" in attrs:
        return True
    return span.kind == CLIENT and (
        span.scope_name in _LLM_SCOPES
        or "gen_ai.system" in attrs
        or "gen_ai.request.model" in attrs
    )


def _entity(span: Span, kind: SpanKind, declared: str) -> SpanFacts:
    """agent, tool, task/operation, workflow, guardrail, http ... spans of the decorators."""
    attrs = span.attributes
    name = text(attrs.get("operation.name"))
    if name is None and kind == "agent":
        name = text(attrs.get("agent.name"))
    name = name or span.name.removesuffix(f".{declared}")
    return SpanFacts(
        kind=kind,
        name=name,
        convention="agentops",
        params=_io(attrs, declared, "input"),
        returns=_io(attrs, declared, "output"),
        reported_cost=reported_cost(attrs) if kind == "tool" else None,
        agent_name=name if kind == "agent" else None,
        error=error_facts(span),
        **_tags_context(span),
    )


def _session(span: Span) -> SpanFacts:
    attrs = span.attributes
    raw_state = attrs.get("agentops.session.end_state")
    reason = text(attrs.get(f"{_LEGACY}end_state_reason"))
    if reason is None and raw_state == "Shutdown":
        reason = "process exit"
    tags = list(string_list(attrs.get("agentops.tags")))
    metadata: dict[str, AttrValue] = {}
    host_env: dict[str, AttrValue] = {}
    for key, value in attrs.items():
        if key.startswith(_LEGACY):
            if key != f"{_LEGACY}end_state_reason":
                metadata[key[len(_LEGACY) :]] = value
        elif key.startswith(_METADATA):
            metadata[key[len(_METADATA) :]] = decoded_container(value)
        elif key.startswith(_HOST_PREFIXES):
            host_env[key] = value
        elif "." not in key and key not in _NOT_TAGS and value is not None:
            tags.append(f"{key}:{scalar_text(value)}")  # start_trace(tags={"team": "alpha"})
    ctx = _context(span)
    ctx["metadata"] = {**ctx["metadata"], **metadata}
    ctx["tags"] = tuple(dict.fromkeys([*tags, *ctx["tags"]]))
    ctx["host_env"] = host_env or None
    return SpanFacts(
        kind="session",
        name=text(attrs.get("operation.name")) or span.name.removesuffix(".session"),
        convention="agentops",
        params=_io(attrs, "session", "input"),
        returns=_io(attrs, "session", "output"),
        end_state=_end_state(raw_state),
        end_reason=reason,
        error=error_facts(span),
        **ctx,
    )


def _tool_call(span: Span) -> SpanFacts:
    attrs = span.attributes
    name = text(attrs.get("tool.name")) or span.name.removeprefix("tool_call.")
    call_id = attrs.get("tool.call.id")
    metadata: dict[str, AttrValue] = {} if call_id is None else {"tool_call_id": call_id}
    return SpanFacts(
        kind="action",
        name=f"tool_call.{name}",
        convention="agentops",
        params=decoded(attrs.get("tool.parameters")),
        metadata=metadata,
        error=error_facts(span),
    )


def _end_state(raw: AttrValue) -> str | None:
    """Success -> Success; Fail/Failure/Error -> Fail; any other value -> Indeterminate."""
    if raw is None:
        return None
    if isinstance(raw, str):
        return _END_STATES.get(raw.lower(), "Indeterminate")
    return "Indeterminate"


def _io(attrs: dict[str, AttrValue], kind: str, direction: str) -> AttrValue:
    """agentops.{kind}.input|output, else agentops.entity.*; JSON parsed when valid."""
    value = attrs.get(f"agentops.{kind}.{direction}")
    if value is None:
        value = attrs.get(f"agentops.entity.{direction}")
    return decoded(value)


def _tags_context(span: Span) -> dict[str, Any]:
    ctx = _context(span)
    tags = span.attributes.get("agentops.tags")
    if tags is not None:
        ctx["tags"] = tuple(dict.fromkeys([*string_list(tags), *ctx["tags"]]))
    return ctx


def _context(span: Span) -> dict[str, Any]:
    """The shared context, without a resource host env: agentops' resource has none."""
    return context(span, associations=False, resource_env=False)
