"""The spool on its own: files written whole or journaled, sent by a later process to a real
server, each event stored once, bounded, private, and never taken from a running process."""

from __future__ import annotations

import signal
import stat
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentops._spool import Destination, Spool, end_line, events_line, session_line
from agentops._transport import HttpTransport
from tests.sdk.conftest import REPO_ROOT, export, script_env
from tests.support.server import ServerProcess


@pytest.fixture
def http() -> Iterator[HttpTransport]:
    transport = HttpTransport(timeout=5)
    yield transport
    transport.close()


def snapshot(session_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "session_id": session_id,
        "init_timestamp": "2026-12-03T10:00:00+00:00",
        "tags": ["spooled"],
        **fields,
    }


def action(i: int) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "event_type": "actions",
        "action_type": f"step-{i}",
        "init_timestamp": "2026-12-03T10:00:01+00:00",
        "end_timestamp": "2026-12-03T10:00:02+00:00",
    }


def spooled_run(spool: Spool, server: ServerProcess, events: int) -> str:
    session_id = str(uuid.uuid4())
    assert spool.save(
        Destination(server.url, server.api_key),
        [
            session_line(snapshot(session_id)),
            events_line(session_id, [action(i) for i in range(events)]),
            end_line(session_id, {"end_state": "Success", "is_running": False}),
        ],
    )
    return session_id


def test_a_spooled_run_is_sent_once_and_removed(
    server: ServerProcess, tmp_path: Path, http: HttpTransport
) -> None:
    spool = Spool(tmp_path / "spool")
    session_id = spooled_run(spool, server, events=1200)  # more than one request's worth
    (file,) = spool.directory.glob("*.spool")
    assert stat.S_IMODE(file.stat().st_mode) == 0o600  # it holds the API key
    assert stat.S_IMODE(spool.directory.stat().st_mode) == 0o700
    copy = file.read_bytes()

    report = spool.send_all(http)
    assert (report.files, report.kept, report.events) == (1, 0, 1200)
    assert list(spool.directory.iterdir()) == []
    data = export(server, session_id)
    assert len(data["actions"]) == 1200
    assert data["session"]["end_state"] == "Success"
    assert data["session"]["tags"] == ["spooled"]

    # the same file again (say, two machines shared the folder): every event is stored once
    (spool.directory / file.name).write_bytes(copy)
    assert spool.send_all(http).files == 1
    assert export(server, session_id)["stats"]["events"] == 1200


def test_the_spool_keeps_what_the_server_did_not_take(
    server: ServerProcess, tmp_path: Path, http: HttpTransport
) -> None:
    spool = Spool(tmp_path / "spool")
    session_id = spooled_run(spool, server, events=3)
    server.stop()
    try:
        report = spool.send_all(http)
    finally:
        server.start()  # same port, same data
    assert (report.files, report.kept) == (0, 1)
    assert spool.pending() == 1
    assert spool.send_all(http).files == 1
    assert len(export(server, session_id)["actions"]) == 3


def test_what_the_server_refuses_is_not_kept_forever(
    server: ServerProcess, tmp_path: Path, http: HttpTransport
) -> None:
    spool = Spool(tmp_path / "spool")
    session_id = str(uuid.uuid4())
    lines = [session_line(snapshot(session_id)), events_line(session_id, [action(1)])]
    assert spool.save(Destination(server.url, str(uuid.uuid4())), lines)  # a revoked key
    report = spool.send_all(http)
    assert (report.files, report.kept, report.refused, report.events) == (1, 0, 1, 0)
    assert spool.pending() == 0
    assert server.export(session_id).status_code == 404


def test_the_spool_is_bounded(server: ServerProcess, tmp_path: Path, http: HttpTransport) -> None:
    spool = Spool(tmp_path / "spool", max_bytes=20_000)
    destination = Destination(server.url, server.api_key)
    sid = str(uuid.uuid4())
    big = [events_line(sid, [action(i) for i in range(80)])]  # ~15 kB
    assert spool.save(destination, big)
    assert not spool.save(destination, big)  # would pass the bound: refused, nothing written
    assert len(list(spool.directory.glob("*.spool"))) == 1
    assert spool.used_bytes() <= 20_000


