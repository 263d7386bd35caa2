"""agentops 0.4's span validation (`agentops.validate_trace_spans`), over this server's export
API: a trace is a session, its spans are the session (the root) and its events.

0.4.21 asks AgentOps' cloud API for the trace; here the session is read back from the
server the SDK sends to (`GET /v2/sessions/{id}/export`, with the API key), after the SDK has
sent what it holds. The arguments, the result's keys and the errors are 0.4.21's.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from agentops import _recording
from agentops._client import get_client
from agentops._errors import logger
from agentops._trace_context import TraceContext

_EVENT_KINDS = {"actions": "action", "tools": "tool", "llms": "llm", "errors": "error"}


class ValidationError(Exception):
    """Raised when span validation fails."""


def validate_trace_spans(
    trace_id: str | None = None,
    trace_context: Any | None = None,
    max_retries: int = 10,
    retry_delay: float = 1.0,
    check_llm: bool = True,
    min_spans: int = 1,
    api_key: str | None = None,
) -> dict[str, Any]:
    """Check that a trace reached the server: at least `min_spans` spans (the session counts
    as one, each event as one) and, with `check_llm`, an LLM call. Retries `max_retries`
    times, `retry_delay` s apart. The trace is `trace_id` (32 hex digits or a UUID), else
    `trace_context` (a TraceContext or Session), else the current session.

    Returns {"trace_id", "span_count", "spans", "has_llm_spans", "llm_span_names",
    "metrics"}; without an API key (or with one the server refuses) nothing is checked and
    the result says so ("validation_skipped": True, "reason"). Raises ValidationError when
    the spans did not arrive, ValueError when there is no trace to check."""
    session_id = _session_id(trace_id, trace_context)
    hex_id = format(session_id.int, "032x")
    client = get_client()
    key = api_key or client.config.api_key
    if not key:
        logger.warning("Could not obtain an API key - validation will be skipped")
        return _skipped(hex_id, "No API key available")
    client.flush()  # what this process recorded is on the server, or flush_timeout passed
    logger.info("Validating spans for trace ID: %s", hex_id)
    for attempt in range(max(1, max_retries)):
        status, exported = _export(client.config.endpoint, key, session_id)
        if status in (401, 403):
            logger.warning("The server refused the API key (HTTP %d) - validation skipped", status)
            return _skipped(hex_id, f"The server refused the API key (HTTP {status})")
        if exported is not None:
            result = _result(hex_id, exported)
            if result["span_count"] >= min_spans:
                if check_llm and not result["has_llm_spans"]:
                    names = [span["span_name"] for span in result["spans"]]
                    raise ValidationError(
                        f"No LLM activity detected in trace {hex_id}. Found spans: {names}, "
                        f"Token usage: {result['metrics']['total_tokens']}"
                    )
                return result
        logger.debug("Trace %s not complete yet (%d/%d)", hex_id, attempt + 1, max_retries)
        if attempt < max_retries - 1:
            time.sleep(retry_delay)
    raise ValidationError(
        f"Validation failed for trace {hex_id} after {max_retries} attempts. "
        f"Expected at least {min_spans} spans"
        + (", including LLM activity" if check_llm else "")
        + ". Please check that tracking is properly configured."
    )


def _session_id(trace_id: str | None, trace_context: Any) -> uuid.UUID:
    if trace_id is not None:
        try:
            return uuid.UUID(str(trace_id).strip())
        except ValueError:
            raise ValueError(
                f"trace_id must be 32 hex digits or a UUID, got {trace_id!r}"
            ) from None
    if trace_context is None:
        current = _recording.current_session()
        if current is None:
            raise ValueError(
                "No trace ID found. Provide either trace_id or trace_context parameter."
            )
        return current.session_id
    if isinstance(trace_context, TraceContext) and trace_context.session is not None:
        return trace_context.session.session_id
    session_id = getattr(trace_context, "session_id", None)  # a Session
    if isinstance(session_id, uuid.UUID):
        return session_id
    span = getattr(trace_context, "span", None)
    trace_int = getattr(span.get_span_context(), "trace_id", 0) if span is not None else 0
    if isinstance(trace_int, int) and trace_int:
        return uuid.UUID(int=trace_int)
    raise ValueError("No trace ID found. Provide either trace_id or trace_context parameter.")


def _export(endpoint: str, api_key: str, session_id: uuid.UUID) -> tuple[int, Any]:
    """The export's status and body (None unless 200); status 0 when the server is away."""
    import httpx

    from agentops._transport import _tls_settings

    try:
        response = httpx.get(
            f"{endpoint}/v2/sessions/{session_id}/export",
            headers={"X-Agentops-Api-Key": api_key},
            timeout=10,
            verify=_tls_settings(httpx),
        )
    except httpx.HTTPError as exc:
        logger.debug("Could not read trace %s: %r", session_id, exc)
        return 0, None
    if response.status_code != 200:
        return response.status_code, None
    return 200, response.json()


