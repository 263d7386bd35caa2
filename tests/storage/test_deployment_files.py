"""The deployment files agree with the code: real commands, known variables, files that exist.
(Docker cannot run here, so this is what can be checked of them.)"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click

from agentops_server.cli import main
from agentops_server.config import ENV_VARS

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
GUIDE = ROOT / "docs" / "deployment.md"


def resolves(args: list[str]) -> bool:
    """Whether `agentops ARGS...` names an existing (sub)command."""
    command: click.Command = main
    ctx = click.Context(main)
    for word in args:
        if word.startswith("-") or not isinstance(command, click.Group):
            break
        sub = command.get_command(ctx, word)
        if sub is None:
            return False
        command = sub
    return not isinstance(command, click.Group)


def test_every_agentops_command_in_the_deployment_files_exists() -> None:
    texts = [GUIDE.read_text()] + [p.read_text() for p in DEPLOY.iterdir()]
    found = 0
    for text in texts:
        for line in text.splitlines():
            match = re.search(r"(?:^|[\s/\"'\[])agentops ((?:[a-z]+ ?)+)", line)
            if match and not line.lstrip().startswith(("#", "name:", "Description")):
                words = shlex.split(match.group(1))
                if words and words[0] in {"serve", "db", "projects", "keys", "export", "import"}:
                    assert resolves(words), f"unknown command in: {line.strip()}"
                    found += 1
    assert found >= 8


def test_every_variable_in_the_deployment_files_is_a_real_setting() -> None:
    for path in [GUIDE, *DEPLOY.iterdir()]:
        for name in set(re.findall(r"\bAGENTOPS_[A-Z_]+\b", path.read_text())):
            if name.startswith(("AGENTOPS_BENCH", "AGENTOPS_TEST")):
                continue
            assert name in ENV_VARS, f"{path.name} uses unknown setting {name}"


def test_compose_file_runs_the_image_on_postgres_with_a_shared_secret() -> None:
    compose = (DEPLOY / "compose.yaml").read_text()
    dockerfile = re.search(r"dockerfile: (\S+)", compose)
    assert dockerfile and (ROOT / dockerfile.group(1)).exists()
    assert re.search(r"AGENTOPS_DATABASE_URL: postgresql://\S+@postgres:5432/", compose)
    assert "AGENTOPS_SECRET_KEY: ${AGENTOPS_SECRET_KEY:?" in compose
    assert "condition: service_healthy" in compose and "pg_isready" in compose


def test_the_guide_points_at_every_deployment_file() -> None:
    guide = GUIDE.read_text()
    for path in DEPLOY.iterdir():
        assert f"deploy/{path.name}" in guide, f"docs/deployment.md never mentions {path.name}"
