"""Settings of `agentops serve` (docs/settings.md) as a user gives them: a bad value is refused
at start with a message naming it, before anything is served; odd but valid ones work."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from uvicorn.middleware.proxy_headers import _TrustedHosts

from agentops_server.cli.serve_settings import SettingsSource
from agentops_server.config import ConfigError, ServerConfig
from tests.support.server import ServerProcess, free_port

REFUSED = [
    ({"AGENTOPS_SECRET_KEY": "short"}, "AGENTOPS_SECRET_KEY must be at least 16 bytes"),
    # what someone sets to "never": it overflowed every sweep, every minute, and the sweep's
    # expiry of held OTLP spans never ran
    (
        {"AGENTOPS_SESSION_INACTIVITY_SECONDS": "100000000000"},
        "session inactivity seconds must be at most 316224000",
    ),
    # found by review: it started, and session_url answers were agentops.example.com/sessions/..
    (
        {"AGENTOPS_PUBLIC_URL": "agentops.example.com"},
        "AGENTOPS_PUBLIC_URL must be an absolute http:// or https:// URL with a host, like "
        "https://agentops.example.com, got 'agentops.example.com'",
    ),
]


@pytest.mark.parametrize(
    ("environ", "message"), REFUSED, ids=["short secret", "inactivity", "public URL"]
)
def test_a_bad_setting_stops_the_start_with_a_message(
    tmp_path: Path, environ: dict[str, str], message: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "agentops_server", "serve", "--port", str(free_port()),
         "--data-dir", str(tmp_path / "data")],
        capture_output=True, text=True, timeout=60, env={**os.environ, **environ},
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr and "agentops server:" not in done.stdout


def test_an_ipv6_host_makes_valid_urls() -> None:
    config = ServerConfig.build(host="::1", port=8000, environ={})
    assert config.base_url == "http://[::1]:8000"


def test_a_public_url_with_a_trailing_slash_makes_no_double_slash() -> None:
    config = ServerConfig.build(environ={"AGENTOPS_PUBLIC_URL": "https://agentops.example.com/"})
    assert config.base_url == "https://agentops.example.com"
    behind = ServerConfig.build(environ={"AGENTOPS_PUBLIC_URL": "http://[::1]:8080/agentops/"})
    assert behind.base_url == "http://[::1]:8080/agentops"


@pytest.mark.parametrize(
    "url",
    ["agentops.example.com", "//agentops.example.com", "ftp://agentops.example.com", "https://",
     "http:///sessions", "https://agentops.example.com:99999", "https://agentops.example.com:x",
     "https://agentops example.com", "https://agentops.example.com/\n"],
)  # fmt: skip
def test_a_public_url_that_is_not_an_absolute_http_url_is_refused(url: str) -> None:
    with pytest.raises(ConfigError, match="^AGENTOPS_PUBLIC_URL must be an absolute http"):
        ServerConfig.build(environ={"AGENTOPS_PUBLIC_URL": url})


@pytest.mark.parametrize("url", ["https://x.example.com/?a=1", "https://x.example.com/#top"])
def test_a_public_url_with_a_query_or_fragment_is_refused(url: str) -> None:
    with pytest.raises(ConfigError, match="^AGENTOPS_PUBLIC_URL must have no query or fragment"):
        ServerConfig.build(environ={"AGENTOPS_PUBLIC_URL": url})


def test_a_trusted_network_written_with_host_bits_is_trusted() -> None:
    """uvicorn, which decides whom to believe, matched no address against 127.0.0.5/8."""
    config = ServerConfig.build(environ={"AGENTOPS_TRUSTED_PROXIES": "127.0.0.5/8, 10.0.0.7"})
    trusted = _TrustedHosts(list(config.trusted_proxies))
    assert "127.0.0.1" in trusted and "10.0.0.7" in trusted and "10.0.0.8" not in trusted


@pytest.mark.parametrize("level", ["info", "error"])
def test_the_log_level_governs_the_servers_own_messages(tmp_path: Path, level: str) -> None:
    """docs/settings.md: --log-level "sets uvicorn's and the server's log level". The server's
    warnings came out at every level, without uvicorn's "WARNING:" prefix."""
    server = ServerProcess(data_dir=tmp_path / "data", extra_args=["--log-level", level]).start()
    try:
        reported = httpx.post(
            f"{server.url}/v2/developer_errors",
            json={"sdk_version": "0.3.26", "type": "KeyError", "message": "boom-in-the-sdk"},
            headers={"X-Agentops-Api-Key": server.api_key},
            timeout=30,
        )
        assert reported.status_code == 200
    finally:
        server.stop()
    lines = [line for line in server.log().splitlines() if "boom-in-the-sdk" in line]
    if level == "error":
        assert lines == []
    else:
        assert len(lines) == 1 and lines[0].startswith("WARNING:"), lines


