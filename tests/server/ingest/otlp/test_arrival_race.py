"""A trace's root that arrives while a request of its children is being prepared: the
children still end up directly under the session (the root's request moves the children
already stored; the late ones are moved after their own write)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from agentops_server.config import ServerConfig
from agentops_server.ingest.otlp.decode import decode_traces
from agentops_server.ingest.otlp.pipeline import OtlpIngest
from agentops_server.ingest.writer import IngestWriter
from agentops_server.pricing import Pricer
from agentops_server.storage import migrate
from agentops_server.storage.sql_store import SqlStore, open_store
from tests.support.otlp import (
    SpanSpec,
    agentops_llm_span,
    agentops_session_span,
    new_trace_id,
    session_of,
    trace_request,
)

PROTOBUF = "application/x-protobuf"


def request(ingest: OtlpIngest, span: SpanSpec, project: str) -> Any:
    """One request of one span, decoded and prepared (its sessions written, not its events)."""
    body = trace_request([span]).SerializeToString()
    return ingest.prepare(decode_traces(body, PROTOBUF), project)


def write(store: SqlStore, ingest: OtlpIngest, prepared: Any) -> None:
    """The rest of that request: its events, then the updates they make."""
    store.append_event_batches([prepared.events])
    ingest.finish(prepared)


@contextmanager
def ingest_on_sqlite(tmp_path: Path) -> Iterator[tuple[SqlStore, OtlpIngest]]:
    """The server's OTLP path over a fresh SQLite file, driven one step at a time."""
    url = f"sqlite:///{tmp_path}/agentops.sqlite3"
    migrate.upgrade(url)
    store = open_store(url)
    try:
        config = ServerConfig(database_url=url, data_dir=tmp_path)
        yield store, OtlpIngest(store, Pricer(store), IngestWriter(store), config)
    finally:
        store.close()


def test_children_prepared_before_their_root_came_move_under_the_session(
    tmp_path: Path,
) -> None:
    with ingest_on_sqlite(tmp_path) as (store, ingest):
        project = store.create_project("race").id
        trace_id = new_trace_id()
        root = agentops_session_span(trace_id)
        early = agentops_llm_span(trace_id, root.span_id, start_ms=1)
        late = agentops_llm_span(trace_id, root.span_id, start_ms=2)

        first = request(ingest, early, project)
        write(store, ingest, first)
        # the late child's request is prepared (its root unknown) ...
        second = request(ingest, late, project)
        # ... when the root's whole request runs
        last = request(ingest, root, project)
        write(store, ingest, last)
        # and only then is the late child written
        write(store, ingest, second)

        events = {e.id: e for e in store.iter_events(session_of(trace_id), "llms")}
        assert set(events) == {early.span_id, late.span_id}
        assert {e.parent_id for e in events.values()} == {None}


def test_children_finished_while_their_agent_root_is_not_written_yet_stay_under_it(
    tmp_path: Path,
) -> None:
    """A root that is an event (an agent here) must keep its children whatever the timing:
    the children's request finishes after the root's session write and before the root's
    own event is committed (two writers on PostgreSQL)."""
    with ingest_on_sqlite(tmp_path) as (store, ingest):
        project = store.create_project("race").id
        trace_id = new_trace_id()
        agent = SpanSpec(
            "planner.agent", trace_id, start_ms=0, end_ms=50,
            attributes={"agentops.span.kind": "agent", "operation.name": "planner"},
        )  # fmt: skip
        child = agentops_llm_span(trace_id, agent.span_id, start_ms=1)

        root_request = request(ingest, agent, project)  # its session is written; its event not yet
        children = request(ingest, child, project)
        write(store, ingest, children)
        write(store, ingest, root_request)

        (llm,) = store.iter_events(session_of(trace_id), "llms")
        assert (llm.parent_id, llm.agent_id) == (agent.span_id, agent.span_id)
