"""Calendars over HTTP: personal subscription feeds and logged-in downloads.

Two kinds of route serve iCalendar here:

- ``/feeds/<token>.ics``: a person's or an organisation's feed at a secret URL. It is a
  plain ``GET`` without login, so that Google Calendar, Outlook and Thunderbird can
  subscribe. The token (:mod:`coordination.feeds`) opens that one feed and nothing else:
  this route does not use the login session and never sets a cookie, and no other
  route looks at tokens at all.
- ``/admin/calendar/...ics`` (in :mod:`admin.views.calendar`): one meeting, a body, or
  the whole calendar, for someone logged in.

Both answer conditional requests: the ETag and Last-Modified come from one aggregate
query (:func:`coordination.feeds.feed_state`), so a client polling every few minutes
gets a ``304`` without anything being loaded or rendered. For a feed URL that one
statement checks the token's account too (:func:`coordination.feeds.open_feed`), and
the request skips what only logged-in pages need (login, session; see
:mod:`admin.security`).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from typing import Any

from flask import Blueprint, Flask, abort, current_app, request, url_for
from flask_admin import Admin
from sqlalchemy import Select
from werkzeug.wrappers import Response

from admin.extensions import csrf, db
from coordination.feeds import (
    RENDER_VERSION,
    FeedState,
    FeedSubject,
    FeedTokenError,
    etag_for_state,
    feed_state,
    http_date,
    is_not_modified,
    make_feed_token,
    open_feed,
)
from coordination.interop.ical import CalendarEntry, render_calendar
from coordination.models import Organisation, Person, User
from coordination.services.event_store import DatabaseEventStore
from coordination.services.feed_store import stored_or_rendered
from coordination.services.meetings import feed_entries, feed_query

__all__ = [
    "blueprint",
    "calendar_host",
    "calendar_response",
    "feed_url",
    "meeting_url_template",
    "register",
]

blueprint = Blueprint("feeds", __name__)

ICAL_MIMETYPE = "text/calendar; charset=utf-8"
_TOKEN_SHAPE = re.compile(r"^[0-9a-z]+\.[a-z]\.\d{1,18}\.\d{1,18}\.[A-Za-z0-9_-]{1,100}$")
# Large enough to stand for any id, unlikely to appear elsewhere in a URL.
_ID_PLACEHOLDER = 987654321987


def calendar_host() -> str:
    """The domain in our UIDs (``meeting-ID@HOST``): ``COORDINATION_CALENDAR_HOST``, as
    the CLI uses, so that a downloaded file and a CLI export name meetings alike."""
    return str(current_app.config.get("CALENDAR_HOST") or "coordination.local")


def meeting_url_template() -> str:
    """The absolute URL of a meeting's page with ``{id}`` for its id (each event's URL)."""
    url = url_for("calendar.meeting", meeting_id=_ID_PLACEHOLDER, _external=True)
    return url.replace(str(_ID_PLACEHOLDER), "{id}")


def feed_url(user: User, kind: str, *, scheme: str | None = None) -> str:
    """The secret subscription URL of a user's person or organisation feed."""
    token = make_feed_token(user, kind, current_app.config["SECRET_KEY"])  # type: ignore[arg-type]
    url = url_for("feeds.feed", token=token, _external=True)
    if scheme is not None:
        url = scheme + ":" + url.split(":", 1)[1]
    return url


