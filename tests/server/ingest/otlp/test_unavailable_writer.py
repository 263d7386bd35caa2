"""While the server starts or drains its writer takes no spans: a valid request is told to
retry (the API answers 503 with Retry-After), but a body that no retry could fix is told
what is wrong with it (400), as at any other time."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agentops_server.config import ServerConfig
from agentops_server.ingest.otlp.errors import Undecodable
from agentops_server.ingest.otlp.pipeline import OtlpIngest
from agentops_server.ingest.writer import IngestWriter, WriterUnavailable
from agentops_server.pricing import Pricer
from agentops_server.storage import migrate
from agentops_server.storage.sql_store import open_store
from tests.support.otlp import agentops_session_span, new_trace_id, session_of, trace_request

PROTOBUF = "application/x-protobuf"


@pytest.mark.parametrize("moment", ["starting", "drained"])
def test_a_writer_that_takes_nothing_still_tells_a_bad_body_from_a_good_one(
    tmp_path: Path, moment: str
) -> None:
    url = f"sqlite:///{tmp_path}/agentops.sqlite3"
    migrate.upgrade(url)
    store = open_store(url)
    try:
        writer = IngestWriter(store)
        if moment == "drained":
            asyncio.run(writer.start())
            asyncio.run(writer.close())
        config = ServerConfig(database_url=url, data_dir=tmp_path)
        ingest = OtlpIngest(store, Pricer(store), writer, config)
        project = store.create_project("p").id
        with pytest.raises(Undecodable, match="not a valid OTLP protobuf"):
            asyncio.run(ingest.ingest_body(b"\xff\xff not protobuf", PROTOBUF, project))
        trace_id = new_trace_id()
        good = trace_request([agentops_session_span(trace_id)]).SerializeToString()
        with pytest.raises(WriterUnavailable, match="retry"):
            asyncio.run(ingest.ingest_body(good, PROTOBUF, project))
        assert store.find_session_project(session_of(trace_id)) is None  # nothing stored
    finally:
        store.close()
