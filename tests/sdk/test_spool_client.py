"""Nothing lost with the spool: real agent processes of our SDK against a real server that is
down, restarted, or that outlives an agent killed with SIGKILL; the next run (or the
documented command) sends what was kept, each event once; losses reach the session's stats."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from agentops import wire
from tests.sdk.conftest import REPO_ROOT, export, script_env, write_script
from tests.support.loopback_http import LoopbackHTTPServer
from tests.support.server import ServerProcess

RECORDING_AGENT = """
import os, signal, sys, time
import agentops
session = agentops.init(auto_start_session=False)
s = agentops.start_session(tags=["spool"])
print(s.session_id, flush=True)
for i in range(int(sys.argv[1])):
    agentops.record(agentops.ActionEvent(action_type=f"step-{i}"))
how = sys.argv[2]
if how == "end":
    agentops.end_session("Success")
elif how == "sigkill":
    time.sleep(0.4)  # more than the journal's 100 ms
    os.kill(os.getpid(), signal.SIGKILL)
elif how == "os_exit":
    time.sleep(0.4)
    os._exit(0)
"""

LATER_RUN = """
import agentops
agentops.init(auto_start_session=False)  # sends what earlier runs left, in the background
"""


def run(script: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=120,
    )


def spool_command(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentops.spool", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=120,
    )


def test_an_exit_during_an_outage_is_sent_by_the_next_run(
    server: ServerProcess, tmp_path: Path
) -> None:
    spool_dir = tmp_path / "spool"
    env = script_env(
        server, AGENTOPS_SPOOL_DIR=str(spool_dir), AGENTOPS_SHUTDOWN_TIMEOUT="1",
        AGENTOPS_FLUSH_TIMEOUT="1",
    )  # fmt: skip
    agent = write_script(tmp_path, RECORDING_AGENT)
    server.stop()
    try:
        done = run(agent, "300", "end", env=env)
    finally:
        server.start()  # same address, same data
    assert done.returncode == 0, done.stderr
    session_id = done.stdout.split()[0]
    assert "300 kept in the spool" in done.stderr, done.stderr
    assert server.export(session_id).status_code == 404  # the server never heard of it
    assert "1 file(s) waiting" in spool_command(env=env).stdout

    later = run(write_script(tmp_path, LATER_RUN, "later.py"), env=env)
    assert later.returncode == 0, later.stderr
    data = export(server, session_id)
    assert len(data["actions"]) == 300  # each event once
    assert data["session"]["end_state"] == "Success"
    assert data["session"]["tags"] == ["spool"]
    assert list(spool_dir.glob("*.spool")) == []


def test_durable_mode_survives_sigkill_and_os_exit(server: ServerProcess, tmp_path: Path) -> None:
    spool_dir = tmp_path / "spool"
    env = script_env(server, AGENTOPS_SPOOL_DIR=str(spool_dir), AGENTOPS_DURABLE="true")
    # a long batch interval: without the journal, every event would still be in memory
    env["AGENTOPS_MAX_WAIT_TIME"] = "60000"
    agent = write_script(tmp_path, RECORDING_AGENT)
    sessions = []
    for how in ("sigkill", "os_exit"):
        # a folder per run: the second one's init() would send the first one's journal
        own = {**env, "AGENTOPS_SPOOL_DIR": str(tmp_path / how)}
        done = run(agent, "250", how, env=own)
        assert done.returncode in (-9, 0), done.stderr
        sessions.append(done.stdout.split()[0])
        journals = list((tmp_path / how).glob("*.journal"))
        assert len(journals) == 1
        spool_dir.mkdir(mode=0o700, exist_ok=True)
        journals[0].rename(spool_dir / journals[0].name)

    sent = spool_command("send", env=env)
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert "sent 500 event(s) of 2 session(s) from 2 file(s)" in sent.stdout
    for session_id in sessions:
        data = export(server, session_id)
        assert len(data["actions"]) == 250
        assert data["session"]["tags"] == ["spool"]
    assert list(spool_dir.iterdir()) == []


def test_a_clean_durable_run_leaves_no_journal(server: ServerProcess, tmp_path: Path) -> None:
    spool_dir = tmp_path / "spool"
    env = script_env(server, AGENTOPS_SPOOL_DIR=str(spool_dir), AGENTOPS_DURABLE="1")
    done = run(write_script(tmp_path, RECORDING_AGENT), "20", "end", env=env)
    assert done.returncode == 0, done.stderr
    assert len(export(server, done.stdout.split()[0])["actions"]) == 20
    assert list(spool_dir.iterdir()) == []


FORKING_DURABLE_AGENT = """
import os, sys, time
import agentops
s = agentops.init()
for i in range(10):
    agentops.record(agentops.ActionEvent(action_type=f"parent-{i}"))
