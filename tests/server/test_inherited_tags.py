"""Tags of a session that several processes write (0.3's inherited sessions), over real HTTP
on both engines: the owner's updates replace its own tags, a process that re-attached adds
its own, and nothing one of them adds is lost to another's update at the same time."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server.conftest import LiveServer
from tests.support.server import ServerProcess

OWNER_START = "2026-11-21T12:00:00.000000+00:00"
UPDATES = 5


@pytest.fixture(params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest) -> LiveServer:
    live: LiveServer = request.getfixturevalue("live" if request.param == "sqlite" else "pg_live")
    return live


def update(server: LiveServer, jwt: str, **fields: Any) -> None:
    res = server.post("/v2/update_session", {"session": fields}, headers=server.auth(jwt))
    assert res.status_code == 200, res.text


def tags_of(server: LiveServer, session_id: str) -> list[str]:
    return server.store.get_session(server.project_id, session_id).tags


def tagged(server: LiveServer, tag: str) -> list[str]:
    res = server.client.get(
        f"{server.url}/v2/sessions", params={"tag": tag}, headers=server.key_headers()
    )
    assert res.status_code == 200, res.text
    return [s["id"] for s in res.json()["data"]]


def test_processes_adding_tags_at_once_keep_every_tag(server: LiveServer) -> None:
    session_id, _ = server.start_session(tags=["owner"], init_timestamp=OWNER_START)
    workers = 12

    def child(i: int) -> None:
        start = f"2026-11-21T12:00:{i + 1:02d}.000000+00:00"
        _, jwt = server.start_session(session_id, tags=[f"c{i}"], init_timestamp=start)
        update(server, jwt, tags=[f"c{i}", f"u{i}"])  # 0.3 sends its whole list

    threads = [threading.Thread(target=child, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    expected = {"owner"} | {f"c{i}" for i in range(workers)} | {f"u{i}" for i in range(workers)}
    assert set(tags_of(server, session_id)) == expected
    assert tagged(server, "u7") == [session_id]


def test_the_owners_tag_updates_keep_what_re_attached_processes_added(
    server: LiveServer,
) -> None:
    session_id, owner = server.start_session(tags=["owner"], init_timestamp=OWNER_START)
    _, child = server.start_session(
        session_id, tags=["child-default"], init_timestamp="2026-11-21T12:00:05.000000+00:00"
    )
    update(server, child, tags=["child-default", "child-tag"])
    update(server, owner, tags=["owner", "late"])  # the owner's add_tags
    update(
        server,
        owner,
        tags=["owner", "late"],
        end_state="Success",
        end_timestamp="2026-11-21T12:01:00.000000+00:00",
    )  # and its end_session: 0.3 sends its own list again
    assert tags_of(server, session_id) == ["owner", "late", "child-default", "child-tag"]
    update(server, owner, tags=["final"])  # set_tags replaces the owner's own tags
    assert tags_of(server, session_id) == ["final", "child-default", "child-tag"]
    assert tagged(server, "owner") == [] and tagged(server, "child-tag") == [session_id]


def test_a_process_whose_clock_is_behind_the_owners_still_re_attaches(
    server: LiveServer,
) -> None:
    session_id, _ = server.start_session(tags=["owner"], init_timestamp=OWNER_START)
    behind = "2026-11-21T11:59:59.000000+00:00"
    _, child = server.start_session(session_id, tags=["child"], init_timestamp=behind)
    update(server, child, tags=["child-set"])
    assert tags_of(server, session_id) == ["owner", "child", "child-set"]
    assert server.stats(session_id)["init_timestamp"] == "2026-11-21T11:59:59+00:00"


def test_the_owners_retried_create_session_leaves_it_the_owner(server: LiveServer) -> None:
    """A create_session answered too late and sent again names the same start: its token
    still replaces the tags (set_tags)."""
    session_id, _ = server.start_session(tags=["a"], init_timestamp=OWNER_START)
    _, again = server.start_session(session_id, tags=["a"], init_timestamp=OWNER_START)
    update(server, again, tags=["b"])
    assert tags_of(server, session_id) == ["b"]


@pytest.mark.slow
def test_processes_adding_tags_through_several_workers_keep_every_tag(
    tmp_path: Path, database_url: str
) -> None:
    """The same across `serve --workers 2`: each update reads the tags under a lock that
    another worker's update waits for."""
    server = ServerProcess(
        data_dir=tmp_path / "data", database_url=database_url, extra_args=["--workers", "2"]
    ).start()
    try:
        session_id = str(uuid.uuid4())

        def post(path: str, session: dict[str, Any], headers: dict[str, str]) -> str:
            # a connection per request, so the kernel spreads them over both workers
            res = httpx.post(
                f"{server.url}{path}", json={"session": session}, headers=headers, timeout=60
            )
            assert res.status_code == 200, res.text
            return str(res.json().get("jwt"))

        key = {"X-Agentops-Api-Key": server.api_key}
        owner = {"session_id": session_id, "init_timestamp": OWNER_START, "tags": ["owner"]}
        post("/v2/create_session", owner, key)
        errors: list[BaseException] = []

        def child(i: int) -> None:
            try:
                start = f"2026-11-21T12:00:{i + 1:02d}.000000+00:00"
                mine = {"session_id": session_id, "init_timestamp": start, "tags": [f"c{i}"]}
                jwt = post("/v2/create_session", mine, key)
                bearer = {"Authorization": f"Bearer {jwt}"}
                for n in range(UPDATES):  # 0.3 sends its whole list each time
                    sent = [f"c{i}", *(f"u{i}-{k}" for k in range(n + 1))]
                    post("/v2/update_session", {"tags": sent}, bearer)
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)

        workers = 16
        threads = [threading.Thread(target=child, args=(i,)) for i in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert errors == []
        stored = server.export(session_id).json()["session"]["tags"]
    finally:
        server.stop()
    expected = {"owner"} | {f"c{i}" for i in range(workers)}
    expected |= {f"u{i}-{k}" for i in range(workers) for k in range(UPDATES)}
    assert set(stored) == expected
