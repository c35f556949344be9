"""The calendar's revision: one number that moves with every write a feed can show.

A calendar client revalidates its feed every few minutes. Working out whether a feed of
thousands of meetings changed (count, latest change, sums of versions and ids over its
meetings) costs an aggregate over all of them; reading one number costs nothing. So
every transaction that writes a table a feed depends on (:data:`FEED_TABLES`: the
meetings, their invitees, exceptions and themes, and the people, organisations,
countries and themes named in events or deciding who is in a feed) raises the one row of
``calendar_revision`` by one, and a feed's state computed at revision N stays right for
as long as the revision reads N (:mod:`coordination.feeds`, ``open_feed``).

The raise is noted for every SQLAlchemy statement, ORM flush or Core
``insert()``/``update()``/``delete()`` alike, by an engine listener: no write path can
forget it. It is made once per transaction, as the last statement before its commit
(in autocommit mode, at once), so the data and the revision become visible together,
and the row is locked only from that statement to the commit: writers of these tables
queue for an instant on PostgreSQL, not for the length of their transactions (an
import writing organisations does not hold up meeting edits). Raw SQL written as text
does not pass the listener: call :func:`bump_calendar_revision` after it.

``epoch`` is drawn at random when the row is made: a database made afresh (or emptied
and started again) starts at revision 0 again, and the epoch tells its revisions from
the ones of before.

``names`` is raised too when the write is to a table of :data:`NAME_TABLES` (people,
organisations, countries, themes): their rows show in many meetings' events without
touching the meetings, so calendar entries kept in memory by meeting version are kept by
this number too (:func:`coordination.services.meetings.feed_entries`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Integer,
    String,
    Table,
    cast,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.sql.dml import UpdateBase

from coordination.db import Base

__all__ = [
    "FEED_TABLES",
    "NAME_TABLES",
    "Revision",
    "bump_calendar_revision",
    "calendar_revision",
    "names_column",
    "read_revision",
    "renew_calendar_epoch",
    "revision_columns",
    "start_calendar_revision",
]

calendar_revision = Table(
    "calendar_revision",
    Base.metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("epoch", String(32), nullable=False),
    Column("value", BigInteger, nullable=False),
    Column("names", BigInteger, nullable=False, server_default="0"),
)

# Every table whose rows show in a feed's events or name (meetings, invitees, exceptions,
# themes, organisers' and invitees' names and addresses, countries) or decide which
# meetings are in a feed (invitees, people's organisations).
FEED_TABLES = frozenset(
    {
        "meeting",
        "meeting_participant",
        "meeting_occurrence",
        "meeting_theme",
        "person",
        "organisation",
        "country",
        "theme",
    }
)

# Those of them whose rows show in events of meetings they do not belong to.
NAME_TABLES = frozenset({"person", "organisation", "country", "theme"})

_ROW = 1
# Set on a connection whose transaction wrote a feed table: whether it wrote a name table
_PENDING = "coordination_calendar_revision_pending"
_BUMP = (
    update(calendar_revision)
    .where(calendar_revision.c.id == _ROW)
    .values(value=calendar_revision.c.value + 1)
)
_BUMP_NAMES = (
    update(calendar_revision)
    .where(calendar_revision.c.id == _ROW)
    .values(value=calendar_revision.c.value + 1, names=calendar_revision.c.names + 1)
)


@dataclass(frozen=True)
class Revision:
    """The calendar's revision as read in one statement."""

    epoch: str
    value: int


def revision_columns() -> tuple[Any, Any]:
    """Scalar subqueries for (epoch, value), to read the revision inside another
    statement, in that statement's snapshot."""
    table = calendar_revision
    where = table.c.id == _ROW
    return (
        select(table.c.epoch).where(where).scalar_subquery(),
        select(table.c.value).where(where).scalar_subquery(),
    )


def names_column() -> Any:
    """A scalar subquery for epoch and names revision as one text, ``"epoch:names"``."""
    table = calendar_revision
    return (
        select(table.c.epoch + ":" + cast(table.c.names, String))
        .where(table.c.id == _ROW)
        .scalar_subquery()
    )


def read_revision(connection: Connection) -> Revision | None:
    """The current revision, or None if the row is missing (then nothing may be
    memoised by revision)."""
    table = calendar_revision
    row = connection.execute(select(table.c.epoch, table.c.value).where(table.c.id == _ROW)).first()
    return None if row is None else Revision(row[0], int(row[1]))


def start_calendar_revision(connection: Connection) -> None:
    """Make the revision row, with a new epoch (a new table, or one just emptied)."""
    connection.execute(insert(calendar_revision).values(id=_ROW, epoch=uuid.uuid4().hex, value=0))


def renew_calendar_epoch(connection: Connection) -> None:
    """Draw a new epoch, e.g. after a restore: the restored database counts on from an
    older revision and may reach numbers a running process memoised for other data."""
    connection.execute(
        update(calendar_revision)
        .where(calendar_revision.c.id == _ROW)
        .values(epoch=uuid.uuid4().hex)
    )


def bump_calendar_revision(connection: Connection, *, names: bool = True) -> None:
    """Raise the revision now, e.g. after raw SQL that wrote one of :data:`FEED_TABLES`
    (``names``: or of :data:`NAME_TABLES`; when unsure, leave it on)."""
    connection.execute(_BUMP_NAMES if names else _BUMP)


@event.listens_for(calendar_revision, "after_create")
def _first_row(_table: Table, connection: Connection, **_: Any) -> None:
    start_calendar_revision(connection)


@event.listens_for(Engine, "before_execute")
def _note_feed_writes(connection: Connection, statement: Any, *_: Any, **__: Any) -> None:
    if not isinstance(statement, UpdateBase):
        return
    name = getattr(getattr(statement, "table", None), "name", None)
    if name not in FEED_TABLES:
        return
    names = name in NAME_TABLES
    if connection._is_autocommit_isolation():  # each statement commits on its own
        bump_calendar_revision(connection, names=names)
        return
    # Noted on the connection, not by transaction: the first statement of a
    # commit-as-you-go transaction runs before the transaction is begun. Every commit
    # and rollback clears the note, so it never outlives the writes it stands for.
    connection.info[_PENDING] = names or connection.info.get(_PENDING, False)


@event.listens_for(Engine, "commit")
def _bump_at_commit(connection: Connection) -> None:
    # Runs just before the DBAPI commit, inside the transaction: a failure here fails
    # the commit, so no write is ever committed without its raise. (A savepoint rolled
    # back since the write still raises it: one raise too many is harmless.)
    if _PENDING in connection.info:
        bump_calendar_revision(connection, names=connection.info.pop(_PENDING))


@event.listens_for(Engine, "rollback")
def _forget_rolled_back_writes(connection: Connection) -> None:
    connection.info.pop(_PENDING, None)
