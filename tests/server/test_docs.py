"""The docs are tested against the code: CLI reference, settings, and the OpenAPI snapshot.

Regenerate docs/cli.md and docs/openapi.json after changing commands or routes:

    .venv/bin/python -m tests.server.test_docs
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import click

from agentops_server.app import create_app
from agentops_server.cli import main
from agentops_server.config import ENV_VARS, ServerConfig
from agentops_server.storage.migrate import upgrade
from agentops_server.storage.sql_store import open_store

DOCS = Path(__file__).resolve().parents[2] / "docs"
REGENERATE = "regenerate with: .venv/bin/python -m tests.server.test_docs"


def cli_reference() -> str:
    """docs/cli.md: the --help of every `agentops` command, at a fixed width."""
    parts = [
        "# `agentops` command reference\n",
        "Generated from `--help` by `.venv/bin/python -m tests.server.test_docs`; "
        "a test checks it is current.\n",
    ]

    def visit(command: click.Command, path: list[str], parent: click.Context | None) -> None:
        ctx = click.Context(
            command, info_name=path[-1], parent=parent, terminal_width=100, max_content_width=100
        )
        parts.append(f"\n## {' '.join(path)}\n\n```text\n{command.get_help(ctx)}\n```\n")
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                if sub is not None and not sub.hidden:
                    visit(sub, [*path, name], ctx)

    visit(main, ["agentops"], None)
    return "".join(parts)


def openapi_document() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        config = ServerConfig.build(data_dir=tmp, environ={})
        upgrade(config.database_url)
        store = open_store(config.database_url)
        try:
            return create_app(config, store).openapi()
        finally:
            store.close()


def openapi_text() -> str:
    return json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n"


def test_cli_reference_is_current() -> None:
    assert (DOCS / "cli.md").read_text() == cli_reference(), REGENERATE


def test_openapi_snapshot_is_current() -> None:
    assert (DOCS / "openapi.json").read_text() == openapi_text(), REGENERATE


def test_every_setting_is_documented() -> None:
    text = (DOCS / "settings.md").read_text()
    for name in ENV_VARS:
        assert f"`{name}`" in text, f"{name} is missing from docs/settings.md"


def test_every_ingest_and_export_route_is_in_api_md() -> None:
    text = (DOCS / "api.md").read_text()
    for path in openapi_document()["paths"]:
        if path.startswith("/v2/") and not path.startswith("/v2/prices"):
            assert path in text, f"{path} is missing from docs/api.md"


def test_ingest_routes_document_their_bodies() -> None:
    document = openapi_document()
    body = document["paths"]["/v2/create_events"]["post"]["requestBody"]
    ref = body["content"]["application/json"]["schema"]["$ref"]
    assert ref.rsplit("/", 1)[-1] in document["components"]["schemas"]
    assert "CreateEventsResponse" in document["components"]["schemas"]


if __name__ == "__main__":
    (DOCS / "cli.md").write_text(cli_reference())
    (DOCS / "openapi.json").write_text(openapi_text())
    print("wrote docs/cli.md and docs/openapi.json")
