"""Adversarial review of the fixes made during the review: what a fix broke.

Each xfail(strict=True, raises=AssertionError) is one confirmed defect.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pytest

from tests.support.server import ServerProcess

SCRIPT = """
import sys
import agentops
KEY, ENDPOINT = sys.argv[1], sys.argv[2]
s = agentops.init(api_key=KEY, endpoint=ENDPOINT, default_tags=["run:" + "x" * 600, "nightly"])
print("SESSION", s.session_id)
for _ in range(5):
    agentops.record(agentops.ActionEvent(action_type="work"))
agentops.end_session("Success")
"""


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="BUG (regression of 4af325a, tags over 500 characters are a 422): one long tag "
    "now makes create_session fail, so the SDK drops the whole session and every event in "
    "it; a too-long tag should be cut or left out (server normalize._tags or the SDK), not "
    "cost the run's data",
)
def test_one_long_tag_does_not_lose_the_session(server: ServerProcess) -> None:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SCRIPT), server.api_key, server.url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    session_id = next(
        line.split()[1] for line in done.stdout.splitlines() if line.startswith("SESSION ")
    )
    answer = server.stats(session_id)
    for _ in range(30):  # bounded wait: the SDK sends in the background
        if answer.status_code == 200 and answer.json()["events"] == 5:
            break
        time.sleep(0.1)
        answer = server.stats(session_id)
    assert answer.status_code == 200, (answer.text, done.stderr[-400:])
    assert answer.json()["events"] == 5
