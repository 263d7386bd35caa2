"""The `agentops` command: serve, projects, keys and sessions."""

from __future__ import annotations

import click

from agentops_server import __version__
from agentops_server.cli.alerts import alerts
from agentops_server.cli.db import db
from agentops_server.cli.keys import keys
from agentops_server.cli.prices import prices
from agentops_server.cli.projects import projects
from agentops_server.cli.reprice import reprice
from agentops_server.cli.serve import serve
from agentops_server.cli.sessions import sessions
from agentops_server.cli.transfer import export_, import_
from agentops_server.cli.users import users


@click.group()
@click.version_option(__version__, prog_name="agentops")
def main() -> None:
    """Self-hosted AgentOps: server, projects, keys and data.

    Every command but serve, db upgrade and import works on the server's existing database,
    found with --data-dir or --database-url (or AGENTOPS_DATA_DIR / AGENTOPS_DATABASE_URL, as
    the server is given them): a SQLite file that does not exist there is an error, not a new
    database.

    Stored text (names, tags, labels, a webhook's answer) is printed with its control
    characters escaped, ESC as \\x1b, so that it cannot drive the terminal. JSON output
    (--json, sessions export) holds the exact text, in JSON's own escapes.
    """


main.add_command(serve)
main.add_command(projects)
main.add_command(keys)
main.add_command(sessions)
main.add_command(users)
main.add_command(prices)
main.add_command(reprice)
main.add_command(db)
main.add_command(export_)
main.add_command(import_)
main.add_command(alerts)

__all__ = ["main"]
