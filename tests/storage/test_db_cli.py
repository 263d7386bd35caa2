"""`agentops db upgrade` / `agentops db current` on both engines."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import create_engine, text

from agentops_server.cli import main
from agentops_server.config import normalize_database_url
from agentops_server.storage.migrate import current_revision, head_revision
from tests.support.server import free_port


def run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_db_upgrade_and_current(database_url: str) -> None:
    head = head_revision()
    assert "(empty)" in run("db", "current", "--database-url", database_url)
    assert f"to {head}" in run("db", "upgrade", "--database-url", database_url)
    assert current_revision(database_url) == head
    assert f"already at revision {head}" in run("db", "upgrade", "--database-url", database_url)
    assert run("db", "current", "--database-url", database_url).strip() == f"{head} (head)"


def test_db_commands_use_the_data_dir_and_environment(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    out = CliRunner().invoke(main, ["db", "upgrade"], env={"AGENTOPS_DATA_DIR": str(data_dir)})
    assert out.exit_code == 0, out.output
    assert (data_dir / "agentops.sqlite3").exists()
    assert "(head)" in run("db", "current", "--data-dir", str(data_dir))


def test_db_upgrade_reports_an_unreachable_database() -> None:
    url = "postgresql://nobody@127.0.0.1:1/none"
    result = CliRunner().invoke(main, ["db", "upgrade", "--database-url", url])
    assert result.exit_code == 1
    assert "cannot migrate" in result.output and "Traceback" not in result.output


def test_a_database_a_newer_agentops_migrated_is_named_as_such(
    database_url: str, tmp_path: Path
) -> None:
    """Found by review: every command (and `serve`) said `cannot open the database ...: Can't
    locate revision identified by '0010'`."""
    head = head_revision()
    assert head is not None
    newer = f"{int(head) + 1:04d}"  # what the next release's migration will be called
    db = ["--database-url", database_url]
    run("db", "upgrade", *db)
    dump = tmp_path / "all.jsonl"
    run("export", "-o", str(dump), *db)
    engine = create_engine(normalize_database_url(database_url))
    with engine.begin() as connection:  # as the newer version left it
        connection.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": newer})
    engine.dispose()
    said = (
        f"this database's schema (revision {newer}) is newer than this agentops ({head}): "
        "upgrade agentops, or restore the backup made before the upgrade"
    )
    commands = [
        ["db", "upgrade"], ["projects", "list"], ["projects", "create", "P"], ["keys", "list"],
        ["sessions", "list"], ["users", "create", "a@example.com", "--generate-password"],
        ["prices", "list"], ["reprice"], ["alerts", "list"], ["projects", "budget"],
        ["export", "-o", str(tmp_path / "again.jsonl")], ["import", str(dump)],
    ]  # fmt: skip
    for command in commands:
        refused = CliRunner().invoke(main, [*command, *db])
        assert refused.exit_code == 1, (command, refused.output)
        assert refused.output.startswith("Error: cannot ") and refused.output.endswith(
            f": {said}\n"
        ), (command, refused.output)
    assert run("db", "current", *db) == f"{newer} - {said}\n"
    serve = subprocess.run(
        [sys.executable, "-m", "agentops_server", "serve", "--port", str(free_port()), *db,
         "--data-dir", str(tmp_path / "data")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert serve.returncode == 1, serve.stdout + serve.stderr
    assert serve.stderr.endswith(f": {said}\n") and "Traceback" not in serve.stderr
    assert current_revision(database_url) == newer  # nothing touched it