def _result(hex_id: str, exported: dict[str, Any]) -> dict[str, Any]:
    session = exported.get("session") or {}
    spans = [
        {
            "span_id": str(session.get("id")),
            "parent_span_id": None,
            "span_name": f"{session.get('name') or 'session'}.session",
            "span_kind": "session",
            "end_state": session.get("end_state"),
        }
    ]
    llm_names: list[str] = []
    for kind, span_kind in _EVENT_KINDS.items():
        for event in exported.get(kind) or []:
            name = str(
                event.get("action_type")
                or event.get("name")
                or event.get("model")
                or event.get("error_type")
                or span_kind
            )
            spans.append(
                {
                    "span_id": event.get("id"),
                    "parent_span_id": event.get("parent_id"),
                    "span_name": name,
                    "span_kind": span_kind,
                }
            )
            if span_kind == "llm":
                llm_names.append(name)
    stats = exported.get("stats") or {}
    prompt = int(stats.get("prompt_tokens") or 0)
    completion = int(stats.get("completion_tokens") or 0)
    metrics: dict[str, Any] = {
        "total_tokens": prompt + completion,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_cost": stats.get("cost") or "0.0000",
    }
    return {
        "trace_id": hex_id,
        "span_count": len(spans),
        "spans": spans,
        "has_llm_spans": bool(llm_names) or prompt + completion > 0,
        "llm_span_names": llm_names,
        "metrics": metrics,
    }


def _skipped(hex_id: str, reason: str) -> dict[str, Any]:
    return {
        "trace_id": hex_id,
        "span_count": 0,
        "spans": [],
        "has_llm_spans": False,
        "llm_span_names": [],
        "metrics": None,
        "validation_skipped": True,
        "reason": reason,
    }


def print_validation_summary(result: dict[str, Any]) -> None:
    """Print a summary of validate_trace_spans()'s result (0.4.21's wording)."""
    print("\n" + "=" * 50)
    print("🔍 AgentOps Span Validation Results")
    print("=" * 50)
    if result.get("validation_skipped"):
        print(f"⚠️  Validation skipped: {result.get('reason', 'Unknown reason')}")
        return
    print(f"✅ Found {result['span_count']} span(s) in trace")
    if result.get("has_llm_spans"):
        if result.get("llm_span_names"):
            print(f"✅ Found LLM spans: {', '.join(result['llm_span_names'])}")
        else:
            print("✅ LLM activity confirmed via token usage metrics")
    elif "has_llm_spans" in result:
        print("⚠️  No LLM activity detected")
    metrics = result.get("metrics")
    if metrics:
        print("\n📊 Trace Metrics:")
        print(f"   - Total tokens: {metrics.get('total_tokens', 0)}")
        print(f"   - Prompt tokens: {metrics.get('prompt_tokens', 0)}")
        print(f"   - Completion tokens: {metrics.get('completion_tokens', 0)}")
        print(f"   - Total cost: ${metrics.get('total_cost', '0.0000')}")
    print("\n✅ Validation successful!")


__all__ = ["ValidationError", "print_validation_summary", "validate_trace_spans"]
