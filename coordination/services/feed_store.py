"""Whole feed bodies kept in the database by calendar revision: a restart with an
unchanged calendar serves a feed with one lookup.

The events of a feed are stored one by one (:mod:`coordination.services.event_store`),
but finding them after a restart means building every entry from the database and
fingerprinting it: more than a second for 10,000 meetings. The calendar revision
(:mod:`coordination.models.calendar_revision`) moves with every write that can change
what any feed shows, so a feed body rendered at revision N is exactly right for as long
as the revision reads N. :func:`stored_or_rendered` looks the body up by its feed's key
and that revision, and otherwise renders it (by the per-event path) and stores it.

The revision must have been read before anything the body is rendered from (e.g. with
the feed's state in :func:`coordination.feeds.open_feed`): the body is then as new as
its revision or newer, never older. A body that is newer than its label is harmless: it
is only found by a reader of that same revision, while the write that made it newer is
committing.

A cache, not data: written aside from the caller's transaction like the event store
(:func:`coordination.services._derived.store_derived`), one row per feed replaced by
newer revisions, errors logged and ignored; rows may be deleted at any time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import partial

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from coordination.interop.ical import EVENT_FORMAT
from coordination.models.calendar_revision import Revision
from coordination.models.meetings import calendar_feed_cache
from coordination.services._derived import store_derived

__all__ = ["feed_body_key", "stored_or_rendered"]


def feed_body_key(revision: Revision, shape: str) -> str:
    """The row key of a feed: ``shape`` names everything besides the calendar's data
    that shapes its bytes (kind of feed, whose, host, URLs, render options)."""
    text = f"{EVENT_FORMAT}|{revision.epoch}|{shape}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def stored_or_rendered(
    session: Session, *, shape: str, revision: Revision | None, render: Callable[[], bytes]
) -> bytes:
    """The feed body stored for ``shape`` at ``revision``, else ``render()`` stored."""
    if revision is None:  # no revision row: nothing can be trusted to be current
        return render()
    table = calendar_feed_cache
    key = feed_body_key(revision, shape)
    stored = (
        session.connection()
        .execute(select(table.c.body).where(table.c.key == key, table.c.revision == revision.value))
        .scalar()
    )
    if stored is not None:
        return bytes(stored)
    body = render()
    save = partial(_save, key=key, revision=revision.value, body=body)
    store_derived(session, save, what="calendar feed body")
    return body


def _save(connection: Connection, *, key: str, revision: int, body: bytes) -> None:
    table = calendar_feed_cache
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(key=key, revision=revision, body=body)
    # A slower request of an older revision never replaces a newer body.
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=[table.c.key],
            set_={"revision": statement.excluded.revision, "body": statement.excluded.body},
            where=table.c.revision < statement.excluded.revision,
        )
    )
