"""`kill -HUP` on `agentops serve` replaces its workers while the real agentops==0.3.26 client
(which never retries a POST) keeps sending: nothing it sent is lost and no connection is
refused, on SQLite and PostgreSQL, with one worker and with two."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.test_agentops026 import client_env, last_json, python026  # noqa: F401
from tests.support.probe import ConnectionProbe
from tests.support.server import ServerProcess

STREAM = Path(__file__).parent / "scripts" / "stream026.py"
RELOADS = 3

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("workers", [1, 2])
def test_agentops_026_loses_nothing_across_sighup_restarts(
    tmp_path: Path,
    database_url: str,
    workers: int,
    python026: Path,  # noqa: F811
) -> None:
    server = ServerProcess(
        data_dir=tmp_path / "data",
        database_url=database_url,
        extra_args=["--workers", str(workers)],
    ).start()
    try:
        first = set(re.findall(r"Worker \[(\d+)\] is serving", server.log()))
        client = subprocess.Popen(
            [str(python026), str(STREAM), server.url, server.api_key, "0.004"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=client_env(),
        )
        try:
            assert client.stdout is not None and client.stdin is not None
            line = client.stdout.readline()
            assert line.startswith("{"), line + (client.stderr.read() if client.stderr else "")
            session_id = json.loads(line)["session_id"]
            with ConnectionProbe(f"{server.url}/health") as probe:
                wait_for_events(server, session_id, 100)
                for _ in range(RELOADS):
                    server.reload()
                    wait_for_events(
                        server, session_id, 100 + server.stats(session_id).json()["events"]
                    )
            client.stdin.write("done\n")
            client.stdin.flush()
            out, err = client.communicate(timeout=120)
        finally:
            if client.poll() is None:
                client.kill()
                client.wait()
        assert client.returncode == 0, err
        recorded = last_json(out)["recorded"]

        # every worker was replaced RELOADS times, and the port never refused a connection
        log = server.log()
        assert log.count("Reload complete") == RELOADS
        retired = re.findall(r"Worker \[(\d+)\] retired", log)
        assert len(set(retired)) == RELOADS * workers and first <= set(retired)
        assert probe.requests > 0 and probe.failures == []

        # the client saw no failure, and everything it recorded is stored once
        assert "Failed to send events" not in err and "Queue full" not in err, err
        export = server.export(session_id).json()
        steps = sorted(a["params"]["n"] for a in export["actions"])
        assert steps == list(range(recorded))
        assert export["stats"]["events"] == recorded
        assert export["session"]["end_state"] == "Success"
    finally:
        server.stop()


def wait_for_events(server: ServerProcess, session_id: str, count: int) -> None:
    deadline = time.monotonic() + 60
    while server.stats(session_id).json()["events"] < count:
        assert time.monotonic() < deadline, server.log()
        time.sleep(0.1)