time.sleep(0.4)  # more than the journal's 100 ms: the parent's journal holds them
pid = os.fork()
if pid == 0:
    agentops.record(agentops.ActionEvent(action_type="child"))
    sys.exit(0)  # a normal exit: the child's exit hook runs and closes its spool
_, status = os.waitpid(pid, 0)
pid = os.fork()
if pid == 0:
    agentops.record(agentops.ActionEvent(action_type="child-crashed"))
    time.sleep(0.4)
    os._exit(0)  # the child's own journal keeps its event
os.waitpid(pid, 0)
print(s.session_id, os.waitstatus_to_exitcode(status), flush=True)
agentops.record(agentops.ActionEvent(action_type="parent-after"))
time.sleep(0.4)
os._exit(0)  # the parent dies without its exit hook: its journal is all that is left
"""


def test_a_forked_child_leaves_its_parents_journal_alone(
    server: ServerProcess, tmp_path: Path
) -> None:
    """A child made by os.fork() inherited the parent's journal and, exiting normally with
    everything of its own delivered, deleted it: the parent's next crash lost everything."""
    spool_dir = tmp_path / "spool"
    env = script_env(server, AGENTOPS_SPOOL_DIR=str(spool_dir), AGENTOPS_DURABLE="1")
    env["AGENTOPS_MAX_WAIT_TIME"] = "60000"  # the parent's events stay in memory (and journal)
    done = run(write_script(tmp_path, FORKING_DURABLE_AGENT), env=env)
    assert done.returncode == 0, done.stderr
    session_id, child_status = done.stdout.split()
    assert child_status == "0"
    # the parent's and the crashed child's (the other child sent its event and deleted its own)
    assert len(list(spool_dir.glob("*.journal"))) == 2

    sent = spool_command("send", env=env)
    assert sent.returncode == 0, sent.stdout + sent.stderr
    actions = sorted(a["action_type"] for a in export(server, session_id)["actions"])
    expected = ["child", "child-crashed", "parent-after", *(f"parent-{i}" for i in range(10))]
    assert actions == sorted(expected)
    assert list(spool_dir.iterdir()) == []


def test_losses_reach_the_session_stats(server: ServerProcess, tmp_path: Path) -> None:
    env = script_env(server, AGENTOPS_SPOOL_DIR=str(tmp_path / "spool"))
    env["AGENTOPS_MAX_QUEUE_SIZE"] = "10"
    env["AGENTOPS_MAX_WAIT_TIME"] = "60000"  # nothing is sent before the queue overflows
    done = run(write_script(tmp_path, RECORDING_AGENT), "100", "end", env=env)
    assert done.returncode == 0, done.stderr
    data = export(server, done.stdout.split()[0])
    lost = data["stats"]["dropped_events"]
    assert set(lost) == {"queue_full"} and lost["queue_full"] >= 80
    assert len(data["actions"]) + lost["queue_full"] == 100  # every event is one or the other


