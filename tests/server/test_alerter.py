"""The alerter in-process: a webhook that httpx cannot even send to is one failed attempt in
the history, not an exception that leaves the alert leased and retried forever."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agentops_server.alerts.alerter import Alerter
from agentops_server.alerts.rules import parse_rule
from agentops_server.config import ServerConfig
from agentops_server.storage.migrate import upgrade
from agentops_server.storage.records import SessionWrite
from agentops_server.storage.sql_store import open_store


def test_a_webhook_httpx_refuses_as_a_url_fails_once_and_is_not_retried(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'agentops.db'}"
    upgrade(url)
    store = open_store(url)
    try:
        project = store.create_project("Shop").id
        # the rule pattern takes it (four dotted numbers), httpx refuses it as an address
        rule = store.create_alert_rule(
            parse_rule(project, "session_failed", None, "http://999.1.1.1/hook")
        )
        session_id = str(uuid.uuid4())
        start = datetime.now(UTC) + timedelta(seconds=1)  # after the rule was created
        store.write_session(
            SessionWrite(id=session_id, project_id=project, init_timestamp=start), create=True
        )
        end = SessionWrite(id=session_id, project_id=project, end_timestamp=start, end_state="Fail")
        store.write_session(end, create=False)
        alerter = Alerter(store, ServerConfig(data_dir=tmp_path, database_url=url))
        assert alerter.evaluate() == 1

        async def deliver() -> int:
            alerter.start()
            try:
                return await alerter.deliver()
            finally:
                await alerter.stop()

        assert asyncio.run(deliver()) == 1
        (firing,) = store.list_alert_firings(project, rule.id)
        assert firing.status == "failed"
        (attempt,) = firing.history
        assert not attempt.ok and attempt.error is not None and "InvalidURL" in attempt.error
        later = datetime.now(UTC) + timedelta(hours=2)
        assert store.claim_alert_deliveries(later, later + timedelta(seconds=60)) == []
    finally:
        store.close()
