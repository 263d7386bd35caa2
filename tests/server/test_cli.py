"""The `agentops` CLI in-process (click's CliRunner), plus the real entry point once."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import click
import httpx
import pytest
from click.testing import CliRunner, Result

from agentops_server.auth.keys import hash_key, is_key_format
from agentops_server.cli import main
from agentops_server.config import ServerConfig
from agentops_server.storage.sql_store import open_store
from tests.support.server import free_port


def run(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result


def new_database(data_dir: Path) -> list[str]:
    """An empty, migrated database in `data_dir` (as `agentops db upgrade` makes it); the
    options that name it."""
    db = ["--data-dir", str(data_dir)]
    made = run("db", "upgrade", *db)
    assert made.exit_code == 0, made.output
    return db


def test_projects_create_prints_the_key_last_and_json(tmp_path: Path) -> None:
    new_database(tmp_path)
    result = run("projects", "create", "Alpha", "--data-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    key = result.stdout.strip().splitlines()[-1]
    assert is_key_format(key)
    result = run("projects", "create", "Beta", "--json", "--data-dir", str(tmp_path))
    info = json.loads(result.stdout)
    assert set(info) == {"project_id", "name", "api_key"} and info["name"] == "Beta"
    listed = run("projects", "list", "--json", "--data-dir", str(tmp_path))
    assert [p["name"] for p in json.loads(listed.stdout)] == ["Alpha", "Beta"]
    url = ServerConfig.build(data_dir=tmp_path, environ={}).database_url
    store = open_store(url)
    try:  # only the hash is stored
        found = store.find_api_key(hash_key(key))
        assert found is not None and key not in repr(found)
    finally:
        store.close()


def test_keys_create_list_revoke(tmp_path: Path) -> None:
    db = new_database(tmp_path)
    first = run("projects", "create", "Only", *db).stdout.strip().splitlines()[-1]
    created = json.loads(run("keys", "create", "--label", "ci", "--json", *db).stdout)
    assert is_key_format(created["api_key"])
    listed = json.loads(run("keys", "list", "--json", *db).stdout)
    assert {k["prefix"] for k in listed} == {first[:8], created["api_key"][:8]}
    assert all(k["revoked_at"] is None for k in listed)
    # revoke by the key itself, and by id
    assert run("keys", "revoke", first, *db).exit_code == 0
    assert run("keys", "revoke", created["key_id"], *db).exit_code == 0
    listed = json.loads(run("keys", "list", "--json", *db).stdout)
    assert all(k["revoked_at"] is not None for k in listed)
    missing = run("keys", "revoke", str(uuid.uuid4()), *db)
    assert missing.exit_code == 1 and "no API key" in missing.output


def test_revoking_a_revoked_key_says_so_and_keeps_its_revocation_time(tmp_path: Path) -> None:
    db = new_database(tmp_path)
    key = run("projects", "create", "Only", *db).stdout.strip().splitlines()[-1]
    first = run("keys", "revoke", key, *db)
    assert first.exit_code == 0 and first.stdout.startswith("Revoked key")
    (listed,) = json.loads(run("keys", "list", "--json", *db).stdout)
    again = run("keys", "revoke", listed["id"], *db)
    assert again.exit_code == 0, again.output
    assert "was already revoked" in again.stdout and "Revoked key" not in again.stdout
    assert json.loads(run("keys", "list", "--json", *db).stdout)[0] == listed


def test_help_texts_say_what_the_options_do(tmp_path: Path) -> None:
    reprice = run("reprice", "--help").stdout
    assert "default: every project" in reprice and "the only project" not in reprice
    assert "USD per 1M output tokens" in run("prices", "set", "--help").stdout


def test_several_projects_need_project_option(tmp_path: Path) -> None:
    db = new_database(tmp_path)
    run("projects", "create", "One", *db)
    run("projects", "create", "Two", *db)
    result = run("keys", "list", *db)
    assert result.exit_code == 1 and "--project" in result.output
    assert run("keys", "list", "--project", "Two", *db).exit_code == 0


def test_user_mistakes_are_friendly_errors_not_tracebacks(tmp_path: Path) -> None:
    bad_scheme = run("projects", "list", "--database-url", "mysql://x/y")
    assert bad_scheme.exit_code == 2 and "unsupported database URL" in bad_scheme.output
    refused = run("projects", "list", "--database-url", "postgresql://u:secret@127.0.0.1:1/x")
    assert refused.exit_code == 1 and "cannot open the database" in refused.output
    assert "secret" not in refused.output and "Traceback" not in refused.output
    empty = run("sessions", "list", *new_database(tmp_path))
    assert empty.exit_code == 1 and "no project yet" in empty.output
    # found by review: each of these printed a traceback, or took what the API refuses
    data = str(tmp_path / "data")
    assert run("projects", "create", "P", *new_database(Path(data))).exit_code == 0
    garbage = CliRunner().invoke(
        main, ["sessions", "list", "--cursor", "garbage", "--data-dir", data]
    )
    assert garbage.exit_code == 2 and "--cursor" in garbage.output, garbage.output
    for port in ("99999", "-1"):
        bad_port = CliRunner().invoke(main, ["serve", "--port", port, "--data-dir", data])
        assert bad_port.exit_code != 0 and "port must be" in bad_port.output, bad_port.output
        assert bad_port.exception is None or isinstance(bad_port.exception, SystemExit)
    huge = run("prices", "set", "m", "--input", "1e400", "--output", "1", "--data-dir", data)
    assert huge.exit_code == 2 and "more than 1,000,000 USD" in huge.output
    with sqlite3.connect(Path(data) / "agentops.sqlite3") as db:  # a newer version migrated it
        db.execute("UPDATE alembic_version SET version_num = '9999_future'")
    newer = run("db", "current", "--data-dir", data)
    assert "newer than this agentops" in newer.output and "behind" not in newer.output
    typo = tmp_path / "tpyo"
    mistyped = run("export", "--output", str(tmp_path / "x.jsonl"), "--data-dir", str(typo))
    assert mistyped.exit_code == 1 and f"no agentops database at {typo}" in mistyped.output
    assert not typo.exists()  # no stray empty database left behind
    for url in ("sqlite://", "sqlite:///"):
        no_file = run("projects", "list", "--database-url", url)
        assert no_file.exit_code != 0 and "names no file" in no_file.output, no_file.output


# Every command that works on the server's database; `serve`, `db upgrade` and `import` make
# one (a first start, an explicit upgrade, a restore), `db current` only reads the file.
ON_THE_SERVERS_DATABASE = [
    ["projects", "create", "Oops"],
    ["projects", "list"],
    ["projects", "budget"],
    ["keys", "list"],
    ["keys", "create"],
    ["keys", "revoke", str(uuid.uuid4())],
    ["sessions", "list"],
    ["sessions", "export", str(uuid.uuid4())],
    ["users", "create", "a@example.com"],  # refused before it asks for a password
    ["users", "set-password", "a@example.com"],
    ["prices", "list"],
    ["prices", "set", "m", "--input", "1", "--output", "1"],
    ["prices", "delete", "m"],
    ["reprice"],
    ["alerts", "add", "--kind", "session_failed", "--webhook", "http://127.0.0.1:9/hook"],
    ["alerts", "list"],
    ["alerts", "remove", str(uuid.uuid4())],
    ["alerts", "history"],
    ["export", "-o", "all.jsonl"],
]


def test_commands_outside_the_servers_folder_make_no_database_of_their_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by review: `agentops projects create Oops` in an empty folder printed a key of a
    new, empty ./agentops-data/agentops.sqlite3 that the running server never read."""
    monkeypatch.chdir(tmp_path)
    for name in ("AGENTOPS_DATA_DIR", "AGENTOPS_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    tried = {_command_path(words) for words in ON_THE_SERVERS_DATABASE}
    assert set(_leaves(main)) - {"serve", "db upgrade", "db current", "import"} == tried
    expected = tmp_path / "agentops-data" / "agentops.sqlite3"
    for command in ON_THE_SERVERS_DATABASE:
        refused = run(*command)
        assert refused.exit_code == 1, (command, refused.output)
        assert refused.output == (
            f"Error: no agentops database at {expected}: pass the server's --data-dir (or "
            "--database-url); `agentops serve` or `agentops db upgrade` makes a new one\n"
        ), command
        assert list(tmp_path.iterdir()) == [], command
    elsewhere = tmp_path / "elsewhere"
    typo = run("keys", "list", "--database-url", f"sqlite:///{elsewhere / 'agentops.sqlite3'}")
    assert typo.exit_code == 1 and f"no agentops database at {elsewhere}/" in typo.output
    assert list(tmp_path.iterdir()) == []
    # the server's own folder, once it exists, is used: and named
    made_here = run("db", "upgrade")
    assert made_here.exit_code == 0 and str(expected) in made_here.output
    created = run("projects", "create", "Meant")
    assert created.exit_code == 0, created.output
    assert f" in {expected}." in created.output
    assert "Meant" in run("projects", "list").output


def _leaves(group: click.Group, prefix: str = "") -> Iterator[str]:
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _leaves(command, f"{prefix}{name} ")
        else:
            yield prefix + name


def _command_path(words: list[str]) -> str:
    command: click.Command = main
    path = []
    for word in words:
        if not isinstance(command, click.Group) or word not in command.commands:
            break
        command = command.commands[word]
        path.append(word)
    return " ".join(path)


def test_sessions_list_and_export(tmp_path: Path) -> None:
    from tests.server.conftest import action, llm, running

    config = ServerConfig.build(data_dir=tmp_path, port=free_port(), environ={})
    with running(config) as live:
        session_id, jwt = live.start_session(tags=["cli"])
        live.send_events(jwt, [llm(), action()])
        db = ["--data-dir", str(tmp_path)]
        listed = run("sessions", "list", *db)
        assert listed.exit_code == 0 and session_id in listed.stdout and "cli" in listed.stdout
        page = json.loads(run("sessions", "list", "--json", "--tag", "cli", *db).stdout)
        assert [s["id"] for s in page["data"]] == [session_id]
        found = json.loads(run("sessions", "list", "--json", "--text", session_id[:8], *db).stdout)
        assert [s["id"] for s in found["data"]] == [session_id]
        exported = run("sessions", "export", session_id, *db)
        assert exported.exit_code == 0
        assert json.loads(exported.stdout) == live.get(f"/v2/sessions/{session_id}/export").json()
        out = tmp_path / "export.json"
        assert run("sessions", "export", session_id, "-o", str(out), *db).exit_code == 0
        assert json.loads(out.read_text())["session"]["id"] == session_id
        missing = run("sessions", "export", "nope", *db)
        assert missing.exit_code == 1 and "not found" in missing.output


def test_real_entry_point_first_start_creates_default_project(tmp_path: Path) -> None:
    """`agentops serve` as installed: prints the URL and a working key; SIGTERM shuts it down
    gracefully (uvicorn then re-raises the signal, so the exit status is -SIGTERM)."""
    port = free_port()
    agentops = Path(sys.executable).with_name("agentops")
    proc = subprocess.Popen(
        [str(agentops), "serve", "--port", str(port), "--data-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "AGENTOPS_DATABASE_URL": ""},
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        proc.terminate()
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGTERM, output
    assert "Application shutdown complete" in output
    assert url in output and 'created project "Default"' in output
    keys = [w for w in output.split() if is_key_format(w)]
    assert keys, output
    store = open_store(ServerConfig.build(data_dir=tmp_path, environ={}).database_url)
    try:
        assert [p.name for p in store.list_projects()] == ["Default"]
        assert store.find_api_key(hash_key(keys[0])) is not None
    finally:
        store.close()
    again = subprocess.run(
        [sys.executable, "-m", "agentops_server", "--help"], capture_output=True, text=True
    )
    assert again.returncode == 0 and "serve" in again.stdout


def test_project_names_are_unique_and_resolve_to_one_project(tmp_path: Path) -> None:
    db = new_database(tmp_path)
    assert run("projects", "create", "Research", *db).exit_code == 0
    again = run("projects", "create", " Research ", *db)
    assert again.exit_code == 1 and "a project named 'Research' already exists" in again.output
    assert "keys create --project 'Research'" in again.output
    listed = json.loads(run("projects", "list", "--json", *db).output)
    assert [p["name"] for p in listed] == ["Research"]
    assert run("keys", "list", "--project", "Research", *db).exit_code == 0


# Found by review: exports were world-readable, replaced any file (even the live database) and
# printed a traceback for a missing directory; stored text reached the terminal raw.

EVIL = "\x1b]0;PWNED\x07\x1b[2J\x9b31m\x7fend"  # sets the window title, clears the screen (C1 CSI)
EVIL_SHOWN = "\\x1b]0;PWNED\\x07\\x1b[2J\\x9b31m\\x7fend"
CONTROLS = {chr(c) for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))} - {"\n"}


def strings(value: object) -> Iterator[str]:
    """Every string in a JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def seeded_session(data_dir: Path, tags: list[str] | None = None) -> str:
    """A database in `data_dir` with one project and one session; the session's id."""
    from tests.storage.builders import Seed

    assert run("db", "upgrade", "--data-dir", str(data_dir)).exit_code == 0
    store = open_store(ServerConfig.build(data_dir=data_dir, environ={}).database_url)
    try:
        return Seed.create(store, "P").session(tags=tags).id
    finally:
        store.close()


def test_sessions_export_writes_a_file_only_its_owner_can_read(tmp_path: Path) -> None:
    session_id = seeded_session(tmp_path / "data")
    out = tmp_path / "session.json"
    old_umask = os.umask(0o022)
    try:
        result = run(
            "sessions", "export", session_id, "-o", str(out), "--data-dir", str(tmp_path / "data")
        )
    finally:
        os.umask(old_umask)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert json.loads(out.read_text())["session"]["id"] == session_id
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "session.json"]  # no leftovers


