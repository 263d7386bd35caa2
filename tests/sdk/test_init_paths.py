"""init() the ways 0.3 users call it: deprecated keywords, inherited sessions with and without
auto-start, init() again while a session runs, set_api_key(), an unwritable log file."""

from __future__ import annotations

import uuid
from pathlib import Path

import agentops
from agentops import _worker
from agentops.testing import InMemoryTransport
from tests.sdk.conftest import LogLines, run_script, script_env


def test_tags_is_a_deprecated_alias_of_default_tags(agentops_log: LogLines) -> None:
    transport = InMemoryTransport()
    session = agentops.init(
        api_key=str(uuid.uuid4()),
        transport=transport,
        tags=["old-style"],
        instrument_llm_calls=False,
    )
    assert session is not None
    session.end_session("Success")
    assert "The 'tags' parameter is deprecated" in agentops_log.text
    assert transport.sessions[str(session.session_id)]["tags"] == ["old-style"]


def test_inherited_session_id_without_auto_start_is_ignored(agentops_log: LogLines) -> None:
    transport = InMemoryTransport()
    result = agentops.init(
        api_key=str(uuid.uuid4()),
        transport=transport,
        inherited_session_id=str(uuid.uuid4()),
        auto_start_session=False,
        instrument_llm_calls=False,
    )
    assert result is None
    assert "inherited_session_id is ignored because auto_start_session=False" in (agentops_log.text)
    assert agentops.flush()
    assert transport.sessions == {}


def test_init_again_with_an_inherited_session_id_attaches_or_starts_it() -> None:
    transport = InMemoryTransport()
    key = str(uuid.uuid4())
    first = agentops.init(api_key=key, transport=transport, instrument_llm_calls=False)
    assert first is not None
    again = agentops.init(api_key=key, transport=transport, inherited_session_id=first.session_id)
    assert again is first  # the running session, not a second copy
    other_id = uuid.uuid4()
    other = agentops.init(api_key=key, transport=transport, inherited_session_id=str(other_id))
    assert other is not None and other.session_id == other_id and other is not first
    assert agentops.init(api_key=key, transport=transport, auto_start_session=False) is None
    agentops.end_all_sessions()
    assert agentops.flush()
    assert {transport.sessions[str(s)]["end_state"] for s in (first.session_id, other_id)} == {
        "Indeterminate"
    }


def test_set_api_key_before_init_is_used_by_init() -> None:
    transport = InMemoryTransport()
    key = str(uuid.uuid4())
    agentops.set_api_key(key)
    session = agentops.init(transport=transport, instrument_llm_calls=False)
    assert session is not None
    assert agentops.get_api_key() == key
    assert session.end_session("success", video="https://videos.example/run.mp4") is not None
    snapshot = transport.sessions[str(session.session_id)]
    assert snapshot["end_state"] == "Success"  # any spelling of the state's name
    assert snapshot["video"] == "https://videos.example/run.mp4"


def test_a_session_ended_inside_its_with_block_is_not_ended_again() -> None:
    transport = InMemoryTransport()
    agentops.init(
        api_key=str(uuid.uuid4()),
        transport=transport,
        auto_start_session=False,
        instrument_llm_calls=False,
    )
    session = agentops.start_session()
    assert session is not None
    with session:
        session.end_session("Fail", "gave up")
    assert agentops.flush()
    snapshot = transport.sessions[str(session.session_id)]
    assert (snapshot["end_state"], snapshot["end_state_reason"]) == ("Fail", "gave up")


def test_an_unwritable_log_file_costs_the_log_not_the_session(tmp_path: Path) -> None:
    (tmp_path / "agentops.log").mkdir()  # ./agentops.log cannot be opened as a file
    done = run_script(
        tmp_path,
        """
        import uuid
        import agentops
        from agentops.testing import InMemoryTransport
        transport = InMemoryTransport()
        session = agentops.init(api_key=str(uuid.uuid4()), transport=transport)
        assert session is not None, "no session"
        session.record(agentops.ActionEvent(action_type="logged-elsewhere"))
        session.end_session("Success")
        print([e["action_type"] for e in transport.events])
        """,
        env=script_env(AGENTOPS_LOGGING_TO_FILE="true"),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['logged-elsewhere']"
    assert "Could not open agentops.log" in done.stderr


def test_a_session_configuration_without_a_key_uses_the_clients_key() -> None:
    transport = InMemoryTransport()
    key = str(uuid.uuid4())
    agentops.init(
        api_key=key, transport=transport, auto_start_session=False, instrument_llm_calls=False
    )
    session = agentops.start_session(config=agentops.Configuration(default_tags=("own",)))
    assert session is not None
    assert session.config.api_key == key
    session.end_session("Success")
    assert transport.sessions[str(session.session_id)]["end_state"] == "Success"


def test_init_with_other_settings_ends_the_old_workers_thread_after_it_sent_everything() -> None:
    key = str(uuid.uuid4())
    first = InMemoryTransport()
    session = agentops.init(
        api_key=key, transport=first, instrument_llm_calls=False, max_wait_time=60_000
    )
    assert session is not None
    old = agentops.get_client()
    worker = old._worker  # type: ignore[attr-defined]
    for _ in range(3):
        agentops.record(agentops.ActionEvent(action_type="held"))
    thread = worker._thread
    assert thread is not None and thread.is_alive()
    session._finish("Success", None, None)  # ended, its end still queued behind the events

    second = InMemoryTransport()
    again = agentops.init(api_key=key, transport=second, instrument_llm_calls=False)
    assert again is not None and agentops.get_client() is not old
    thread.join(timeout=30)  # the old thread ends once its queue is sent (not after idling)
    assert not thread.is_alive()
    assert worker not in _worker.live_workers()
    assert len(first.events_of(session.session_id)) == 3
    assert first.sessions[str(session.session_id)]["end_state"] == "Success"
    again.end_session("Success")
    assert str(again.session_id) in second.sessions


def test_a_process_running_sessions_one_after_another_keeps_no_token_per_ended_session() -> None:
    transport = InMemoryTransport()
    agentops.init(
        api_key=str(uuid.uuid4()),
        transport=transport,
        instrument_llm_calls=False,
        auto_start_session=False,
    )
    ended = []
    for _ in range(20):
        session = agentops.start_session()
        assert session is not None
        session.record(agentops.ActionEvent(action_type="step"))
        session.end_session("Success")
        ended.append(session.session_id)
    running = agentops.start_session()
    assert running is not None
    running.record(agentops.ActionEvent(action_type="step"))
    assert agentops.flush()
    exporter = agentops.get_client().worker.exporter  # type: ignore[attr-defined]
    assert [sid for sid in ended if exporter.token(sid) is not None] == []
    assert exporter.token(running.session_id) is not None
    for sid in ended:  # each delivered in full before it was forgotten
        assert transport.sessions[str(sid)]["end_state"] == "Success"
        assert len(transport.events_of(sid)) == 1
    running.end_session("Success")
    assert exporter.token(running.session_id) is None
