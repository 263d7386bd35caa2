"""`agentops db upgrade` / `agentops db current` on both engines."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from agentops_server.cli import main
from agentops_server.storage.migrate import current_revision, head_revision


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
