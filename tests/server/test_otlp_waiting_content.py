"""GenAI content from /v1/logs that waits for its span while other spans of the trace come
first (a BatchSpanProcessor splits a trace over several export requests): a request joins
the content of its own spans only, and leaves the rest waiting for theirs, still counted in
its project's budget and expired from when it came. On both engines."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from agentops_server.storage.records import PendingOtlp
from tests.server.conftest import LiveServer
from tests.server.test_otlp_ingest import export, live, send
from tests.server.test_otlp_log_resends import (
    DETAILS,
    Log,
    at,
    log_request,
    post_logs,
    stored_call,
)
from tests.support.otlp import SpanSpec, chat_trace, new_span_id, trace_request

__all__ = ["live"]  # the fixture: SQLite and PostgreSQL

PROTOBUF = {"Content-Type": "application/x-protobuf"}


def tool_span(trace_id: str, parent: str) -> SpanSpec:
    return SpanSpec("execute_tool get_weather", trace_id, parent=parent, scope="genai",
                    attributes={"gen_ai.operation.name": "execute_tool",
                                "gen_ai.tool.name": "get_weather"})  # fmt: skip


def wait_for_span(live: LiveServer, trace_id: str, span_id: str, text: str, n: int) -> None:
    """openai-v2's content record of one call, sent before the call's span."""
    body = log_request("protobuf", trace_id, span_id, [Log(DETAILS, text, *at(n))])
    post_logs(live, "protobuf", body)


@pytest.mark.parametrize("first", ["root", "tool"])
def test_content_waits_for_its_span_while_other_spans_of_the_trace_arrive(
    live: LiveServer, first: str
) -> None:
    """The content waits; the root (or a tool) comes in a request of its own, then the call."""
    span_id, (chat, root) = chat_trace()
    trace_id = root.trace_id
    wait_for_span(live, trace_id, span_id, "hello", 1)
    waiting = live.store.pending_bytes(live.project_id)
    assert waiting > 0
    other = root if first == "root" else tool_span(trace_id, root.span_id)
    assert send(live, [other]).status_code == 200
    left = live.store.pending_bytes(live.project_id)
    assert send(live, [chat] if first == "root" else [chat, root]).status_code == 200
    assert stored_call(live, trace_id) == (["hello"], ["re: hello"])
    assert left == waiting  # it was still held, and counted, in between
    assert live.store.pending_bytes(live.project_id) == 0


def test_each_call_takes_its_own_content_when_its_span_arrives(live: LiveServer) -> None:
    """The content of two calls, sent in one request before their spans: each call's span
    comes in a request of its own, and takes its own content only."""
    span_id, (chat, root) = chat_trace()
    trace_id = root.trace_id
    second = replace(chat, span_id=new_span_id(), start_ms=20, end_ms=30)
    # two requests' bytes one after the other are one request holding both (protobuf)
    body = log_request("protobuf", trace_id, span_id, [Log(DETAILS, "one", *at(1))])
    body += log_request("protobuf", trace_id, second.span_id, [Log(DETAILS, "two", *at(2))])
    post_logs(live, "protobuf", body)
    for spans in ([root], [chat], [second]):
        assert send(live, spans).status_code == 200
    calls = {llm["id"]: llm for llm in export(live, trace_id)["llms"]}
    assert calls[span_id]["prompt"]["messages"] == [{"role": "user", "content": "one"}]
    assert calls[second.span_id]["prompt"]["messages"] == [{"role": "user", "content": "two"}]
    assert live.store.pending_bytes(live.project_id) == 0


def test_content_left_waiting_expires_from_when_it_came(live: LiveServer) -> None:
    """What a request leaves waiting is not held anew: the pending period counts from the
    content's own arrival, whatever other spans of the trace came since."""
    span_id, (chat, root) = chat_trace()
    trace_id = root.trace_id
    wait_for_span(live, trace_id, span_id, "hello", 1)
    arrived = datetime.now(UTC)
    assert send(live, [root]).status_code == 200
    assert live.store.expire_pending(arrived) == 1  # what the sweeper does at its period
    assert send(live, [chat]).status_code == 200
    assert stored_call(live, trace_id) == ([], [])


def test_content_waiting_for_a_token_less_span_joins_it_when_the_trace_is_claimed(
    live: LiveServer,
) -> None:
    """agentops 0.4 held the call's span for its token while the content waited for the
    span: the authenticated request that claims the trace (its root) joins them."""
    span_id, (chat, root) = chat_trace()
    trace_id = root.trace_id
    wait_for_span(live, trace_id, span_id, "hello", 1)
    early = trace_request([chat]).SerializeToString()  # no key: held for the token
    assert live.client.post(live.url + "/v1/traces", content=early, headers=PROTOBUF).is_success
    assert send(live, [root]).status_code == 200
    assert stored_call(live, trace_id) == (["hello"], ["re: hello"])
    assert live.store.pending_bytes(live.project_id) == 0


@pytest.mark.parametrize("expires", [False, True])
def test_content_held_for_several_spans_by_an_earlier_version_waits_for_each(
    live: LiveServer, expires: bool
) -> None:
    """An earlier version held a trace's waiting content in one row for all its spans: a
    request of the trace takes what is for its own spans and leaves the rest waiting once
    (the row may have been held twice: an exporter's retry), from when it came."""
    span_id, (chat, root) = chat_trace()
    trace_id = root.trace_id
    second = replace(chat, span_id=new_span_id(), start_ms=20, end_ms=30)
    old = {
        span_id: {"r1": {"prompt": [{"role": "user", "content": "one"}]}},
        second.span_id: {"r2": {"prompt": [{"role": "user", "content": "two"}]}},
    }
    came = datetime.now(UTC) - timedelta(seconds=60)
    row = PendingOtlp(trace_id, live.project_id, "logs", json.dumps(old), came)
    live.store.hold_pending([row, row])
    assert send(live, [chat, root]).status_code == 200
    if expires:  # the sweeper, a moment after the pending period of what came then
        assert live.store.expire_pending(came + timedelta(seconds=1)) == 1
    assert send(live, [second]).status_code == 200
    calls = {llm["id"]: llm for llm in export(live, trace_id)["llms"]}
    assert calls[span_id]["prompt"]["messages"] == [{"role": "user", "content": "one"}]
    two = None if expires else {"type": "chatml", "messages": [{"role": "user", "content": "two"}]}
    assert calls[second.span_id]["prompt"] == two
    assert live.store.pending_bytes(live.project_id) == 0
