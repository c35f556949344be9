"""Storing derived data (caches) from code that only reads.

A cache is often filled inside a ``GET``, whose session is never committed. So unlike
other services, :func:`store_derived` commits on its own: in a short transaction of its
own, and swallowing every database error (a read-only replica, a locked SQLite file),
since what was computed is served whether or not storing works. Only when the caller's
transaction has written already (a CLI command after an import) does it write inside
that transaction, in a savepoint: a second connection would wait for the first one's
locks, held by this very thread. The ``write`` callable must be safe against concurrent
writers on its own (``ON CONFLICT``, conditions on a revision).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

__all__ = ["has_written", "store_derived", "write_aside"]

log = logging.getLogger(__name__)


def store_derived(session: Session, write: Callable[[Connection], None], *, what: str) -> None:
    """:func:`write_aside`, logging a failure (``what`` names the data) instead of raising."""
    try:
        write_aside(session, write)
    except SQLAlchemyError as error:
        log.warning("%s not stored (served anyway): %s", what, error)


def write_aside(session: Session, write: Callable[[Connection], None]) -> None:
    """Run ``write`` on a connection to the session's database, committed at once: in a
    short transaction of its own, or in a savepoint when the session's transaction has
    written already. Nothing is written to an in-memory SQLite database: nothing there
    outlives the process, and its one connection is the session's."""
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    if engine.dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:"):
        return
    if has_written(session):
        with session.begin_nested():
            write(session.connection())
    else:
        assert isinstance(engine, Engine)
        with engine.begin() as connection:
            write(connection)


def has_written(session: Session) -> bool:
    """Whether the session's open transaction has changed anything yet."""
    if not session.in_transaction():
        return False
    connection = session.connection()
    name = connection.dialect.name
    if name == "sqlite":  # Python's sqlite3 begins a transaction only before a write
        raw: Any = connection.connection.dbapi_connection
        return bool(raw is not None and raw.in_transaction)
    if name == "postgresql":  # a transaction gets an id with its first write
        found = connection.execute(text("SELECT pg_current_xact_id_if_assigned() IS NOT NULL"))
        return bool(found.scalar())
    return True  # unknown: stay inside the caller's transaction, which is always safe