def test_what_gets_no_answer_past_the_retry_budget_is_spooled(
    server: ServerProcess, tmp_path: Path
) -> None:
    from agentops import ActionEvent
    from agentops._client import Client
    from agentops._config import Configuration
    from agentops._outcome import Outcome
    from agentops._spool import Spool
    from agentops._transport import HttpTransport

    spool_dir = tmp_path / "spool"
    config = Configuration(
        api_key=server.api_key, endpoint=server.url, spool_dir=str(spool_dir),
        max_wait_time=50, flush_timeout=1,
    )  # fmt: skip
    sending = HttpTransport(timeout=1)
    client = Client(config, transport=sending)
    client.worker.exporter.max_retry_seconds = 0.5  # the budget, short for the test
    server.stop()
    try:
        session = client.start_session(tags=["budget"])
        assert session is not None
        for i in range(20):
            session.record(ActionEvent(action_type=f"step-{i}"))
        assert client.flush(30)
        assert session.end_session("Success") is None  # no answer: no cost
        assert client.flush(30)
    finally:
        server.start()
        sending.close()
    assert client.worker.counts[Outcome.SPOOLED] == 20
    assert client.dropped_events == 0  # kept, not lost
    assert server.export(str(session.session_id)).status_code == 404

    transport = HttpTransport()
    try:
        report = Spool(spool_dir).send_all(transport)
    finally:
        transport.close()
    assert report.events == 20 and report.kept == 0
    data = export(server, session.session_id)
    assert len(data["actions"]) == 20
    assert data["session"]["end_state"] == "Success" and data["session"]["tags"] == ["budget"]


OUTAGE_AGENT = """
import sys, time
import agentops
s = agentops.init(tags=["long-outage"])
print(s.session_id, flush=True)
worker = agentops.get_client().worker
for burst in range(40):  # 2,000 events in bursts of 50, four times max_queue_size
    for i in range(50):
        agentops.record(agentops.ActionEvent(action_type="during", params={"n": burst * 50 + i}))
    deadline = time.monotonic() + 60
    while worker.pending() > 400:  # the queue must drain (to the spool) to go on
        if time.monotonic() > deadline:
            print("the queue never drained", flush=True)
            sys.exit(3)
        time.sleep(0.01)
print("dropped", agentops.get_client().dropped_events, flush=True)
agentops.end_session("Success")
"""


def test_a_long_outage_fills_the_spool_not_the_queue(server: ServerProcess, tmp_path: Path) -> None:
    """The server is down for longer than the queue can hold (2,000 events, max_queue_size
    500, the default 300 s retry budget): the worker was stuck retrying its first request, so
    events beyond the queue were dropped while the spool stayed empty. Once the queue nears
    full the batches go to the spool, and the next run sends every event."""
    spool_dir = tmp_path / "spool"
    env = script_env(
        server, AGENTOPS_SPOOL_DIR=str(spool_dir), AGENTOPS_MAX_QUEUE_SIZE="500",
        AGENTOPS_SHUTDOWN_TIMEOUT="1",
    )  # fmt: skip
    server.stop()
    try:
        done = run(write_script(tmp_path, OUTAGE_AGENT), env=env)
    finally:
        server.start()  # same address, same data
    assert done.returncode == 0, (done.stdout, done.stderr)
    session_id = done.stdout.split()[0]
    assert "dropped 0" in done.stdout, done.stderr
    assert "they go to the spool" in done.stderr, done.stderr

    later = run(write_script(tmp_path, LATER_RUN, "later.py"), env=env)
    assert later.returncode == 0, later.stderr
    data = export(server, session_id)
    assert sorted(a["params"]["n"] for a in data["actions"]) == list(range(2000))
    assert data["session"]["end_state"] == "Success"
    assert data["session"]["tags"] == ["long-outage"]


def test_a_session_the_server_refused_is_not_spooled(server: ServerProcess, tmp_path: Path) -> None:
    """A key the server does not know (revoked, say): the refusal is logged, and nothing is
    kept to send again, which would only be refused again."""
    spool_dir = tmp_path / "spool"
    unknown_key = "00000000-0000-4000-8000-000000000000"
    env = script_env(server, AGENTOPS_SPOOL_DIR=str(spool_dir), AGENTOPS_API_KEY=unknown_key)
    done = run(write_script(tmp_path, RECORDING_AGENT), "3", "end", env=env)
    assert done.returncode == 0, done.stderr
    assert "401" in done.stderr
    assert not spool_dir.exists() or list(spool_dir.iterdir()) == [], done.stderr


