"""`agentops sessions`: list a project's sessions and export one as JSON."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from agentops.wire import EndState
from agentops_server import queries
from agentops_server.cli.options import (
    build_config,
    database_options,
    echo_json,
    opened_store,
    project_option,
    resolve_project,
)
from agentops_server.cli.output_file import (
    cannot_write,
    check_output,
    data_files,
    force_option,
    private_output,
)
from agentops_server.cli.terminal import terminal_json, visible
from agentops_server.storage.records import SessionFilter
from agentops_server.storage.store import InvalidCursor, NotFound


@click.group()
def sessions() -> None:
    """List and export sessions."""


@sessions.command("list")
@project_option
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 500))
@click.option("--tag", help="Only sessions with this tag.")
@click.option("--end-state", help="Success, Fail or Indeterminate.")
@click.option(
    "--text",
    help="Words of its prompts, completions, tools, errors or agent names; a tag; an id start.",
)
@click.option("--cursor", help="next_cursor printed by the previous page.")
@click.option("--json", "as_json", is_flag=True, help="Print the export API's JSON page.")
@database_options
def list_(
    project: str | None,
    limit: int,
    tag: str | None,
    end_state: str | None,
    text: str | None,
    cursor: str | None,
    as_json: bool,
    database_url: str | None,
    data_dir: Path | None,
) -> None:
    """List sessions, newest first."""
    state = None
    if end_state:
        try:
            state = EndState(end_state).value
        except ValueError:
            raise click.BadParameter(
                "must be Success, Fail or Indeterminate", param_hint="--end-state"
            ) from None
    config = build_config(database_url=database_url, data_dir=data_dir)
    with opened_store(config) as store:
        chosen = resolve_project(store, project)
        try:
            page = queries.list_sessions(
                store,
                chosen.id,
                SessionFilter(tags=(tag,) if tag else (), end_state=state, text=text),
                cursor,
                limit,
            )
        except InvalidCursor:
            raise click.BadParameter(
                "not a cursor this command printed (pass the next_cursor it printed)",
                param_hint="--cursor",
            ) from None
    if as_json:
        echo_json(page)
        return
    if not page["data"]:
        click.echo("No sessions.")
    for item in page["data"]:
        stats = item["stats"]
        cost = "unknown" if stats["cost"] is None else f"${stats['cost']}"
        click.echo(
            visible(
                f"{item['id']}  {item['init_timestamp'][:19]}  {item['end_state']:<13}  "
                f"{stats['events']:>6} events  {cost}  {','.join(item['tags'])}"
            )
        )
    if page["next_cursor"]:
        click.echo(f"More: --cursor {page['next_cursor']}")


@sessions.command("export")
@click.argument("session_id")
@project_option
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File, readable by you only (default stdout).",
)
@force_option
@database_options
def export(
    session_id: str,
    project: str | None,
    output: Path | None,
    force: bool,
    database_url: str | None,
    data_dir: Path | None,
) -> None:
    """Write SESSION_ID's full export (the export API's JSON)."""
    config = build_config(database_url=database_url, data_dir=data_dir)
    if output is not None:
        check_output(output, force=force, protected=data_files(config))
    with opened_store(config) as store:
        candidates = [resolve_project(store, project)] if project else store.list_projects()
        for candidate in candidates:
            try:
                chunks = queries.export_session(store, candidate.id, session_id)
                break
            except NotFound:
                continue
        else:
            raise click.ClickException(f"session {session_id} not found")
        if output is None:  # a terminal may show it: no raw control characters
            for chunk in chunks:
                sys.stdout.buffer.write(terminal_json(chunk))
            sys.stdout.buffer.write(b"\n")
            sys.stdout.buffer.flush()
            return
        try:
            with private_output(output, force=force) as out:
                for chunk in chunks:
                    out.write(chunk)
                out.write(b"\n")
        except OSError as exc:
            raise cannot_write(output, exc) from None
