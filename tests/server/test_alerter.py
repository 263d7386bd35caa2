"""The alerter in-process, against a store on a SQLite file and a receiver on loopback: what a
webhook receives, a webhook that httpx cannot even send to is one failed attempt in the
history, not an exception that leaves the alert leased and retried forever, and a webhook that
hangs holds up only its own alerts, not the evaluations or the other rules' alerts."""

from __future__ import annotations

import asyncio
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agentops_server.alerts import alerter as alerting
from agentops_server.alerts.alerter import Alerter
from agentops_server.alerts.rules import parse_rule
from agentops_server.config import ServerConfig
from agentops_server.storage.alert_records import AlertRule
from agentops_server.storage.migrate import upgrade
from agentops_server.storage.records import SessionWrite
from agentops_server.storage.sql_store import SqlStore, open_store
from tests.support.webhook import WebhookReceiver, wait_until


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    url = f"sqlite:///{tmp_path / 'agentops.db'}"
    upgrade(url)
    opened = open_store(url)
    try:
        yield opened
    finally:
        opened.close()


def ended_session(
    store: SqlStore, project_id: str, state: str = "Fail", reason: str | None = None
) -> str:
    session_id = str(uuid.uuid4())
    start = datetime.now(UTC) + timedelta(seconds=1)  # after the rule was created
    write = SessionWrite(id=session_id, project_id=project_id, init_timestamp=start)
    store.write_session(write, create=True)
    end = SessionWrite(
        id=session_id,
        project_id=project_id,
        end_timestamp=start,
        end_state=state,
        end_state_reason=reason,
    )
    store.write_session(end, create=False)
    return session_id


def evaluate_and_deliver(store: SqlStore, tmp_path: Path, attempt_deadline: float = 30.0) -> int:
    config = ServerConfig(data_dir=tmp_path, database_url="sqlite://")
    alerter = Alerter(store, config, attempt_deadline=attempt_deadline)
    assert alerter.evaluate() == 1

    async def deliver() -> int:
        alerter.start()
        try:
            return await alerter.deliver()
        finally:
            await alerter.stop()

    return asyncio.run(deliver())


def add_rule(store: SqlStore, project_id: str, url: str) -> AlertRule:
    return store.create_alert_rule(parse_rule(project_id, "session_failed", None, url))


def test_a_webhook_httpx_refuses_as_a_url_fails_once_and_is_not_retried(
    store: SqlStore, tmp_path: Path
) -> None:
    project = store.create_project("Shop").id
    # the rule pattern takes it (four dotted numbers), httpx refuses it as an address
    rule = add_rule(store, project, "http://999.1.1.1/hook")
    ended_session(store, project)
    assert evaluate_and_deliver(store, tmp_path) == 1
    (firing,) = store.list_alert_firings(project, rule.id)
    assert firing.status == "failed"
    (attempt,) = firing.history
    assert not attempt.ok and attempt.error is not None and "InvalidURL" in attempt.error
    later = datetime.now(UTC) + timedelta(hours=2)
    assert store.claim_alert_deliveries(later, later + timedelta(seconds=60)) == []


def test_a_failed_answer_with_a_nul_character_is_kept_and_the_attempts_end(
    database_url: str, tmp_path: Path
) -> None:
    """A receiver whose error answer holds a NUL: PostgreSQL could not keep that attempt, so
    its lease ran out and the alert was sent again, past the limit of attempts, forever. Its
    answer is kept with the NUL replaced, and the attempts stop at the limit."""
    upgrade(database_url)
    store = open_store(database_url)
    receiver = WebhookReceiver(answers=[500, 500], error_body=b"bad\x00nul").start()
    try:
        project = store.create_project("Shop").id
        rule = add_rule(store, project, f"{receiver.url}/hook")
        ended_session(store, project)
        config = ServerConfig(
            data_dir=tmp_path,
            database_url="sqlite://",
            alert_max_attempts=2,
            alert_retry_seconds=0,  # the retry is due at once
        )
        alerter = Alerter(store, config)
        assert alerter.evaluate() == 1

        async def deliver_twice() -> None:
            alerter.start()
            try:  # (one deliver() may make both attempts: the retry is due at once)
                for _ in range(5):
                    if await alerter.deliver() == 0:  # failed for good after two
                        break
            finally:
                await alerter.stop()

        asyncio.run(deliver_twice())
        (firing,) = store.list_alert_firings(project, rule.id)
        assert firing.status == "failed", firing
        assert [a.error for a in firing.history] == ["HTTP 500: bad\ufffdnul"] * 2
        assert len(receiver.received) == 2
        much_later = datetime.now(UTC) + timedelta(days=1)
        assert store.claim_alert_deliveries(much_later, much_later + timedelta(minutes=1)) == []
    finally:
        receiver.stop()
        store.close()


