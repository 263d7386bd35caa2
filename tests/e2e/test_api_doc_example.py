"""docs/api.md's "By hand" curl session, run as written against a real `agentops serve`."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.conftest import REPO_ROOT
from tests.support.server import ServerProcess

pytestmark = pytest.mark.slow


def test_the_curl_walkthrough_in_api_md_works(server: ServerProcess) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    text = (REPO_ROOT / "docs" / "api.md").read_text()
    match = re.search(r"### By hand\n\n```bash\n(.*?)```", text, re.S)
    assert match, "no '### By hand' example in docs/api.md"
    script = match.group(1).replace("<your API key>", server.api_key)
    script = script.replace("http://127.0.0.1:8000", server.url)
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert '{"status":"success","inserted":1,"duplicates":0}' in done.stdout
    documented = re.search(r'# (\{"status":"success","token_cost":"[^"]+")', script)
    assert documented and documented.group(1) in done.stdout
