"""The alerter in-process, against a store on a SQLite file and a receiver on loopback: what a
webhook receives, and a webhook that httpx cannot even send to is one failed attempt in the
history, not an exception that leaves the alert leased and retried forever."""

from __future__ import annotations

import asyncio
import socket
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agentops_server.alerts.alerter import Alerter
from agentops_server.alerts.rules import parse_rule
from agentops_server.config import ServerConfig
from agentops_server.storage.alert_records import AlertRule
from agentops_server.storage.migrate import upgrade
from agentops_server.storage.records import SessionWrite
from agentops_server.storage.sql_store import SqlStore, open_store
from tests.support.webhook import WebhookReceiver


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    url = f"sqlite:///{tmp_path / 'agentops.db'}"
    upgrade(url)
    opened = open_store(url)
    try:
        yield opened
    finally:
        opened.close()


def failed_session(store: SqlStore, project_id: str, reason: str | None = None) -> str:
    session_id = str(uuid.uuid4())
    start = datetime.now(UTC) + timedelta(seconds=1)  # after the rule was created
    write = SessionWrite(id=session_id, project_id=project_id, init_timestamp=start)
    store.write_session(write, create=True)
    end = SessionWrite(
        id=session_id,
        project_id=project_id,
        end_timestamp=start,
        end_state="Fail",
        end_state_reason=reason,
    )
    store.write_session(end, create=False)
    return session_id


def evaluate_and_deliver(store: SqlStore, tmp_path: Path, **options: float) -> int:
    config = ServerConfig(data_dir=tmp_path, database_url="sqlite://")
    alerter = Alerter(store, config, **options)
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
    failed_session(store, project)
    assert evaluate_and_deliver(store, tmp_path) == 1
    (firing,) = store.list_alert_firings(project, rule.id)
    assert firing.status == "failed"
    (attempt,) = firing.history
    assert not attempt.ok and attempt.error is not None and "InvalidURL" in attempt.error
    later = datetime.now(UTC) + timedelta(hours=2)
    assert store.claim_alert_deliveries(later, later + timedelta(seconds=60)) == []


def test_the_slack_text_escapes_what_the_agent_and_the_project_named(
    store: SqlStore, tmp_path: Path
) -> None:
    receiver = WebhookReceiver().start()
    try:
        project = store.create_project("R&D <ops>").id
        add_rule(store, project, f"{receiver.url}/hook")
        reason = "<!channel> KeyError: <class 'x'> & <https://evil.example|click>"
        failed_session(store, project, reason)
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
        failed_session(store, project)
        assert evaluate_and_deliver(store, tmp_path, attempt_deadline=0.5) == 1
    finally:
        receiver.close()
    (firing,) = store.list_alert_firings(project, rule.id)
    (attempt,) = firing.history
    assert not attempt.ok and attempt.error == "no complete answer within 0.5 s"
    assert firing.status == "pending"  # retried later, within the lease no one else sends it
