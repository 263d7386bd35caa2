"""What the user is told when the server refuses the API key: one line, once per key, and no
output that pretends a session exists or was recorded (a "Session Replay" link, a hint to
raise max_queue_size, stats of events the server never got)."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import agentops
from agentops import _outcome
from agentops._exporter import Exporter
from agentops.testing import InMemoryTransport
from tests.sdk.conftest import LogLines, export, run_script, script_env
from tests.support.server import ServerProcess, cli

REFUSED = "refused the API key (HTTP 401: invalid API key: unknown or revoked)"


def test_a_refused_key_is_one_line_once_per_key_and_nothing_pretends_otherwise(
    server: ServerProcess, tmp_path: Path
) -> None:
    """It printed a link to a session never created, the 401, a hint to raise
    max_queue_size and the stats of a session whose one event was refused."""
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    done = run_script(
        tmp_path,
        f"""
        import json, agentops
        agentops.init(api_key={first!r}, endpoint={server.url!r})
        agentops.record(agentops.ActionEvent(action_type="lost"))
        ends = [agentops.end_session("Success")]
        agentops.start_session()  # the same key: not said again
        agentops.record(agentops.ActionEvent(action_type="lost"))
        ends.append(agentops.end_session("Success"))
        worker = agentops.get_client().worker
        print(json.dumps({{
            "ends": ends,
            "dropped": agentops.get_client().dropped_events,
            "by_reason": worker.lost_reasons,
        }}))
        agentops.init(api_key={second!r}, endpoint={server.url!r})  # another key: said
        agentops.end_session("Success")
        """,
        script_env(AGENTOPS_SPOOL_DIR=str(tmp_path / "spool")),
    )
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 2, done.stderr
    for line, key in zip(lines, (first, second), strict=True):
        assert line == (
            f"🖇 AgentOps: The server at {server.url} {REFUSED}: nothing of this session is "
            "recorded, nor of any other using this key. Check api_key= or AGENTOPS_API_KEY "
            f"(this key ends in {key[-4:]})"
        )
    counted = {"ends": [None, None], "dropped": 2, "by_reason": {_outcome.KEY_REFUSED: 2}}
    assert json.loads(done.stdout) == counted


def test_the_replay_link_is_logged_once_the_server_created_the_session(
    agentops_log: LogLines,
) -> None:
    transport = InMemoryTransport()
    transport.fail_next(0, 0, 0)  # the server answers the third retry
    session = agentops.init(api_key=str(uuid.uuid4()), transport=transport)
    assert session is not None
    assert "Session Replay" not in agentops_log.text  # not before it exists
    assert agentops.flush(15)
    link = f"INFO Session Replay: {session.session_url}"
    assert agentops_log.lines.count(link) == 1
    transport.fail_next(401)  # an expired token: the session is re-created, not new
    session.record(agentops.ActionEvent(action_type="kept"))
    assert session.end_session("Success") == 0
    assert [e["action_type"] for e in transport.events] == ["kept"]
    # events sent after its end (which went ahead of a backlog) re-attach to it, as here
    assert Exporter().create_session(session)
    assert agentops_log.lines.count(link) == 1


def test_a_refused_parent_key_is_named_too(server: ServerProcess, agentops_log: LogLines) -> None:
    """The server answers an unknown parent key as it answers an unknown key."""
    session = agentops.init(
        api_key=server.api_key, parent_key=str(uuid.uuid4()), endpoint=server.url
    )
    assert session is not None
    session.record(agentops.ActionEvent(action_type="lost"))
    assert session.end_session("Success") is None
    assert f"ERROR The server at {server.url} refused the API key or parent key" in (
        agentops_log.text
    )
    assert "Check api_key= or AGENTOPS_API_KEY, parent_key= or AGENTOPS_PARENT_KEY" in (
        agentops_log.text
    )
    assert "Session Replay" not in agentops_log.text
    assert "Session Stats" not in agentops_log.text
    assert "event(s) refused" not in agentops_log.text


def test_a_key_revoked_mid_session_is_said_once_and_the_stats_say_what_was_lost(
    tmp_path: Path, agentops_log: LogLines
) -> None:
    """A real revocation: the session and its first event are stored; the events after it
    are refused (one line for all), and the stats line says so."""
    revoking = ServerProcess(
        data_dir=tmp_path / "server", extra_env={"AGENTOPS_KEY_CHECK_SECONDS": "0"}
    ).start()
    try:
        key = cli("keys", "create", *revoking.db_args()).strip().splitlines()[-1]
        session = agentops.init(api_key=key, endpoint=revoking.url, instrument_llm_calls=False)
        assert session is not None
        session.record(agentops.ActionEvent(action_type="stored"))
        assert agentops.flush(15)
        cli("keys", "revoke", key, *revoking.db_args())
        session.record(agentops.ActionEvent(action_type="refused"))
        assert agentops.flush(15)
        session.record(agentops.ActionEvent(action_type="refused too"))
        started = time.monotonic()
        assert session.end_session("Success") is None  # the server refused the end too
        assert time.monotonic() - started < 5
        client = agentops.get_client()
        assert isinstance(client, agentops.Client)
        by_reason = dict(client.worker.lost_reasons)
        exported = export(revoking, session.session_id)
    finally:
        revoking.stop()
    assert [a["action_type"] for a in exported["actions"]] == ["stored"]
    errors = [line for line in agentops_log.lines if line.startswith("ERROR")]
    assert errors == [
        f"ERROR The server at {revoking.url} {REFUSED}: session {session.session_id} records "
        "nothing more (what it sent before is kept), nor does any other session using this "
        f"key. Check api_key= or AGENTOPS_API_KEY (this key ends in {key[-4:]})"
    ]
    assert not [line for line in agentops_log.lines if line.startswith("WARNING")]
    (stats,) = [line for line in agentops_log.lines if "Session Stats" in line]
    assert stats.endswith("| Actions: 3 | Errors: 0 | Not recorded: 2 (refused: 2)")
    assert by_reason == {_outcome.KEY_REFUSED: 2}
