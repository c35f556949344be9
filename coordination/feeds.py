"""Personal calendar feeds: secret URLs and cheap revalidation.

A feed URL carries a token that names one user's person or organisation feed and is
signed with the application's secret (HMAC-SHA256). The token holds the user's
``feed_token_generation``: raising it (:func:`reset_feed_token`) makes every older
URL fail, and so does deactivating the account. A token authorises one thing only,
reading that feed; nothing here or in the web layer accepts it for anything else.

Calendar clients poll feeds every few minutes. :func:`feed_state` reduces a feed to
four numbers in one aggregate query (how many meetings, the latest change, the sums of
their versions and ids); :func:`etag_for_state` turns them into an ETag, so a 304 needs
no rendering. Any edit of a meeting bumps its ``version`` and ``updated_at``; adding or
removing a meeting changes the count; so the ETag changes whenever the feed's meetings
do.

Over a feed of thousands of meetings that aggregate still takes milliseconds, so
:func:`open_feed` keeps each feed's state in memory (:data:`FEED_STATES`) with the
calendar revision it was computed at (:mod:`coordination.models.calendar_revision`:
every write a feed depends on raises it, in any process). A revalidation reads the
token's account and the revision in one statement by primary key; only when the
revision moved is the aggregate computed again, in one statement that reads the
revision too, so a state is never labelled newer than the data it was computed from.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from functools import lru_cache
from typing import Any, Literal

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import Session

from coordination.errors import CoordinationError
from coordination.models import Meeting, User
from coordination.models.calendar_revision import Revision, revision_columns

__all__ = [
    "FEED_STATES",
    "FeedState",
    "FeedStateMemo",
    "FeedSubject",
    "FeedTokenError",
    "etag_for_state",
    "feed_etag",
    "feed_last_modified",
    "feed_state",
    "http_date",
    "is_not_modified",
    "make_feed_token",
    "open_feed",
    "read_feed_token",
    "reset_feed_token",
]

FeedKind = Literal["person", "organisation"]
_KINDS = {"person": "p", "organisation": "o"}
_TOKEN_VERSION = "1"
# Bump when the rendering changes, so that clients fetch feeds afresh after an upgrade.
RENDER_VERSION = "1"


class FeedTokenError(CoordinationError):
    """The token is malformed, forged, revoked, or its account is gone or inactive."""


@dataclass(frozen=True)
class FeedSubject:
    """Whose feed a valid token opens."""

    user_id: int
    kind: FeedKind
    person_id: int | None
    organisation_id: int | None


def _key(secret: str | bytes) -> bytes:
    # A key of its own: a signature made for feeds is useless anywhere else the
    # application's secret signs things, and the other way round.
    raw = secret.encode("utf-8") if isinstance(secret, str) else secret
    if not raw:
        raise ValueError("a non-empty secret is needed to sign feed tokens")
    return hmac.new(raw, b"coordination calendar feed token", hashlib.sha256).digest()


def _sign(payload: str, secret: str | bytes) -> str:
    digest = hmac.new(_key(secret), payload.encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def make_feed_token(user: User, kind: FeedKind, secret: str | bytes) -> str:
    """The secret part of a user's personal (``person``) or organisation feed URL.

    >>> user = User(id=7, feed_token_generation=0)
    >>> token = make_feed_token(user, "organisation", "s3cret")
    >>> token.startswith("1.o.7.0.")
    True
    """
    if kind not in _KINDS:
        raise ValueError(f"unknown feed kind {kind!r}")
    if user.id is None:
        raise ValueError("the user must be saved before a feed token is made")
    payload = f"{_TOKEN_VERSION}.{_KINDS[kind]}.{user.id}.{user.feed_token_generation or 0}"
    return f"{payload}.{_sign(payload, secret)}"


def _read_token(token: str, secret: str | bytes) -> tuple[FeedKind, int, int]:
    """(kind, user id, generation) of a token whose signature is ours; no database."""
    parts = (token or "").strip().split(".")
    if len(parts) != 5 or parts[0] != _TOKEN_VERSION:
        raise FeedTokenError("malformed feed token")
    payload, signature = ".".join(parts[:4]), parts[4]
    if not hmac.compare_digest(_sign(payload, secret), signature):
        raise FeedTokenError("feed token signature does not match")
    kinds = {v: k for k, v in _KINDS.items()}
    kind = kinds.get(parts[1])
    if kind is None or not parts[2].isdigit() or not parts[3].isdigit():
        raise FeedTokenError("malformed feed token")
    return kind, int(parts[2]), int(parts[3])  # type: ignore[return-value]


def _subject(
    kind: FeedKind,
    user_id: int,
    generation: int,
    account: tuple[bool, int | None, int | None, int | None] | None,
) -> FeedSubject:
    """The feed a checked token opens, given its account's (active, generation, person,
    organisation), or :class:`FeedTokenError`."""
    if account is None or not account[0]:
        raise FeedTokenError("the account of this feed is inactive or gone")
    _, stored_generation, person_id, organisation_id = account
    if generation != (stored_generation or 0):
        raise FeedTokenError("this feed address was reset; ask for the new one")
    if kind == "person" and person_id is None:
        raise FeedTokenError("the account is not linked to a person")
    if kind == "organisation" and organisation_id is None:
        raise FeedTokenError("the account is not linked to an organisation")
    return FeedSubject(
        user_id=user_id,
        kind=kind,
        person_id=person_id if kind == "person" else None,
        organisation_id=organisation_id if kind == "organisation" else None,
    )


def read_feed_token(session: Session, token: str, secret: str | bytes) -> FeedSubject:
    """Check a token and say whose feed it opens, or raise :class:`FeedTokenError`."""
    kind, user_id, generation = _read_token(token, secret)
    user = session.get(User, user_id)
    account = (
        (user.active, user.feed_token_generation, user.person_id, user.organisation_id)
        if user is not None
        else None
    )
    return _subject(kind, user_id, generation, account)


def open_feed(session: Session, token: str, secret: str | bytes) -> tuple[FeedSubject, FeedState]:
    """Check a token and give its feed's state: what a ``304`` costs.

    The same checks as :func:`read_feed_token` (signature first, without the database;
    then the account: present, active, same generation, linked), on every call, and the
    same :class:`FeedState` as :func:`feed_state` over the subject's ``feed_query``.

    One statement reads the account and the calendar revision by primary key. The
    feed's state comes from :data:`FEED_STATES` if it was computed at that revision;
    otherwise a second statement computes it with the revision it was computed at.
    """
    kind, user_id, generation = _read_token(token, secret)
    connection = session.connection()
    row = connection.execute(_ACCOUNT_STATEMENT, {"user_id": user_id}).first()
    account = None if row is None else (bool(row[0]), row[1], row[2], row[3])
    subject = _subject(kind, user_id, generation, account)
    assert row is not None
    subject_id = subject.person_id if kind == "person" else subject.organisation_id
    where = connection.engine.url
    if row[4] is not None:
        current = Revision(row[4], int(row[5]))
        memoised = FEED_STATES.get((where, current.epoch, kind, subject_id), current)
        if memoised is not None:
            return subject, memoised
    found = connection.execute(_feed_state_statement(kind), {"subject_id": subject_id}).one()
    epoch, value, count, last, versions, ids = found
    revision = None if epoch is None else Revision(epoch, int(value))
    state = FeedState(int(count), last, int(versions), int(ids), revision=revision)
    if revision is not None:
        FEED_STATES.put((where, revision.epoch, kind, subject_id), state)
    return subject, state


class FeedStateMemo:
    """Feeds' states by (database, epoch, kind, subject id), each valid at the calendar
    revision it was computed at; the least recently used are dropped beyond ``size``."""

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._states: OrderedDict[tuple[Any, ...], FeedState] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...], revision: Revision) -> FeedState | None:
        with self._lock:
            state = self._states.get(key)
            if state is None or state.revision != revision:
                return None
            self._states.move_to_end(key)
            return state

    def put(self, key: tuple[Any, ...], state: FeedState) -> None:
        with self._lock:
            known = self._states.get(key)
            # Never replace a state with an older one (a slower request finishing late).
            if known is not None and _newer(known.revision, state.revision):
                return
            self._states[key] = state
            self._states.move_to_end(key)
            while len(self._states) > self.size:
                self._states.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._states.clear()

    def __len__(self) -> int:
        return len(self._states)


def _newer(known: Revision | None, other: Revision | None) -> bool:
    """Whether ``known`` is a later revision of the same epoch than ``other``."""
    return (
        known is not None
        and other is not None
        and known.epoch == other.epoch
        and known.value > other.value
    )


# Feed states this process computed, shared by every request.
FEED_STATES = FeedStateMemo()


@dataclass(frozen=True)
class _Subject:
    """Stands for the person or organisation of a feed query: ``id`` is SQL."""

    id: Any


def _account_statement() -> Select[Any]:
    epoch, value = revision_columns()
    return select(
        User.active,
        User.feed_token_generation,
        User.person_id,
        User.organisation_id,
        epoch,
        value,
    ).where(User.id == bindparam("user_id"))


# Built once (a 304 should not pay for building SQL expressions).
_ACCOUNT_STATEMENT = _account_statement()


@lru_cache(maxsize=2)
def _feed_state_statement(kind: FeedKind) -> Select[Any]:
    # The aggregate of feed_query's own conditions, and the revision read in the same
    # statement (one snapshot): the state is exactly as of that revision, or newer.
    from coordination.services.meetings import feed_query

    subject = _Subject(bindparam("subject_id"))
    condition = feed_query(**{kind: subject}).whereclause  # type: ignore[arg-type]
    assert condition is not None
    aggregate = select(*_AGGREGATES).where(condition).subquery("feed")
    epoch, value = revision_columns()
    return select(epoch, value, *aggregate.c)


def reset_feed_token(session: Session, user: User) -> None:
    """Revoke every feed URL the user has handed out; new tokens work at once."""
    user.feed_token_generation = (user.feed_token_generation or 0) + 1
    session.flush()


# What a feed's ETag is made of: count, latest change, sums of versions and of ids.
_AGGREGATES = (
    func.count(Meeting.id),
    func.max(Meeting.updated_at),
    func.coalesce(func.sum(Meeting.version), 0),
    func.coalesce(func.sum(Meeting.id), 0),
)


@dataclass(frozen=True)
class FeedState:
    count: int
    last_modified: datetime | None
    version_sum: int
    id_sum: int
    # The calendar revision the state was computed at (open_feed), if known. Not part
    # of the ETag: a write elsewhere in the calendar leaves this feed's ETag alone.
    revision: Revision | None = field(default=None, compare=False)


def feed_state(session: Session, query: Select[Any]) -> FeedState:
    """A feed's validators from one aggregate query over its meeting query."""
    aggregate = query.with_only_columns(*_AGGREGATES).order_by(None)
    count, last, versions, ids = session.execute(aggregate).one()
    return FeedState(int(count), last, int(versions), int(ids))


