"""Every shell and Python example of README.md and docs/ runs as written against a real
`agentops serve`, from a folder laid out like the checkout after `make serve` (its `.venv`
activated, the server's data in ./agentops-data), with only the placeholders filled in.

Provider calls in the examples go to fake providers on loopback (OPENAI_BASE_URL and
ANTHROPIC_BASE_URL, the variables the libraries read). Blocks marked `<!-- not-run: why -->`
are listed by test_skipped_blocks_say_why; every `agentops ...` line, run or not, is checked
against the CLI by test_every_agentops_line_names_real_commands_and_options.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click
import pytest

from agentops_server.cli import main
from tests.conftest import REPO_ROOT, require
from tests.docs.markdown import RUNNABLE, Block, code_lines, documents, examples
from tests.support.fake_providers import FakeProviders
from tests.support.server import ServerProcess

pytestmark = pytest.mark.slow

NOT_LINKED = {".git", "agentops-data", "dist", "test-artifacts", "build"}
CLIENT_VENVS = {  # run-with directives naming a client environment that setup installs
    "agentops 0.3.26": REPO_ROOT / ".venv-agentops026",
    "agentops 0.4.21": REPO_ROOT / ".venv-agentops04",
    "the OpenTelemetry clients": REPO_ROOT / ".venv-otel",
}


@dataclass
class Checkout:
    root: Path
    server: ServerProcess
    env: dict[str, str]

    def placeholders(self, code: str) -> str:
        for placeholder in ("<key printed by agentops serve>", "<your API key>", "<API key>"):
            code = code.replace(placeholder, self.server.api_key)
        return code.replace("http://127.0.0.1:8000", self.server.url)

    def run(
        self, block: Block, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        code = self.placeholders(block.code)
        if RUNNABLE[block.language] == "python":
            args = ["python", "-c", code]
        else:
            args = ["bash", "-e", "-o", "pipefail", "-c", code]
        return subprocess.run(
            args,
            cwd=self.root,
            env=env or self.env,
            capture_output=True,
            text=True,
            timeout=600,
            stdin=subprocess.DEVNULL,
        )


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Checkout]:
    root = tmp_path_factory.mktemp("checkout")
    for entry in REPO_ROOT.iterdir():
        if entry.name not in NOT_LINKED:
            (root / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    if not (root / ".venv").exists():
        (root / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    venv_bin = str(Path(sys.executable).parent)
    with FakeProviders() as fake:
        server = ServerProcess(data_dir=root / "agentops-data").start()
        try:
            env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTOPS_")}
            env.update(
                PATH=os.pathsep.join([venv_bin, env.get("PATH", "")]),
                VIRTUAL_ENV=sys.prefix,
                OPENAI_BASE_URL=fake.url + "/v1",
                OPENAI_API_KEY="sk-fake",
                ANTHROPIC_BASE_URL=fake.url,
                ANTHROPIC_API_KEY="sk-ant-fake",
            )
            env.pop("PYTHONPATH", None)
            checkout = Checkout(root, server, env)
            agent = next(b for b in examples() if "### Your agent" in _heading_text(b))
            seeded = checkout.run(agent)  # the agent the export examples look for
            assert seeded.returncode == 0, seeded.stderr
            yield checkout
        finally:
            server.stop()


def _heading_text(block: Block) -> str:
    before = block.path.read_text().splitlines()[: block.line]
    headings = [line for line in before if line.startswith("#")]
    return headings[-1] if headings else ""


def _runnable() -> list[Block]:
    return [b for b in examples() if b.directive is None or b.directive[0] != "not-run"]


@pytest.mark.parametrize("block", _runnable(), ids=lambda b: b.name)
def test_example_runs_as_written(checkout: Checkout, block: Block, tmp_path: Path) -> None:
    env = dict(checkout.env)
    client = CLIENT_VENVS.get(block.directive[1]) if block.directive else None
    if client is not None:
        require((client / "bin" / "python").exists(), f"{client.name} (make setup)")
        env["PATH"] = os.pathsep.join([str(client / "bin"), env["PATH"]])
        env["VIRTUAL_ENV"] = str(client)
    elif block.directive == ("run-with", "a new virtual environment"):
        subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "agent")], check=True)
        env["PATH"] = os.pathsep.join([str(tmp_path / "agent" / "bin"), env["PATH"]])
        env["VIRTUAL_ENV"] = str(tmp_path / "agent")
    else:
        assert block.directive is None, f"{block.name}: unknown directive {block.directive}"
        # the checkout's own code, as its `make setup` would install it (a worktree's, not the
        # shared .venv's editable install)
        env["PYTHONPATH"] = os.pathsep.join(
            str(REPO_ROOT / part / "src") for part in ("sdk", "server")
        )
    done = checkout.run(block, env)
    assert done.returncode == 0, f"{block.name} failed:\n{done.stdout}\n{done.stderr}"
    assert '{"error"' not in done.stdout, f"{block.name} got an error answer:\n{done.stdout}"
    assert "deprecated" not in done.stderr.lower(), f"{block.name} warned:\n{done.stderr}"
    if env.get("VIRTUAL_ENV", "").startswith(str(tmp_path)):
        where = done.stdout.strip().splitlines()[-1]
        assert where.startswith(str(tmp_path / "agent")), "the SDK went elsewhere: " + where


def test_skipped_blocks_say_why() -> None:
    skipped = [b for b in examples() if b.directive and b.directive[0] == "not-run"]
    assert all(len(b.directive[1]) > 20 for b in skipped if b.directive)
    assert len(skipped) <= 10, "keep the blocks that are not run few: " + ", ".join(
        b.name for b in skipped
    )


COMMAND_START = re.compile(r"(?:^|[\s(/])(?<!-u )agentops (?=\S)")  # not `sudo -u agentops`
COMMAND_END = re.compile(r"\s#|;|&&|>|`|'|\"|\)")


def _check(command: click.Command, tokens: list[str], line: str) -> None:
    """`tokens` follow `command` in `line`: subcommands (a|b for either) then options."""
    if isinstance(command, click.Group) and tokens and not tokens[0].startswith(("-", "[")):
        names = tokens[0].split("|")
        for name in names:
            sub = command.commands.get(name)
            assert sub is not None, f"{line!r}: no command {name!r} under {command.name!r}"
            _check(sub, tokens[1:], line)
        return
    known = {"--help"}
    for param in command.params:
        known.update(getattr(param, "opts", []), getattr(param, "secondary_opts", []))
    for token in tokens:
        option = token.strip("[]()").split("=", 1)[0]
        if re.fullmatch(r"--?[a-z][a-z-]*", option):
            assert option in known, f"{line!r}: {command.name} has no option {option}"


def test_every_agentops_line_names_real_commands_and_options() -> None:
    checked = 0
    for path in documents():
        for text in code_lines(path):
            for found in COMMAND_START.finditer(text):
                tokens = COMMAND_END.split(text[found.end() :], maxsplit=1)[0].split()
                if tokens and re.fullmatch(r"[a-z][a-z|-]*", tokens[0]) and tokens[0] != "agentops":
                    _check(main, tokens, f"{path.name}: {text.strip()}")
                    checked += 1
    assert checked > 40  # the README's CLI section alone has 15
