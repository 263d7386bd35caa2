"""`agentops export` / `agentops import`: all data moves from SQLite to PostgreSQL, and both
servers then answer the export API identically."""

from __future__ import annotations

import gzip
import json
import os
import random
import signal
import stat
import string
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from agentops_server.cli import main
from agentops_server.storage.migrate import upgrade
from agentops_server.storage.records import PriceOverride, SessionFilter, SessionWrite
from agentops_server.storage.sql_store import SqlStore, open_store
from agentops_server.storage.synthetic import SyntheticSpec, seed_sessions
from tests.conftest import REPO_ROOT, require
from tests.storage.builders import Seed, at, event
from tests.support.postgres import fresh_database
from tests.support.server import ServerProcess, free_port


def fill(store: SqlStore, project_id: str) -> list[str]:
    """Every kind of row: sessions with tags and ends, all event types, agents, prices."""
    seed = Seed(store, project_id)
    other = Seed.create(store, "Other project")
    store.create_api_key(project_id, "hash-of-a-second-key", "abcd1234", "ci")
    store.revoke_api_key(store.create_api_key(project_id, "hash-revoked", "dead0000", "old").id)
    store.set_price_override(
        PriceOverride(project_id, "my-model", Decimal("0.15"), Decimal("0.6"), Decimal("0.075"))
    )
    ids = []
    for n in range(5):
        sid = f"00000000-0000-4000-8000-00000000000{n}"
        ids.append(sid)
        seed.session(sid, start=n, tags=[f"t{n}", "all"], host_env={"OS": {"OS": "Linux"}})
        store.upsert_agent(sid, f"agent-{n}", "planner")
        store.append_events(
            [
                event(sid, f"{sid}-{i}", event_type=kind, start=n + i / 10)
                for i, kind in enumerate(["llms", "tools", "actions", "errors", "llms"] * 30)
            ]
        )
    store.append_events([event(ids[0], "unpriced", cost_nanos=None)])
    store.add_session_log(ids[0], "INFO step one\nWARNING retrying")  # agentops 0.4 uploads
    store.add_session_log(ids[0], "INFO step two")
    store.write_session(
        SessionWrite(id=ids[1], project_id=project_id, end_timestamp=at(99), end_state="Success",
                     end_state_reason="done"),
        create=False,
    )  # fmt: skip
    store.close_inactive_sessions(at(10**9), "no end received")  # auto-ends the others
    other.session("other-project-session", tags=["x"])
    return ids


def snapshot(store: SqlStore, project_id: str) -> dict[str, object]:
    """Everything a user can read back through the Store."""
    page = store.list_sessions(project_id, SessionFilter(), None, 100).sessions
    return {
        "projects": store.list_projects(),
        "keys": {p.id: store.list_api_keys(p.id) for p in store.list_projects()},
        "prices": store.list_price_overrides(),
        "sessions": page,
        "events": {
            s.id: [(e.id, e.event_type, e.init_timestamp, e.payload, e.cost_nanos)
                   for e in store.iter_events(s.id)]
            for s in page
        },  # fmt: skip
        "agents": {s.id: store.list_agents(s.id) for s in page},
        "logs": {s.id: [(g.received_at, g.body) for g in store.list_session_logs(s.id)]
                 for s in page},
        "tagged": [s.id for s in store.list_sessions(
            project_id, SessionFilter(tags=("t2",)), None, 9).sessions],
        # text search: a session's end reason, its events' names and payloads
        "found": {word: sorted(s.id for s in store.list_sessions(
            project_id, SessionFilter(text=word), None, 9).sessions)
            for word in ("done", "tools", "héllo", "gpt", "planner")},
    }  # fmt: skip