def test_the_slack_text_escapes_what_the_agent_and_the_project_named(
    store: SqlStore, tmp_path: Path
) -> None:
    receiver = WebhookReceiver().start()
    try:
        project = store.create_project("R&D <ops>").id
        add_rule(store, project, f"{receiver.url}/hook")
        reason = "<!channel> KeyError: <class 'x'> & <https://evil.example|click>"
        ended_session(store, project, reason=reason)
        assert evaluate_and_deliver(store, tmp_path) == 1
        (alert,) = receiver.delivered()
    finally:
        receiver.stop()
    text = alert["text"]
    # Slack reads <...> as a mention or a link and & as an entity: only ours stay unescaped
    assert text.startswith("[agentops] R&amp;D &lt;ops&gt;: session ")
    assert "failed: &lt;!channel&gt; KeyError: &lt;class 'x'&gt; &amp; &lt;https://evil" in text
    assert text.count("<") == 1 and text.endswith("|open>")
    assert alert["values"]["end_state_reason"] == reason  # the structured fields are as stored
    assert alert["project"]["name"] == "R&D <ops>"


class TricklingReceiver:
    """Answers every POST a byte at a time (each well within httpx's 10 s read timeout), so
    the answer is complete only after `seconds`: what a broken or hostile endpoint can do."""

    def __init__(self, seconds: float = 20.0) -> None:
        self.seconds = seconds
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/hook"
        self.gone = threading.Event()  # the client hung up before the answer was complete
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        with conn:
            conn.recv(65536)
            header = b"X-Slow: " + b"a" * int(self.seconds / 0.05) + b"\r\n"
            try:
                conn.sendall(b"HTTP/1.1 200 OK\r\n")
                for byte in header:
                    conn.sendall(bytes([byte]))
                    if self.gone.wait(0.05):
                        return
                conn.sendall(b"Content-Length: 0\r\n\r\n")
            except OSError:
                self.gone.set()

    def close(self) -> None:
        self.gone.set()
        self.listener.close()


def test_an_answer_trickled_past_the_deadline_is_a_failed_attempt_and_retried(
    store: SqlStore, tmp_path: Path
) -> None:
    receiver = TricklingReceiver()
    try:
        project = store.create_project("Shop").id
        rule = add_rule(store, project, receiver.url)
        ended_session(store, project)
        assert evaluate_and_deliver(store, tmp_path, attempt_deadline=0.5) == 1
    finally:
        receiver.close()
    (firing,) = store.list_alert_firings(project, rule.id)
    (attempt,) = firing.history
    assert not attempt.ok and attempt.error == "no complete answer within 0.5 s"
    assert firing.status == "pending"  # retried later, within the lease no one else sends it


