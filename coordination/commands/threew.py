"""``coordination 3w``: import and export HXL-tagged 3W spreadsheets (CSV or XLSX)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from coordination.commands import (
    database_option,
    open_engine,
    progress,
    reports_errors,
    transaction,
)
from coordination.interop.hxl3w import MAX_FILE_BYTES
from coordination.services.threew import export_3w, import_3w, threew_rows

__all__ = ["COMMANDS", "threew"]


class _Bar:
    """A progress bar on stderr, opened on the first report and only on a terminal."""

    def __init__(self) -> None:
        self._bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            if not sys.stderr.isatty():
                return
            self._bar = click.progressbar(length=total, label="importing", file=sys.stderr)
            self._bar.__enter__()
        self._bar.update(done - self._bar.pos)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


@click.group(name="3w")
def threew() -> None:
    """3W spreadsheets (who does what where) tagged with HXL hashtags."""


@threew.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check and show what would change; write nothing.")
@database_option
@reports_errors
def import_command(file: Path, dry_run: bool, database: str | None) -> None:
    """Create or update interventions from FILE (.csv or .xlsx); all or nothing.

    Rows are matched by #activity+code. Any row error writes nothing: each error is
    printed as "row N, column C: reason" and the exit code is 1.
    """
    size = file.stat().st_size
    if size > MAX_FILE_BYTES:
        raise click.ClickException(
            f"{file} is {size / 1e6:,.1f} MB; the limit is {MAX_FILE_BYTES / 1e6:,.0f} MB"
        )
    data = file.read_bytes()
    engine = open_engine(database)
    bar = _Bar()
    try:
        with transaction(engine, actor="cli:3w-import") as session:
            report = import_3w(session, data, file.name, dry_run=dry_run, progress=bar)
            if not report.ok or dry_run:
                session.rollback()  # nothing written, audit trail included
    finally:
        bar.close()
        engine.dispose()
    for line in report.lines()[:-1]:
        click.echo(line, err=not report.ok)
    click.echo(report.lines()[-1])
    if not report.ok:
        sys.exit(1)


@threew.command("export")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "xlsx"]),
    default=None,
    help="File format (default: from the -o file name, else csv).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write to FILE instead of standard output.",
)
@database_option
@reports_errors
def export_command(fmt: str | None, output: Path | None, database: str | None) -> None:
    """Write every intervention in the 3W template (the import reads it back unchanged)."""
    if fmt is None:
        fmt = "xlsx" if output is not None and output.suffix.lower() == ".xlsx" else "csv"
    if fmt == "xlsx" and output is None and sys.stdout.isatty():
        raise click.UsageError("an XLSX file is binary: give -o FILE or redirect the output")
    engine = open_engine(database)
    try:
        with transaction(engine) as session:
            rows = threew_rows(session)
            with progress(rows, length=len(rows), label="exporting") as bar:
                data = export_3w(session, fmt, rows=bar)
    finally:
        engine.dispose()
    counted = f"{len(rows):,} intervention{'' if len(rows) == 1 else 's'}"
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        click.echo(f"exported {counted}", err=True)
    else:
        output.write_bytes(data)
        click.echo(f"exported {counted} to {output} ({len(data):,} bytes)", err=True)


COMMANDS = [threew]
