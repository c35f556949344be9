"""Serialised calendar events kept in the database, so a restart does not start cold.

Serialising a VEVENT with icalendar costs about a millisecond; a feed of 10,000
meetings takes seconds to serialise. The process keeps what it rendered in memory
(:class:`coordination.interop.ical.EventCache`); this store keeps the same bytes in the
``meeting_ical_cache`` table, keyed by the entry's fingerprint
(:func:`coordination.interop.ical.entry_fingerprint`), so stale bytes are never found:
any change to what an event shows gives another fingerprint.

It is a cache, not data, and a feed is often rendered inside a ``GET``: rows are
written aside from the request's transaction (:mod:`coordination.services._derived`),
ignoring rows a concurrent writer stored first, and :meth:`DatabaseEventStore.save`
logs any database error instead of raising it: a feed is served whether or not storing
works.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from coordination.interop.ical import CalendarEntry
from coordination.models import Meeting
from coordination.models.meetings import meeting_ical_cache
from coordination.services._derived import write_aside

__all__ = ["DatabaseEventStore", "save_events"]

log = logging.getLogger(__name__)

# Bound parameters per statement: well below SQLite's (32,766) and PostgreSQL's
# (65,535) limits, and a feed of 10,000 meetings still needs one query.
BATCH = 10_000

_T = TypeVar("_T")


def _batches(items: Sequence[_T], size: int = BATCH) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class DatabaseEventStore:
    """The :class:`coordination.interop.ical.EventStore` of a session's database."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def fetch(self, fingerprints: Sequence[str]) -> Mapping[str, bytes]:
        table = meeting_ical_cache
        found: dict[str, bytes] = {}
        connection = self.session.connection()  # Core rows: megabytes of them
        for batch in _batches(fingerprints):
            rows = connection.execute(
                select(table.c.fingerprint, table.c.body).where(table.c.fingerprint.in_(batch))
            )
            found.update((fingerprint, body) for fingerprint, body in rows)
        return found

    def save(self, rendered: Sequence[tuple[CalendarEntry, str, bytes]]) -> None:
        try:
            save_events(self.session, rendered)
        except SQLAlchemyError as error:
            log.warning("calendar events not stored (the feed is served anyway): %s", error)


def save_events(session: Session, rendered: Sequence[tuple[CalendarEntry, str, bytes]]) -> None:
    """Store serialised events ``(entry, fingerprint, bytes)``; drop older versions'.

    Raises what the database raises; :meth:`DatabaseEventStore.save` ignores it.
    """
    rows = [
        {
            "fingerprint": fingerprint,
            "meeting_id": entry.meeting_id,
            "updated_at": entry.last_modified,
            "body": data,
        }
        for entry, fingerprint, data in rendered
        if entry.meeting_id is not None and entry.last_modified is not None
    ]
    if not rows:
        return
    write_aside(session, lambda connection: _write(connection, rows))


def _write(connection: Connection, rows: list[dict[str, Any]]) -> None:
    table = meeting_ical_cache
    name = connection.dialect.name
    if name == "postgresql":
        statement: Any = postgresql.insert(table).on_conflict_do_nothing(
            index_elements=[table.c.fingerprint]
        )
    elif name == "sqlite":
        statement = sqlite.insert(table).on_conflict_do_nothing()
    else:  # pragma: no cover - we run on SQLite and PostgreSQL
        statement = insert(table)
    for batch in _batches(rows):
        connection.execute(statement, list(batch))
    # Rows made for an older version of these meetings are never asked for again.
    current = select(Meeting.updated_at).where(Meeting.id == table.c.meeting_id)
    ids = sorted({row["meeting_id"] for row in rows})
    for batch in _batches(ids):
        connection.execute(
            delete(table).where(
                table.c.meeting_id.in_(batch), table.c.updated_at < current.scalar_subquery()
            )
        )
