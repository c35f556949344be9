"""Personal calendar feeds: secret URLs and cheap revalidation.

A feed URL carries a token that names one user's person or organisation feed and is
signed with the application's secret (HMAC-SHA256). The token holds the user's
``feed_token_generation``: raising it (:func:`reset_feed_token`) makes every older
URL fail, and so does deactivating the account. A token authorises one thing only,
reading that feed; nothing here or in the web layer accepts it for anything else.

Calendar clients poll feeds every few minutes. :func:`feed_state` reduces a feed to
four numbers in one aggregate query (how many meetings, the latest change, the sums of
their versions and ids); :func:`etag_for_state` turns them into an ETag, so a 304 costs
one small query and no rendering. Any edit of a meeting bumps its ``version`` and
``updated_at``; adding or removing a meeting changes the count; so the ETag changes
whenever the feed's meetings do.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from functools import lru_cache
from typing import Any, Literal

from sqlalchemy import Select, bindparam, func, select, true
from sqlalchemy.orm import Session, aliased

from coordination.errors import CoordinationError
from coordination.models import Meeting, User

__all__ = [
    "FeedState",
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
    """Check a token and give its feed's state, in one statement: what a ``304`` costs.

    The same checks as :func:`read_feed_token` (signature first, without the database;
    then the account: present, active, same generation, linked), and the same
    :class:`FeedState` as :func:`feed_state` over the subject's ``feed_query``. The
    account row and the aggregate over its meetings come back together; the meetings
    are joined only while the account is active and the token's generation current.
    """
    kind, user_id, generation = _read_token(token, secret)
    row = (
        session.connection()
        .execute(_open_feed_statement(kind), {"user_id": user_id, "generation": generation})
        .first()
    )
    account = None if row is None else (bool(row[0]), row[1], row[2], row[3])
    subject = _subject(kind, user_id, generation, account)
    assert row is not None
    count, last, versions, ids = row[4:]
    return subject, FeedState(int(count), last, int(versions), int(ids))


@dataclass(frozen=True)
class _Subject:
    """Stands for the person or organisation of a feed query: ``id`` is SQL."""

    id: Any


@lru_cache(maxsize=2)
def _open_feed_statement(kind: FeedKind) -> Select[Any]:
    # Built once per kind (a 304 should not pay for building SQL expressions). The
    # feed's conditions are feed_query's own, with the subject's id read from the
    # account in an uncorrelated subquery: the database evaluates it once, and it is
    # NULL (no meetings) unless the account is active and the generation current.
    from coordination.services.meetings import feed_query

    holder = aliased(User)
    subject_id = (
        select(holder.person_id if kind == "person" else holder.organisation_id)
        .where(
            holder.id == bindparam("user_id"),
            holder.active.is_(True),
            func.coalesce(holder.feed_token_generation, 0) == bindparam("generation"),
        )
        .scalar_subquery()
    )
    condition = feed_query(**{kind: _Subject(subject_id)}).whereclause  # type: ignore[arg-type]
    assert condition is not None
    aggregate = select(*_AGGREGATES).where(condition).subquery("feed")
    return (
        select(
            User.active,
            User.feed_token_generation,
            User.person_id,
            User.organisation_id,
            *aggregate.c,
        )
        .join_from(User, aggregate, true())
        .where(User.id == bindparam("user_id"))
    )


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