IDLE_THEN_NO_THREADS_AT_EXIT = """
import atexit, sys, threading
import agentops
agentops.init(auto_start_session=False)
s = agentops.start_session(tags=["no-threads"])
print(s.session_id, flush=True)
agentops.record(agentops.ActionEvent(action_type="work"))
agentops.get_client().worker.stop().wait(30)  # as after 30 s idle: the thread ends
for thread in threading.enumerate():
    if thread.name == "agentops-worker":
        thread.join(30)

def end_it():  # the program's own exit handler
    agentops.record(agentops.ActionEvent(action_type="shutdown"))
    print("end_session returned", agentops.end_session("Success"), flush=True)

def refuse_threads():  # what CPython 3.12.0-3.12.2 do at exit
    def start(self):
        raise RuntimeError("can't create new thread at interpreter shutdown")
    threading.Thread.start = start

if sys.argv[1] == "end-in-atexit":
    atexit.register(end_it)
atexit.register(refuse_threads)  # runs first
"""


@pytest.mark.parametrize("how", ["end-in-atexit", "no-end"])
def test_at_an_exit_that_refuses_new_threads_the_session_end_is_spooled(
    server: ServerProcess, tmp_path: Path, how: str
) -> None:
    """CPython 3.12.0-3.12.2 refuse to start threads at exit: the worker's thread, stopped when
    idle, can't start again; what it would have sent goes to the spool on the exiting thread,
    and end_session() in the program's atexit handler returns instead of raising."""
    env = script_env(server, AGENTOPS_SPOOL_DIR=str(tmp_path / "spool"))
    done = run(write_script(tmp_path, IDLE_THEN_NO_THREADS_AT_EXIT), how, env=env)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    session_id = done.stdout.split()[0]
    if how == "end-in-atexit":
        assert "end_session returned None" in done.stdout
        assert "1 event(s) not sent" in done.stderr and "1 kept in the spool" in done.stderr
    assert export(server, session_id)["session"]["end_timestamp"] is None  # not yet

    later = run(write_script(tmp_path, LATER_RUN, "later.py"), env=env)
    assert later.returncode == 0, later.stderr
    data = export(server, session_id)
    if how == "end-in-atexit":
        assert data["session"]["end_state"] == "Success"
        assert sorted(a["action_type"] for a in data["actions"]) == ["shutdown", "work"]
    else:
        assert data["session"]["end_state"] == "Indeterminate"
        assert [a["action_type"] for a in data["actions"]] == ["work"]
    assert data["session"]["end_timestamp"] is not None


class _EventsHangHandler(BaseHTTPRequestHandler):
    """Creates sessions, then never answers a batch of events (until the client leaves)."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path != wire.CREATE_SESSION:
            self.rfile.read()  # held: the connection's end
            self.close_connection = True
            return
        body = json.dumps({"status": "success", "jwt": "token"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


IN_FLIGHT_AT_EXIT = """
import agentops
agentops.init()
for i in range(50):
    agentops.record(agentops.ActionEvent(action_type="held"))