class HangingReceiver:
    """Holds every POST open, sending a header line now and then (so no read timeout ends it),
    until `release()`; then answers 200: a webhook that hangs."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/hook"
        self.released = threading.Event()
        self.lock = threading.Lock()
        self.held = 0  # requests held open now
        self.taken = 0  # requests received
        self.answered = 0  # requests answered 200 after the release
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._hold, args=(conn,), daemon=True).start()

    def _hold(self, conn: socket.socket) -> None:
        with conn:
            request = b""
            while not request.endswith(b"}"):  # the head and the JSON body
                chunk = conn.recv(65536)
                if not chunk:
                    return
                request += chunk
            with self.lock:
                self.taken += 1
                self.held += 1
            try:
                conn.sendall(b"HTTP/1.1 200 OK\r\n")
                while not self.released.wait(0.2):
                    conn.sendall(b"X-Wait: 1\r\n")
                conn.sendall(b"Content-Length: 0\r\n\r\n")
                with self.lock:
                    self.answered += 1
            except OSError:
                pass  # the client hung up
            finally:
                with self.lock:
                    self.held -= 1

    def counts(self) -> tuple[int, int, int]:
        """(received, held open now, answered)."""
        with self.lock:
            return self.taken, self.held, self.answered

    def release(self) -> None:
        self.released.set()

    def close(self) -> None:
        self.released.set()
        self.listener.close()


@contextmanager
def running(alerter: Alerter, hanging: HangingReceiver) -> Iterator[None]:
    """The alerter's background tasks on an event loop of their own, as the server runs them;
    `hanging` is released before the alerter stops, which waits for the attempts in flight."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def start() -> None:
        alerter.start()

    asyncio.run_coroutine_threadsafe(start(), loop).result()
    try:
        yield
    finally:
        hanging.release()
        asyncio.run_coroutine_threadsafe(alerter.stop(), loop).result(timeout=60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


def test_a_hanging_webhook_holds_up_neither_the_evaluations_nor_other_projects_alerts(
    store: SqlStore, tmp_path: Path
) -> None:
    slow = HangingReceiver()
    fast = WebhookReceiver().start()
    config = ServerConfig(data_dir=tmp_path, database_url="sqlite://", alert_interval_seconds=0.05)
    # no deadline ends the hanging attempt while the test runs: only the release does
    alerter = Alerter(store, config, attempt_deadline=3600)
    try:
        hanging = store.create_project("Hanging").id
        add_rule(store, hanging, slow.url)
        project = store.create_project("Shop").id
        add_rule(store, project, f"{fast.url}/failed")
        rate = parse_rule(project, "error_rate", 50, f"{fast.url}/rate", min_sessions=2)
        rate_rule = store.create_alert_rule(rate)

        def breached() -> bool:
            (rule,) = [r for r in store.list_alert_rules(project) if r.id == rate_rule.id]
            return rule.breached

        with running(alerter, slow):
            held = ended_session(store, hanging)
            wait_until(lambda: slow.counts()[1] == 1, "the hanging webhook holding its request")
            queued = ended_session(store, hanging)  # the same hanging rule: it waits its turn

            failed = {ended_session(store, project), ended_session(store, project)}
            wait_until(
                lambda: len(fast.delivered("/failed")) == 2 and len(fast.delivered("/rate")) == 1,
                "the other project's alerts while the webhook hangs",
                timeout=30,  # the old alerter sends nothing until the hanging request ends
            )
            assert {a["session"]["id"] for a in fast.delivered("/failed")} == failed
            (first,) = fast.delivered("/rate")
            assert first["occurrence"] == "episode:1"
            assert first["values"]["sessions_failed"] == 2

            # the evaluations go on: the rate falls back (2 of 5) and goes over again (4 of 7)
            for _ in range(3):
                ended_session(store, project, "Success")
            wait_until(lambda: not breached(), "an evaluation seeing the episode over")
            ended_session(store, project)
            ended_session(store, project)
            wait_until(lambda: len(fast.delivered("/rate")) == 2, "the second episode")
            assert fast.delivered("/rate")[1]["occurrence"] == "episode:2"

            # all along, the hanging alert was sent once and is still held open; the rule's
            # second alert waits for it (a rule's attempts in flight lease no more)
            assert slow.counts() == (1, 1, 0)
            slow.release()
            wait_until(lambda: slow.counts()[2] == 2, "the hanging rule's two alerts")
        assert slow.counts() == (2, 0, 2)
    finally:
        slow.close()
        fast.stop()
    firings = store.list_alert_firings(hanging)
    assert {f.session_id for f in firings} == {held, queued}
    assert [(f.status, len(f.history)) for f in firings] == [("delivered", 1)] * 2
    assert {f.status for f in store.list_alert_firings(project)} == {"delivered"}


def test_a_webhook_with_many_alerts_hanging_leaves_slots_for_other_rules(
    store: SqlStore, tmp_path: Path
) -> None:
    per_rule = alerting.PER_RULE
    slow = HangingReceiver()
    fast = WebhookReceiver().start()
    config = ServerConfig(data_dir=tmp_path, database_url="sqlite://", alert_interval_seconds=0.05)
    alerter = Alerter(store, config, attempt_deadline=3600, max_in_flight=per_rule + 1)
    try:
        hanging = store.create_project("Hanging").id
        add_rule(store, hanging, slow.url)
        for _ in range(per_rule + 3):
            ended_session(store, hanging)
        project = store.create_project("Shop").id
        add_rule(store, project, fast.url)
        with running(alerter, slow):
            wait_until(lambda: slow.counts()[1] == per_rule, "the hanging webhook's requests")
            expected = ended_session(store, project)
            wait_until(lambda: len(fast.delivered()) == 1, "the other rule's alert", timeout=30)
            assert fast.delivered()[0]["session"]["id"] == expected
            assert slow.counts() == (per_rule, per_rule, 0)
            slow.release()
            wait_until(lambda: slow.counts()[2] == per_rule + 3, "the rest of its alerts")
    finally:
        slow.close()
        fast.stop()
    firings = store.list_alert_firings(hanging)
    assert [(f.status, len(f.history)) for f in firings] == [("delivered", 1)] * (per_rule + 3)