def test_sessions_export_keeps_an_existing_file_and_never_writes_over_the_database(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    session_id = seeded_session(data)
    db = ["--data-dir", str(data)]
    out = tmp_path / "notes.json"
    out.write_text("mine")
    kept = run("sessions", "export", session_id, "-o", str(out), *db)
    assert kept.exit_code == 2 and str(out) in kept.output and "--force" in kept.output
    assert out.read_text() == "mine"
    forced = run("sessions", "export", session_id, "-o", str(out), "--force", *db)
    assert forced.exit_code == 0, forced.output
    assert json.loads(out.read_text())["session"]["id"] == session_id
    database = data / "agentops.sqlite3"
    (tmp_path / "link.json").symlink_to(database)
    for target in (database, Path(f"{database}-wal"), tmp_path / "link.json"):
        refused = run("sessions", "export", session_id, "-o", str(target), "--force", *db)
        assert refused.exit_code == 2 and "the server's own file" in refused.output
    assert run("sessions", "export", session_id, *db).exit_code == 0  # the database still works


def test_exports_to_a_path_that_cannot_be_written_are_clear_errors(tmp_path: Path) -> None:
    data = tmp_path / "data"
    session_id = seeded_session(data)
    db = ["--data-dir", str(data)]
    nowhere = "/nonexistent/x.json"
    for command in (["sessions", "export", session_id], ["export"]):
        missing = run(*command, "-o", nowhere, *db)
        assert missing.exit_code == 1, missing.output
        assert f"cannot write {nowhere}: there is no directory /nonexistent" in missing.output
        folder = run(*command, "-o", str(tmp_path), *db)
        assert folder.exit_code == 2 and "is a directory" in folder.output, folder.output
        denied = run(*command, "-o", "/sys/x.json", *db)  # not writable, even by root
        assert denied.exit_code == 1 and "cannot write /sys/x.json" in denied.output
        for result in (missing, folder, denied):
            assert "Traceback" not in result.output


def test_stored_text_is_shown_on_the_terminal_not_obeyed(tmp_path: Path) -> None:
    from datetime import timedelta
    from decimal import Decimal

    from agentops_server.alerts.rules import parse_rule
    from agentops_server.storage.alert_records import AlertAttempt
    from agentops_server.storage.records import PriceOverride, SessionWrite

    data = tmp_path / "data"
    seeded_session(data, tags=["plain", EVIL])  # project "P"
    store = open_store(ServerConfig.build(data_dir=data, environ={}).database_url)
    try:
        project = store.create_project(f"Q{EVIL}")
        store.create_api_key(project.id, "hash-of-a-key", "abcd1234", f"label{EVIL}")
        store.set_price_override(PriceOverride(project.id, f"m{EVIL}", Decimal(1), Decimal(2)))
        rule = store.create_alert_rule(
            parse_rule(project.id, "session_failed", None, "http://127.0.0.1:9/hook")
        )
        start, session_id = rule.created_at + timedelta(seconds=1), str(uuid.uuid4())
        store.write_session(
            SessionWrite(id=session_id, project_id=project.id, init_timestamp=start, tags=[EVIL]),
            create=True,
        )
        end = SessionWrite(
            id=session_id, project_id=project.id, end_timestamp=start, end_state="Fail"
        )
        store.write_session(end, create=False)
        (firing,) = store.fire_alert_rule(rule, start + timedelta(seconds=5))
        answer = AlertAttempt(1, start, False, 500, f"HTTP 500: {EVIL}")  # the receiver's text
        store.record_alert_attempt(firing.id, answer, None)
    finally:
        store.close()
    db = ["--data-dir", str(data)]
    q = ["--project", project.id]
    commands = {  # each command, and whether its JSON holds the text
        ("projects", "list"): True,
        ("keys", "list", *q): True,
        ("prices", "list", *q): True,
        ("projects", "budget", *q): False,  # only the project's name
        ("sessions", "list", *q): True,
        ("sessions", "list", "--project", "P"): True,
        ("alerts", "list", *q): False,
        ("alerts", "history", *q): True,
    }
    for command, json_has_it in commands.items():
        shown = run(*command, *db)
        assert shown.exit_code == 0, shown.output
        assert not CONTROLS & set(shown.output), (command, shown.output)
        assert EVIL_SHOWN in shown.output, (command, shown.output)
        as_json = run(*command, "--json", *db)  # JSON escapes them: the same text comes back
        assert as_json.exit_code == 0 and not CONTROLS & set(as_json.output), command
        found = any(EVIL in text for text in strings(json.loads(as_json.output)))
        assert found == json_has_it, command
    exported = run("sessions", "export", session_id, *q, *db)
    assert exported.exit_code == 0 and not CONTROLS & set(exported.output)
    assert json.loads(exported.output)["session"]["tags"] == [EVIL]