def test_a_cut_journal_sends_its_whole_lines(
    server: ServerProcess, tmp_path: Path, http: HttpTransport
) -> None:
    spool = Spool(tmp_path / "spool")
    session_id = spooled_run(spool, server, events=5)
    (file,) = spool.directory.glob("*.spool")
    lines = file.read_bytes().splitlines(keepends=True)
    file.write_bytes(b"".join(lines[:3]) + lines[3][:10])  # the end update cut mid-line
    assert spool.send_all(http).files == 1
    data = export(server, session_id)
    assert len(data["actions"]) == 5 and data["session"]["end_state"] == "Indeterminate"


JOURNALING_AGENT = textwrap.dedent(
    """
    import sys, time, uuid
    from pathlib import Path
    from agentops._spool import Destination, Spool, events_line, session_line

    directory, url, key, session_id = sys.argv[1:5]
    journal = Spool(Path(directory)).open_journal(Destination(url, key))
    journal.add(lambda: session_line({"session_id": session_id, "tags": ["durable"]}))
    for i in range(1000):
        event = {"id": str(uuid.uuid4()), "event_type": "actions", "action_type": f"s{i}"}
        journal.add(lambda event=event: events_line(session_id, [event]))
    time.sleep(0.5)  # > the 100 ms journal interval: everything above is on disk
    print("journaled", flush=True)
    time.sleep(60)
    """
)


def test_a_killed_process_journal_is_sent_by_the_next_one(
    server: ServerProcess, tmp_path: Path, http: HttpTransport
) -> None:
    spool = Spool(tmp_path / "spool")
    session_id = str(uuid.uuid4())
    agent = subprocess.Popen(
        [sys.executable, "-c", JOURNALING_AGENT, str(spool.directory), server.url]
        + [server.api_key, session_id],
        stdout=subprocess.PIPE,
        text=True,
        env=script_env(),
        cwd=REPO_ROOT,
    )
    try:
        assert agent.stdout is not None and agent.stdout.readline().strip() == "journaled"
        # the journal of a running process is its own: nobody else sends it
        assert spool.pending() == 0
        assert spool.send_all(http).files == 0
        agent.send_signal(signal.SIGKILL)
        agent.wait(10)
    finally:
        if agent.poll() is None:
            agent.kill()
        agent.wait(10)
        assert agent.stdout is not None
        agent.stdout.close()
    assert spool.pending() == 1
    report = spool.send_all(http)
    assert (report.files, report.events) == (1, 1000)
    data = export(server, session_id)
    assert len(data["actions"]) == 1000 and data["session"]["tags"] == ["durable"]


def test_two_senders_at_once_send_each_file_once(
    server: ServerProcess, tmp_path: Path, http: HttpTransport
) -> None:
    spool = Spool(tmp_path / "spool")
    sessions = [spooled_run(spool, server, events=50) for _ in range(6)]
    sender = (
        "import sys; from pathlib import Path; from agentops._spool import Spool; "
        "from agentops._transport import HttpTransport; "
        "print(Spool(Path(sys.argv[1])).send_all(HttpTransport()).files)"
    )
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", sender, str(spool.directory)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=script_env(),
            cwd=REPO_ROOT,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=60) for run in runs]
    assert all(run.returncode == 0 for run in runs), outputs
    sent = [int(out) for out, _ in outputs]
    assert sum(sent) == 6
    assert list(spool.directory.iterdir()) == []
    for session_id in sessions:
        assert export(server, session_id)["stats"]["events"] == 50


def test_an_unusable_directory_refuses_without_raising(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    spool = Spool(blocker / "spool")
    assert not spool.save(Destination("http://127.0.0.1:9", "k"), [session_line({})])
    assert spool.open_journal(Destination("http://127.0.0.1:9", "k")) is None
    assert spool.pending() == 0


def test_the_room_a_spool_has_is_what_its_bound_leaves_and_none_where_it_cannot_write(
    tmp_path: Path,
) -> None:
    """What decides whether a queue near full may spill into the spool."""
    spool = Spool(tmp_path / "spool", max_bytes=10_000)
    assert spool.room() == 10_000  # the folder is made on the way
    destination = Destination("http://127.0.0.1:9", str(uuid.uuid4()), None)
    assert spool.save(destination, [end_line(str(uuid.uuid4()), {"end_state": "Success"})])
    assert 0 < spool.room() < 10_000
    (tmp_path / "a-file").write_text("not a folder")
    assert Spool(tmp_path / "a-file" / "spool").room() == 0  # its folder cannot be made