print("flushed", agentops.flush(1), flush=True)  # the batch is being sent, never answered
"""


def test_a_batch_in_flight_at_exit_is_counted_once(tmp_path: Path) -> None:
    server = LoopbackHTTPServer(("127.0.0.1", 0), _EventsHangHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env = script_env(
            AGENTOPS_API_KEY="00000000-0000-4000-8000-000000000000",
            AGENTOPS_API_ENDPOINT=f"http://127.0.0.1:{server.server_address[1]}",
            AGENTOPS_SPOOL_DIR=str(tmp_path / "spool"),
            AGENTOPS_SHUTDOWN_TIMEOUT="1",
        )
        done = run(write_script(tmp_path, IN_FLIGHT_AT_EXIT), env=env)
    finally:
        server.shutdown()
        server.server_close()
    assert done.returncode == 0, done.stderr
    assert "flushed False" in done.stdout
    assert "agentops: 50 event(s) not sent after waiting" in done.stderr, done.stderr
    assert "; 50 kept in the spool" in done.stderr


class _OneSessionHangsHandler(BaseHTTPRequestHandler):
    """Creates sessions and stores the events of all but the one tagged "held", whose batch
    it never answers (until the client leaves)."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("Content-Encoding") == "gzip":
            data = gzip.decompress(data)
        body = json.loads(data or b"{}")
        held = self.headers.get(wire.AUTHORIZATION_HEADER) == "Bearer held"
        if self.path == wire.CREATE_EVENTS and held:
            self.rfile.read()  # held: the connection's end
            self.close_connection = True
            return
        answer: dict[str, object] = {"status": "success"}
        if self.path == wire.CREATE_SESSION:
            answer["jwt"] = "held" if "held" in body["session"]["tags"] else "answered"
        reply = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


SESSIONS_IN_ONE_BATCH_AT_EXIT = """
import agentops
agentops.init(auto_start_session=False)
answered = agentops.start_session(tags=["answered"])
held = agentops.start_session(tags=["held"])
print("created", agentops.flush(60), flush=True)
for i in range(30):  # one batch of both sessions: the first one's events are stored
    answered.record(agentops.ActionEvent(action_type="answered"))
for i in range(50):  # then the other's request is never answered
    held.record(agentops.ActionEvent(action_type="held"))
print("flushed", agentops.flush(1), flush=True)
"""


@pytest.mark.parametrize("spool", ["kept", "off", "full"])
def test_at_exit_only_the_events_of_a_batch_not_delivered_are_counted(
    tmp_path: Path, spool: str
) -> None:
    """A batch in flight at exit holds two sessions' events: the server stored the first
    one's 30 and never answered for the other's 50. The exit message said "80 event(s) not
    sent" and put all 80 in the spool; it says 50 now, and where they went: kept in the
    spool for the next run, or lost when there is no spool or it is full."""
    server = LoopbackHTTPServer(("127.0.0.1", 0), _OneSessionHangsHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    spool_dir = tmp_path / "spool"
    try:
        env = script_env(
            AGENTOPS_API_KEY="00000000-0000-4000-8000-000000000000",
            AGENTOPS_API_ENDPOINT=f"http://127.0.0.1:{server.server_address[1]}",
            AGENTOPS_SPOOL_DIR=str(spool_dir),
            AGENTOPS_SHUTDOWN_TIMEOUT="1",
            AGENTOPS_MAX_WAIT_TIME="60000",  # sent when flushed, in one batch
        )
        if spool == "off":
            env["AGENTOPS_SPOOL"] = "false"
        if spool == "full":
            env["AGENTOPS_SPOOL_MAX_BYTES"] = "100"
        done = run(write_script(tmp_path, SESSIONS_IN_ONE_BATCH_AT_EXIT), env=env)
    finally:
        server.shutdown()
        server.server_close()
    assert done.returncode == 0, done.stderr
    assert "created True" in done.stdout and "flushed False" in done.stdout
    (said,) = [line for line in done.stderr.splitlines() if line.startswith("agentops: ")]
    assert said.startswith("agentops: 50 event(s) not sent after waiting 1.0s for the server; ")
    if spool == "kept":
        assert f"; 50 kept in the spool {spool_dir}: the next run" in said
        assert "lost" not in said
        text = "".join(path.read_text() for path in spool_dir.glob("*.spool"))
        lines = [json.loads(line) for line in text.splitlines()]
        kept = [e["action_type"] for line in lines for e in line.get("events", [])]
        assert kept == ["held"] * 50  # the stored session's events are not sent again
    elif spool == "off":
        assert said.endswith("; 50 lost (no spool to keep them: the spool setting is off)")
    else:
        assert said.endswith(f"; 50 lost (the spool {spool_dir} is full or cannot be written)")
