"""The `agentops` command."""

from __future__ import annotations

import click


@click.group()
def main() -> None:
    """Self-hosted AgentOps: server, projects, keys and data."""