def test_a_misspelled_setting_in_the_env_file_is_named(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    env_file = tmp_path / "agentops.env"
    env_file.write_text("AGENTOPS_PROT=18560\nAGENTOPS_WORKERS=1\nAGENTOPS_API_KEY=for-agents\n")
    source = SettingsSource({}, None, env_file, "info", False)
    with caplog.at_level(logging.WARNING, logger="uvicorn.error"):
        source.read()
    assert [r.getMessage() for r in caplog.records] == [
        f"AGENTOPS_PROT in {env_file} is not a setting (did you mean AGENTOPS_PORT?): ignored"
    ]


def test_a_chosen_port_is_printed_when_a_public_url_is_set(tmp_path: Path) -> None:
    """docs/settings.md: port 0 picks a free port, printed at start (it was not printed when
    AGENTOPS_PUBLIC_URL gave the links)."""
    server = subprocess.Popen(
        [sys.executable, "-m", "agentops_server", "serve", "--port", "0",
         "--data-dir", str(tmp_path / "data")],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "AGENTOPS_PUBLIC_URL": "https://agentops.example.com"},
    )  # fmt: skip
    try:
        assert server.stdout is not None
        printed = []
        for line in server.stdout:  # the start lines, up to the database's
            printed.append(line)
            if line.startswith("database:"):
                break
        (url,) = [line.split()[-1] for line in printed if line.startswith("listening on")]
        assert url.startswith("http://127.0.0.1:"), printed
        deadline = time.monotonic() + 30
        while True:
            try:
                assert httpx.get(f"{url}/health", timeout=5).status_code == 200
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, f"nothing answers at {url}"
                time.sleep(0.1)
    finally:
        server.terminate()
        server.communicate(timeout=30)


def test_a_sqlite_url_in_a_folder_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    """docs/settings.md: sqlite:///var/lib/agentops/x.sqlite3 (three slashes) is relative.
    Found by review: it made ./var/lib/agentops/ unnoticed, and `serve` printed only the URL."""
    url = "sqlite:///var/lib/agentops/x.sqlite3"
    wanted = tmp_path / "var" / "lib" / "agentops"
    for command in (["serve", "--port", "0"], ["db", "upgrade"]):
        done = subprocess.run(
            [sys.executable, "-m", "agentops_server", *command, "--database-url", url],
            capture_output=True, text=True, timeout=60, cwd=tmp_path,
            env={k: v for k, v in os.environ.items() if not k.startswith("AGENTOPS_")},
        )  # fmt: skip
        assert done.returncode == 1, done.stdout + done.stderr
        assert done.stderr == (
            f"Error: no folder {wanted} for the SQLite database x.sqlite3: create it, or "
            "correct the URL (sqlite:///PATH is relative to the current folder, "
            "sqlite:////PATH absolute)\n"
        )
        assert list(tmp_path.iterdir()) == [], command  # nor the data dir, nor its secret


def test_serve_prints_the_absolute_path_of_its_sqlite_file(tmp_path: Path) -> None:
    (tmp_path / "db").mkdir()
    server = subprocess.Popen(
        [sys.executable, "-m", "agentops_server", "serve", "--port", "0",
         "--database-url", "sqlite:///db/agentops.sqlite3"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if not k.startswith("AGENTOPS_")},
    )  # fmt: skip
    try:
        assert server.stdout is not None
        printed = []
        for line in server.stdout:  # the start lines, up to the password's
            printed.append(line.rstrip("\n"))
            if "change it with" in line:
                break
    finally:
        server.terminate()
        server.communicate(timeout=30)
    database = tmp_path / "db" / "agentops.sqlite3"
    assert f"database: {database}" in printed, printed
    assert database.exists()
    # the commands it suggests reach that file, not the data dir's
    assert printed[-1].endswith(f"--database-url sqlite:///{database}`):"), printed


def test_a_relative_sqlite_path_is_made_absolute(tmp_path: Path) -> None:
    relative = "sqlite:///var/x.sqlite3?timeout=5"
    config = ServerConfig.build(database_url=relative, environ={})
    assert config.database_url == f"sqlite:///{Path.cwd()}/var/x.sqlite3?timeout=5"
    assert config.sqlite_file == Path.cwd() / "var" / "x.sqlite3"
    absolute = f"sqlite:///{tmp_path}/x.sqlite3"
    assert ServerConfig.build(database_url=absolute, environ={}).database_url == absolute


def test_a_data_directory_the_server_creates_is_its_users_alone(tmp_path: Path) -> None:
    """The database holds prompts, completions and password hashes: with the usual umask (022)
    the directory was readable by every user of the machine."""
    data = tmp_path / "new" / "data"
    done = subprocess.run(
        [sys.executable, "-m", "agentops_server", "db", "upgrade", "--data-dir", str(data)],
        capture_output=True, text=True, timeout=120, preexec_fn=lambda: os.umask(0o022),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
