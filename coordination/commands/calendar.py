"""``coordination calendar``: export meetings as iCalendar, import calendars from others."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from sqlalchemy import Engine, func, select

from coordination.commands import database_option, open_engine, reports_errors, transaction
from coordination.models import Body, Meeting, Organisation, Person
from coordination.services.meetings import calendar_for, import_calendar

__all__ = ["COMMANDS", "calendar"]

host_option = click.option(
    "--host",
    default=lambda: os.environ.get("COORDINATION_CALENDAR_HOST", "coordination.local"),
    show_default="$COORDINATION_CALENDAR_HOST or coordination.local",
    help="Domain in the UIDs of our meetings (meeting-ID@HOST); keep it the same for good.",
)


@click.group()
def calendar() -> None:
    """Meetings as iCalendar files (Outlook, Google Calendar, Thunderbird)."""


@calendar.command("export")
@click.option("--person", "email", metavar="EMAIL", help="Only meetings of this person.")
@click.option("--organisation", "acronym", metavar="ACRONYM", help="Only this organisation's.")
@click.option("--body", "body_name", metavar="NAME", help="Only meetings of this body.")
@click.option("--meeting", "meeting_id", type=int, metavar="ID", help="Only this one meeting.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write to FILE instead of standard output.",
)
@click.option("--reminder", type=click.IntRange(min=0), help="Add a reminder N minutes before.")
@host_option
@database_option
@reports_errors
def export_command(
    email: str | None,
    acronym: str | None,
    body_name: str | None,
    meeting_id: int | None,
    output: Path | None,
    reminder: int | None,
    host: str,
    database: str | None,
) -> None:
    """Write a calendar of all meetings, or of one person, organisation, body or meeting."""
    if sum(x is not None for x in (email, acronym, body_name, meeting_id)) > 1:
        raise click.UsageError("give at most one of --person, --organisation, --body, --meeting")
    engine = open_engine(database)
    try:
        data = _export(engine, email, acronym, body_name, meeting_id, host, reminder)
    finally:
        engine.dispose()
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        output.write_bytes(data)
        click.echo(f"wrote {output} ({len(data):,} bytes)", err=True)


def _export(
    engine: Engine,
    email: str | None,
    acronym: str | None,
    body_name: str | None,
    meeting_id: int | None,
    host: str,
    reminder: int | None,
) -> bytes:
    with transaction(engine) as session:
        person = organisation = body = meeting = None
        if meeting_id is not None:
            meeting = session.get(Meeting, meeting_id)
            if meeting is None:
                raise click.ClickException(f"no meeting #{meeting_id}")
        if email is not None:
            person = session.scalars(
                select(Person).where(Person.email == email.strip().lower())
            ).first()
            if person is None:
                raise click.ClickException(f"no person with e-mail {email}")
        if acronym is not None:
            organisation = session.scalars(
                select(Organisation).where(
                    func.lower(Organisation.acronym) == acronym.strip().lower()
                )
            ).first()
            if organisation is None:
                raise click.ClickException(f"no organisation with acronym {acronym}")
        if body_name is not None:
            body = session.scalars(select(Body).where(Body.name == body_name.strip())).first()
            if body is None:
                raise click.ClickException(f"no body named {body_name!r}")
        return calendar_for(
            session,
            host=host,
            person=person,
            organisation=organisation,
            body=body,
            meeting=meeting,
            reminder_minutes=reminder,
        )


@calendar.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--timezone",
    "default_timezone",
    default="UTC",
    show_default=True,
    help="IANA zone for times the file gives without one.",
)
@host_option
@database_option
@reports_errors
def import_command(file: Path, default_timezone: str, host: str, database: str | None) -> None:
    """Create or update meetings from FILE.ics, matched by UID; all or nothing."""
    data = file.read_bytes()
    engine = open_engine(database)
    try:
        with transaction(engine, actor="cli:calendar-import") as session:
            report = import_calendar(session, data, host=host, default_timezone=default_timezone)
    finally:
        engine.dispose()
    for line in report.lines():
        click.echo(line)


COMMANDS = [calendar]