def calendar_response(
    query: Select[Any] | Callable[[], Select[Any]],
    *,
    name: str | Callable[[], str],
    filename: str,
    salt: str,
    attachment: bool,
    transform: Callable[[Sequence[CalendarEntry]], Sequence[CalendarEntry]] | None = None,
    state: FeedState | None = None,
    store_whole: bool = False,
) -> Response:
    """A calendar of the query's meetings, or ``304 Not Modified``.

    ``salt`` names everything besides the meetings that shapes the bytes (whose feed,
    which render options), so two different feeds never share an ETag. ``name`` may be
    a function, called only when the calendar is rendered; so may ``query``, called only
    when needed (not for a ``304`` when the caller gives ``state``, the query's
    :func:`~coordination.feeds.feed_state`).

    With ``store_whole`` and a ``state`` that knows its calendar revision (from
    :func:`~coordination.feeds.open_feed`), the whole body is kept in the database by
    revision (:mod:`coordination.services.feed_store`): after a restart an unchanged
    calendar is served with one lookup.
    """

    def meetings() -> Select[Any]:
        return query if isinstance(query, Select) else query()

    host, template = calendar_host(), meeting_url_template()
    if state is None:
        state = feed_state(db.session, meetings())
    etag = etag_for_state(state, salt=f"{salt}|{host}|{template}")
    last_modified = state.last_modified
    headers = {
        "ETag": etag,
        "Cache-Control": "private, no-cache",
        "X-Content-Type-Options": "nosniff",
    }
    if last_modified is not None:
        headers["Last-Modified"] = http_date(last_modified)
    if is_not_modified(
        etag=etag,
        last_modified=last_modified,
        if_none_match=request.headers.get("If-None-Match"),
        if_modified_since=request.headers.get("If-Modified-Since"),
    ):
        return Response(status=304, headers=headers)

    def render() -> bytes:
        entries: Sequence[CalendarEntry] = feed_entries(
            db.session, meetings(), host=host, url_template=template
        )
        if transform is not None:
            entries = transform(entries)
        return render_calendar(
            entries,
            name=name if isinstance(name, str) else name(),
            store=DatabaseEventStore(db.session),
        )

    if store_whole and transform is None:
        # The state's revision was read before anything the body is made of; the name
        # (a person's or organisation's) is covered by the revision too.
        data = stored_or_rendered(
            db.session,
            shape=f"{RENDER_VERSION}|{salt}|{host}|{template}",
            revision=state.revision,
            render=render,
        )
    else:
        data = render()
    disposition = "attachment" if attachment else "inline"
    headers["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    return Response(data, status=200, headers=headers, content_type=ICAL_MIMETYPE)


def without_attendees(entries: Sequence[CalendarEntry]) -> list[CalendarEntry]:
    """Entries with no ATTENDEE and no ORGANIZER: e-mail addresses are contacts, which
    partners and donors may read only for their own organisation."""
    return [dataclasses.replace(e, attendees=(), organizer=None) for e in entries]


def _refusal(token: str) -> Response:
    """404 for a token we never issued; 410 Gone for one we did that no longer works
    (reset, or the account deactivated), which tells clients to stop polling."""
    status = 404
    parts = token.split(".")
    if _TOKEN_SHAPE.match(token):
        kind = {"p": "person", "o": "organisation"}.get(parts[1])
        if kind is not None:
            issued = User(id=int(parts[2]), feed_token_generation=int(parts[3]))
            secret = current_app.config["SECRET_KEY"]
            if make_feed_token(issued, kind, secret) == token:  # type: ignore[arg-type]
                status = 410
    response = Response(
        "This calendar address does not work (any more). Ask for your current one.\n",
        status=status,
        content_type="text/plain; charset=utf-8",
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.get("/feeds/<token>.ics")
def feed(token: str) -> Response:
    """A personal feed: no login, no session, only the token."""
    if len(token) > 200:
        abort(404)
    try:
        # The token's account and the feed's state in one statement (a 304 needs no more).
        subject, state = open_feed(db.session, token, current_app.config["SECRET_KEY"])
    except FeedTokenError:
        return _refusal(token)
    response = _subject_feed(subject, state)
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _subject_feed(subject: FeedSubject, state: FeedState) -> Response:
    if subject.kind == "person":
        assert subject.person_id is not None
        salt, subject_id = "person-feed", subject.person_id
    else:
        assert subject.organisation_id is not None
        salt, subject_id = "organisation-feed", subject.organisation_id

    def query() -> Select[Any]:
        # Built only to render: a 304 has its state from open_feed already.
        return feed_query(**{subject.kind: _Ref(subject_id)})  # type: ignore[arg-type]

    def name() -> str:
        # Looked up only when the feed is rendered, so a 304 costs no extra query. The
        # ETag names the subject by id: a renamed person or organisation shows with the
        # next change to one of its meetings (docs/calendars.md).
        found: Person | Organisation | None = (
            db.session.get(Person, subject_id)
            if subject.kind == "person"
            else db.session.get(Organisation, subject_id)
        )
        return f"Meetings: {found.name}" if found is not None else "Meetings"

    return calendar_response(
        query,
        name=name,
        filename="meetings.ics",
        salt=f"{salt}|{subject_id}",
        attachment=False,
        state=state,
        store_whole=True,
    )


@dataclasses.dataclass(frozen=True)
class _Ref:
    """Stands for a person or organisation where only its id is used (feed_query)."""

    id: int


def register(admin: Admin) -> None:
    """Attach the public feed routes to the admin's application."""
    app: Flask = admin.app  # type: ignore[assignment]
    app.register_blueprint(blueprint)
    csrf.exempt(blueprint)  # GET only; nothing here accepts a form
    _drop_async_teardown(app)


def _drop_async_teardown(app: Flask) -> None:
    """Remove Flask-SQLAlchemy-Lite's teardown for async sessions, which this app never
    opens. Flask runs an async teardown through asgiref, which starts an event loop for
    it after every request: about 2 ms on a quiet machine and 10 ms on a busy one, more
    than all the rest of a 304 revalidation. The sync sessions' teardown stays."""
    funcs = app.teardown_appcontext_funcs
    funcs[:] = [f for f in funcs if getattr(f, "__name__", "") != "_close_async_sessions"]
