"""``coordination iati``: publish projects as IATI 2.03 activities, read activity files."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from sqlalchemy import func, select

from coordination.commands import database_option, open_engine, reports_errors, transaction
from coordination.interop import iati as x
from coordination.models import Project
from coordination.services.iati import export_iati, import_iati

__all__ = ["COMMANDS", "iati"]


@contextmanager
def _bar(length: int, label: str) -> Iterator[Callable[[int], None]]:
    """A progress callback drawing a bar on stderr when it is a terminal, else silent."""
    if not sys.stderr.isatty() or length < 2:
        yield lambda _n: None
        return
    with click.progressbar(length=length, label=label, file=sys.stderr) as bar:
        yield bar.update


@click.group()
def iati() -> None:
    """IATI 2.03 activity files (the International Aid Transparency Initiative)."""


@iati.command("export")
@click.option(
    "--project", "codes", multiple=True, metavar="CODE", help="Only this project (repeatable)."
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write to FILE instead of standard output.",
)
@click.option(
    "--interventions/--no-interventions",
    default=True,
    show_default=True,
    help="Add each project's interventions as child activities (hierarchy 2).",
)
@click.option("--no-validate", is_flag=True, help="Skip the check against the IATI schema.")
@database_option
@reports_errors
def export_command(
    codes: tuple[str, ...],
    output: Path | None,
    interventions: bool,
    no_validate: bool,
    database: str | None,
) -> None:
    """Write one iati-activity per project, with its results chain.

    A project published for the first time keeps the identifier it gets here
    (reporting organisation's identifier, a dash, the project code) for good.
    """
    engine = open_engine(database)
    with transaction(engine, actor="cli:iati-export") as session:
        count = session.scalar(select(func.count()).select_from(Project)) or 0
        with _bar(len(codes) or count, "exporting") as progress:
            data = export_iati(
                session,
                project_codes=list(codes) or None,
                interventions=interventions,
                record_identifiers=True,
                progress=progress,
            )
        if not no_validate:
            try:
                errors = x.validate(data)
            except x.SchemaUnavailable as error:
                click.echo(f"note: not validated: {error}", err=True)
                errors = []
            if errors:
                for line in errors[:20]:
                    click.echo(line, err=True)
                raise click.ClickException(
                    f"the export does not validate against the IATI schema ({len(errors)} errors); nothing written"
                )
    activities = data.count(b"<iati-activity ")
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        output.write_bytes(data)
    click.echo(
        f"exported {activities} activities ({len(data):,} bytes)"
        + (f" to {output}" if output else ""),
        err=True,
    )


@iati.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--dry-run",
    is_flag=True,
    help="Show what would be created, updated and skipped; write nothing.",
)
@click.option(
    "--max-size",
    type=click.IntRange(min=1),
    default=x.MAX_BYTES // (1024 * 1024),
    show_default=True,
    metavar="MB",
    help="Refuse larger files.",
)
@database_option
@reports_errors
@click.pass_context
def import_command(
    ctx: click.Context, file: Path, dry_run: bool, max_size: int, database: str | None
) -> None:
    """Create or update projects, interventions and results from an IATI activity file.

    All or nothing: if any activity has an error, nothing is written, every error is
    listed with its line, and the exit code is 1.
    """
    limit = max_size * 1024 * 1024
    size = file.stat().st_size
    if size > limit:
        raise click.ClickException(
            f"{file} is {size:,} bytes; the limit is {limit:,} (see --max-size)"
        )
    data = file.read_bytes()
    engine = open_engine(database)
    with transaction(engine, actor="cli:iati-import") as session:
        activities = data.count(b"<iati-activity")
        with _bar(activities, "importing") as progress:
            report = import_iati(session, data, dry_run=dry_run, max_bytes=limit, progress=progress)
    for line in report.lines()[1:]:
        click.echo(line)
    click.echo(report.summary())
    if not report.ok:
        ctx.exit(1)


COMMANDS = [iati]
