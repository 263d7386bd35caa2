"""Sessions that never end (the 0.3 client sends no end when its process exits)."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from agentops_server.config import ServerConfig
from agentops_server.sweeper import sweep_interval
from tests.server.conftest import action, llm, running
from tests.support.server import free_port


def test_an_idle_session_gets_its_last_event_as_end_and_a_reason(tmp_path: Path) -> None:
    config = ServerConfig.build(data_dir=tmp_path, port=free_port(), environ={})
    config = replace(config, session_inactivity_seconds=1)
    with running(config) as live:
        idle, jwt = live.start_session()
        live.send_events(jwt, [llm(), action(end_timestamp="2026-11-21T12:36:50+00:00")])
        ended, jwt_ended = live.start_session()
        done = {"session": {"end_state": "Success", "is_running": False}}
        assert live.post("/v2/update_session", done, headers=live.auth(jwt_ended)).is_success
        assert live.stats(idle)["end_state"] == "Indeterminate"
        deadline = time.monotonic() + 20
        while live.stats(idle)["end_timestamp"] is None and time.monotonic() < deadline:
            time.sleep(0.1)
        stats = live.stats(idle)
        assert stats["end_state"] == "Indeterminate"
        assert stats["end_timestamp"] == stats["last_event_at"] == "2026-11-21T12:36:50+00:00"
        assert stats["end_state_reason"] == (
            "No end received: no activity for 1 s (process exited without end_session?)"
        )
        assert live.store.get_session(live.project_id, idle).auto_ended
        export = live.get(f"/v2/sessions/{idle}/export").json()
        assert export["session"]["auto_ended"] is True
        assert live.stats(ended)["end_state"] == "Success"  # a real end is left alone
        # the client was alive after all: a late update re-opens it, its end then counts
        late = {"session": {"tags": ["late"], "is_running": True}}
        assert live.post("/v2/update_session", late, headers=live.auth(jwt)).is_success
        assert live.stats(idle)["end_timestamp"] is None


def test_the_sweep_interval_follows_the_inactivity_period() -> None:
    assert sweep_interval(3600) == 60
    assert sweep_interval(40) == 10
    assert sweep_interval(1) == 0.25