def _state_of(meetings: Iterable[Any]) -> FeedState:
    count = versions = ids = 0
    last: datetime | None = None
    for meeting in meetings:
        count += 1
        versions += meeting.version
        ids += meeting.id
        if last is None or meeting.updated_at > last:
            last = meeting.updated_at
    return FeedState(count, last, versions, ids)


def etag_for_state(state: FeedState, *, salt: str = "") -> str:
    """A strong ETag (quoted) for a feed state; ``salt`` holds render options.

    >>> etag_for_state(FeedState(0, None, 0, 0)) == etag_for_state(FeedState(0, None, 0, 0))
    True
    """
    last = state.last_modified.isoformat() if state.last_modified else "-"
    key = f"{RENDER_VERSION}|{salt}|{state.count}|{last}|{state.version_sum}|{state.id_sum}"
    return '"' + hashlib.sha256(key.encode("utf-8")).hexdigest()[:32] + '"'


def feed_etag(meetings: Iterable[Any], *, salt: str = "") -> str:
    """The ETag of a feed of these meetings (anything with ``id``, ``version`` and
    ``updated_at``): the same value :func:`feed_state` gives for them in the database."""
    return etag_for_state(_state_of(meetings), salt=salt)


def feed_last_modified(meetings: Iterable[Any]) -> datetime | None:
    return _state_of(meetings).last_modified


def http_date(value: datetime) -> str:
    """An HTTP-date (``Last-Modified``) in GMT, to the second."""
    return format_datetime(value.replace(microsecond=0), usegmt=True)


def is_not_modified(
    *,
    etag: str,
    last_modified: datetime | None,
    if_none_match: str | None,
    if_modified_since: str | None,
) -> bool:
    """Whether a conditional GET may be answered 304 (RFC 9110 section 13.2.2).

    If-None-Match wins when present; If-Modified-Since is compared to the second.

    >>> is_not_modified(etag='"a"', last_modified=None, if_none_match='W/"a", "b"',
    ...                 if_modified_since=None)
    True
    """
    if if_none_match is not None:
        if if_none_match.strip() == "*":
            return True
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return etag in tags
    if if_modified_since and last_modified is not None:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            return False
        return last_modified.replace(microsecond=0) <= since
    return False
