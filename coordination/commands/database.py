"""``coordination init`` and ``coordination load-fixtures``: setting a database up."""

from __future__ import annotations

import click
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from coordination.commands import database_option, open_engine, reports_errors, transaction
from coordination.db import alembic_config, upgrade_database
from coordination.services.fixtures import load_fixtures
from coordination.services.reference import sync_reference_data

__all__ = ["init", "load_fixtures_command"]


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def prepare_database(engine: Engine) -> list[str]:
    """Bring the schema to head and add missing reference data; returns what was done."""
    before = current_revision(engine)
    head = head_revision(engine)
    if before == head:
        done = [f"Schema: already at revision {head}."]
    else:
        upgrade_database(engine)
        done = [
            f"Schema: created at revision {head}."
            if before is None
            else f"Schema: upgraded from revision {before} to {head}."
        ]
    with transaction(engine, actor="cli") as session:
        counts = sync_reference_data(session)
    added = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in counts.items() if n)
    done.append(f"Reference data: added {added}." if added else "Reference data: up to date.")
    return done


@click.command()
@database_option
@reports_errors
def init(database: str | None) -> None:
    """Create or upgrade the schema and load the reference data.

    Safe to run again: it only adds what is missing (ISO countries and areas, the
    seed themes and target groups) and applies pending migrations.
    """
    engine = open_engine(database, require_schema=False)
    try:
        for line in prepare_database(engine):
            click.echo(line)
    finally:
        engine.dispose()


@click.command(name="load-fixtures")
@click.argument("source", default="demo", metavar="[NAME|PATH]")
@database_option
@reports_errors
def load_fixtures_command(source: str, database: str | None) -> None:
    """Load a fixture set (default: the demo scenario).

    NAME is a set in the repository's fixtures/ directory; PATH is a directory of
    YAML files or one YAML file (format: fixtures/README.md).

    The whole set is checked first; any problem is reported with its file, item and
    field and nothing is written. Loading the same set again adds nothing.
    """
    engine = open_engine(database)
    try:
        with transaction(engine, actor="cli:load-fixtures") as session:
            summary = load_fixtures(session, source)
        click.echo(str(summary))
    finally:
        engine.dispose()
