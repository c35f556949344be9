"""``coordination backup`` and ``coordination restore``."""

from __future__ import annotations

from pathlib import Path

import click

from coordination.backup import backup_database, restore_database
from coordination.commands import database_option, open_engine, reports_errors

__all__ = ["COMMANDS", "backup", "restore"]


@click.command()
@database_option
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write the backup to.",
)
@reports_errors
def backup(database: str | None, output: Path) -> None:
    """Write a consistent backup of the database (safe while the app is running).

    SQLite uses its online backup API; PostgreSQL uses pg_dump's custom format.
    """
    engine = open_engine(database)
    backup_database(engine, output)
    click.echo(f"backed up {engine.url.render_as_string(hide_password=True)} to {output}")


@click.command()
@database_option
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask before replacing the current data.")
@reports_errors
def restore(database: str | None, source: Path, yes: bool) -> None:
    """Replace the database with the backup in SOURCE, then upgrade it to the current schema."""
    engine = open_engine(database, require_schema=False)
    where = engine.url.render_as_string(hide_password=True)
    if not yes:
        click.confirm(f"Replace all data in {where} with {source}?", abort=True)
    restore_database(engine, source)
    click.echo(f"restored {source} into {where}")


COMMANDS = [backup, restore]