def run_cli(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.slow
def test_sqlite_to_postgres_keeps_everything(tmp_path: Path, postgres_ok: bool) -> None:
    require(postgres_ok, "PostgreSQL at 127.0.0.1:5432")
    source = ServerProcess(data_dir=tmp_path / "source").start()
    sqlite_url = f"sqlite:///{tmp_path / 'source' / 'agentops.sqlite3'}"
    try:
        with _opened(sqlite_url) as store:
            ids = fill(store, source.project_id)
            before = snapshot(store, source.project_id)
        dump = tmp_path / "all.jsonl.gz"
        out = run_cli("export", "--output", str(dump), "--data-dir", str(tmp_path / "source"))
        assert "exported" in out
        with gzip.open(dump, "rt") as handle:
            header = json.loads(handle.readline())
        assert header["counts"]["events"] == 5 * 150 + 1

        total = sum(header["counts"].values())
        with fresh_database() as pg_url:
            first = run_cli("import", str(dump), "--database-url", pg_url)
            assert f": {total} rows read, {total} new" in first
            again = run_cli("import", str(dump), "--database-url", pg_url)  # idempotent
            assert f": {total} rows read, 0 new" in again
            with _opened(pg_url) as store:
                assert snapshot(store, source.project_id) == before
            target = ServerProcess(
                data_dir=tmp_path / "target", database_url=pg_url,
                api_key=source.api_key, project_id=source.project_id,
            ).start()  # fmt: skip
            try:
                # the imported server goes on taking data (PostgreSQL numbers new rows past
                # the imported ones)
                for n in range(3):
                    assert send_new_session(target, f"after-import-{n}") == 200
                for sid in ids:
                    assert target.export(sid).json() == source.export(sid).json()
                    assert target.stats(sid).json() == source.stats(sid).json()
                listing = [
                    httpx.get(f"{s.url}/v2/sessions", params={"limit": 3, "tag": "all"},
                              headers={"X-Agentops-Api-Key": s.api_key}, timeout=30).json()
                    for s in (source, target)
                ]  # fmt: skip
                assert listing[0] == listing[1] and len(listing[0]["data"]) == 3
            finally:
                target.stop()
    finally:
        source.stop()


def _documented_move() -> list[str]:
    """The commands of docs/deployment.md, "Moving from SQLite to PostgreSQL", after the
    first (the old server, stopped)."""
    from tests.docs.markdown import blocks

    deployment = REPO_ROOT / "docs" / "deployment.md"
    heading = "## Moving from SQLite to PostgreSQL"
    start = deployment.read_text().splitlines().index(heading)
    block = next(b for b in blocks(deployment) if b.line > start)
    lines = block.code.splitlines()
    assert lines[0].startswith("agentops serve ...") and "stop it first" in lines[0]
    return lines[1:]


def test_the_documented_move_to_postgresql_keeps_the_tokens_of_running_agents(
    tmp_path: Path, postgres_ok: bool
) -> None:
    """Found by review: the last command started the new server without the old one's
    --data-dir, so that run from another folder it made a new token secret, and the running
    agents' tokens (the paragraph after it promises they keep working) were refused."""
    require(postgres_ok, "PostgreSQL at 127.0.0.1:5432")
    data = tmp_path / "var-lib-agentops"
    old = ServerProcess(data_dir=data).start()
    try:
        key = {"X-Agentops-Api-Key": old.api_key}
        snapshot = {"session_id": str(uuid.uuid4()), "init_timestamp": "2026-12-01T00:00:00Z"}
        started = httpx.post(
            f"{old.url}/v2/create_session", json={"session": snapshot}, headers=key, timeout=30
        )
        token = {"Authorization": f"Bearer {started.json()['jwt']}"}
    finally:
        old.stop()
    elsewhere = tmp_path / "admin-home"  # the commands run from some other folder
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTOPS_")}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env["PATH"]])
    port = free_port()
    with fresh_database() as pg_url:
        export, import_, serve = (
            line.replace("/var/lib/agentops", str(data)).replace(
                "postgresql://agentops:PASSWORD@db/agentops", pg_url
            )
            for line in _documented_move()
        )
        for line in (export, import_):
            done = subprocess.run(
                ["bash", "-c", line], cwd=elsewhere, env=env, capture_output=True, text=True
            )
            assert done.returncode == 0, line + done.stdout + done.stderr
        log_path = tmp_path / "serve.log"
        log = log_path.open("w")
        server = subprocess.Popen(
            ["bash", "-c", f"{serve} --port {port}"], start_new_session=True,
            cwd=elsewhere, env=env, stdout=log, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        try:
            new = ServerProcess(data_dir=data, port=port, proc=server, log_path=log_path)
            new.wait_ready()
            event = {"id": str(uuid.uuid4()), "event_type": "actions", "action_type": "after"}
            sent = httpx.post(
                f"{new.url}/v2/create_events", json={"events": [event]}, headers=token, timeout=30
            )
            assert sent.status_code == 200, sent.text  # the token minted before the move
        finally:
            os.killpg(server.pid, signal.SIGTERM)  # bash and the server it started
            server.wait(timeout=30)
            _wait_gone(server.pid)
            log.close()


def _wait_gone(group: int, timeout: float = 30.0) -> None:
    """Until every process of the group has exited (the server after its graceful stop)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.killpg(group, signal.SIGKILL)


def send_new_session(server: ServerProcess, action: str) -> int:
    """A v2 client's new session and one event; the events request's status."""
    key = {"X-Agentops-Api-Key": server.api_key}
    now = "2026-12-01T00:00:00+00:00"
    snapshot = {"session_id": str(uuid.uuid4()), "init_timestamp": now}
    created = httpx.post(
        f"{server.url}/v2/create_session", json={"session": snapshot}, headers=key, timeout=30
    )
    assert created.status_code == 200, created.text
    event = {"id": str(uuid.uuid4()), "event_type": "actions", "action_type": action,
             "init_timestamp": now, "end_timestamp": now}  # fmt: skip
    auth = {**key, "Authorization": f"Bearer {created.json()['jwt']}"}
    res = httpx.post(
        f"{server.url}/v2/create_events", json={"events": [event]}, headers=auth, timeout=30
    )
    return res.status_code


class _opened:
    """open_store as a context manager (migrating first)."""

    def __init__(self, url: str) -> None:
        upgrade(url)
        self.store = open_store(url)

    def __enter__(self) -> SqlStore:
        return self.store

    def __exit__(self, *exc: object) -> None:
        self.store.close()


def test_export_file_round_trip_on_each_engine(database_url: str, tmp_path: Path) -> None:
    """Export then import into a second database of the same engine, plain JSON Lines."""
    from agentops_server.storage.transfer import export_database, import_database

    with _opened(database_url) as store:
        project = store.create_project("P")
        ids = fill(store, project.id)
        before = snapshot(store, project.id)
    dump = tmp_path / "all.jsonl"
    with dump.open("w") as out:
        counts = export_database(database_url, out, chunk_rows=7)
    assert counts["events"] == 751 and counts["sessions"] == 6
    with _second_database(database_url, tmp_path) as target:
        upgrade(target)
        with dump.open() as lines:
            result = import_database(target, lines, chunk_rows=50)
        assert result.read == {k: v for k, v in counts.items() if v}
        assert result.inserted == result.read  # every row is new, counted on both engines
        with dump.open() as lines:
            again = import_database(target, lines, chunk_rows=50)
        assert again.read == result.read and sum(again.inserted.values()) == 0
        with _opened(target) as store:
            assert snapshot(store, project.id) == before
        found = before["found"]
        assert isinstance(found, dict)
        assert found["done"] == [ids[1]] and len(found["tools"]) == len(found["planner"]) == 5


def test_an_export_cut_off_is_reported_and_a_newer_schemas_refused(tmp_path: Path) -> None:
    source = f"sqlite:///{tmp_path / 'source.sqlite3'}"
    with _opened(source) as store:
        project = store.create_project("P")
        fill(store, project.id)
    dump = tmp_path / "all.jsonl"
    run_cli("export", "--output", str(dump), "--database-url", source)
    lines = dump.read_text().splitlines(keepends=True)
    cut = tmp_path / "cut.jsonl"
    cut.write_text("".join(lines[: len(lines) // 2]))
    target = tmp_path / "target.sqlite3"
    result = CliRunner().invoke(main, ["import", str(cut), "--database-url", f"sqlite:///{target}"])
    assert result.exit_code == 1
    assert "the file is incomplete" in result.output and "import the complete file" in result.output
    assert ": 0 rows read" not in result.output
    completed = run_cli("import", str(dump), "--database-url", f"sqlite:///{target}")
    assert "rows read" in completed  # the rest comes in; what the cut file held is kept
    with _opened(source) as store:
        before = snapshot(store, project.id)
    with _opened(f"sqlite:///{target}") as store:  # searches too find what the first one held
        assert snapshot(store, project.id) == before

    header = json.loads(lines[0])
    header["schema_revision"] = "9999_from_the_future"
    newer = tmp_path / "newer.jsonl"
    newer.write_text(json.dumps(header) + "\n" + "".join(lines[1:]))
    fresh = tmp_path / "fresh.sqlite3"
    result = CliRunner().invoke(
        main, ["import", str(newer), "--database-url", f"sqlite:///{fresh}"]
    )
    assert result.exit_code == 1 and "written by a newer agentops" in result.output
    with _opened(f"sqlite:///{fresh}") as store:
        assert store.list_projects() == []  # refused before anything was imported


@contextmanager
def _second_database(like: str, tmp_path: Path) -> Iterator[str]:
    """Another empty database of the same engine as `like`."""
    if like.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'copy.sqlite3'}"
        return
    with fresh_database() as url:
        yield url


def test_an_export_stopped_by_ctrl_c_leaves_no_file_behind(tmp_path: Path) -> None:
    source = f"sqlite:///{tmp_path / 'source.sqlite3'}"
    with _opened(source) as store:
        assert isinstance(store, SqlStore)
        project = store.create_project("P")
        spec = SyntheticSpec(count=40_000, start=datetime(2026, 1, 1, tzinfo=UTC))
        for _ in seed_sessions(store, project.id, spec):
            pass
    dump = tmp_path / "all.jsonl"
    command = [sys.executable, "-m", "agentops_server", "export", "-o", str(dump)]
    export = subprocess.Popen(
        [*command, "--database-url", source],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not any(p.stat().st_size for p in tmp_path.glob("all.jsonl.*.partial")):  # writing
            assert export.poll() is None, "the export ended before it could be interrupted"
            assert time.monotonic() < deadline, "the export wrote nothing in 60 s"
            time.sleep(0.005)
        export.send_signal(signal.SIGINT)
        _, err = export.communicate(timeout=60)
    finally:
        export.kill()
    assert export.returncode == 1 and "Aborted" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["source.sqlite3"]  # nothing left


def test_an_export_is_private_and_replaces_a_file_only_when_forced(tmp_path: Path) -> None:
    """Found by review: the file (key and password hashes, every prompt) was world-readable,
    and `-o` silently replaced any file, even the database being exported."""
    data = tmp_path / "data"
    db = ["--data-dir", str(data)]
    run_cli("db", "upgrade", *db)
    run_cli("projects", "create", "P", *db)
    dump = tmp_path / "all.jsonl.gz"
    old_umask = os.umask(0o022)
    try:
        run_cli("export", "-o", str(dump), *db)
        assert stat.S_IMODE(dump.stat().st_mode) == 0o600
        first = dump.read_bytes()
        kept = CliRunner().invoke(main, ["export", "-o", str(dump), *db])
        assert kept.exit_code == 2, kept.output
        assert f"{dump} already exists" in kept.output and "--force" in kept.output
        assert dump.read_bytes() == first
        dump.chmod(0o644)
        run_cli("export", "-o", str(dump), "--force", *db)
        assert stat.S_IMODE(dump.stat().st_mode) == 0o600  # a new file, not the old one
        with gzip.open(dump, "rt") as handle:
            assert json.loads(handle.readline())["counts"]["projects"] == 1
    finally:
        os.umask(old_umask)
    database = data / "agentops.sqlite3"
    (tmp_path / "link").symlink_to(database)
    wal, secret = Path(f"{database}-wal"), data / "secret.key"
    for target in (database, wal, Path(f"{database}-shm"), secret, tmp_path / "link"):
        refused = CliRunner().invoke(main, ["export", "-o", str(target), "--force", *db])
        assert refused.exit_code == 2 and "the server's own file" in refused.output, target
        assert "--force does not allow this" in refused.output
    assert "P" in run_cli("projects", "list", *db)  # the database is intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["all.jsonl.gz", "data", "link"]


def test_names_past_postgresqls_index_limit_are_cut_on_import(
    tmp_path: Path, postgres_ok: bool
) -> None:
    """SQLite indexes any length, and versions before the cut stored whole names: importing
    such an agent name, model or tag into PostgreSQL (an index entry holds 2,704 bytes) cuts
    them to 500 characters, as ingest now does, instead of failing midway."""
    require(postgres_ok, "PostgreSQL at 127.0.0.1:5432")
    from agentops_server.storage.transfer import export_database, import_database

    rng = random.Random(5)

    def noise(n: int) -> str:  # random: PostgreSQL compresses a repeated letter below the limit
        return "".join(rng.choices(string.ascii_letters + string.digits, k=n))

    agent, model, tag = noise(3000), noise(3000), noise(3000)
    source = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    with _opened(source) as store:
        seed = Seed.create(store)
        seed.session("s1", tags=[tag])
        store.upsert_agent("s1", "agent-1", agent)
        store.append_events([replace(event("s1"), model=model)])
    dump = tmp_path / "old.jsonl"
    with dump.open("w") as out:
        export_database(source, out)
    with fresh_database() as target:
        upgrade(target)
        with dump.open() as lines:
            import_database(target, lines)
        with _opened(target) as store:
            assert [a.name for a in store.list_agents("s1")] == [agent[:500]]
            (call,) = store.iter_events("s1")
            assert call.model == model[:500]
            (session,) = store.list_sessions(seed.project_id, SessionFilter(), None, 5).sessions
            assert session.tags == [tag[:500]]
            assert store.recent_models(seed.project_id) == [model[:500]]
