"""Calendar feed benchmark: a feed of 10,000 meetings, and the 304 revalidation path.

Run: ``python benchmarks/bench_calendar.py [--meetings 10000] [--database URL]``
(default: a fresh SQLite file in a temporary directory).

Prints one table, with the load average before and after. "bare icalendar" builds the
same events with ``icalendar`` the plain way (``Event.new`` per event,
``add_missing_timezones()``, ``to_ical()``) as the yardstick, timed in the same run; the
other rows are what a feed costs here:

- first ever render: nothing in memory, nothing stored (every event serialised, then
  stored in ``meeting_ical_cache``);
- after a restart: nothing in memory, the stores filled. "calendar unchanged": the
  whole feed body stored at the current calendar revision is found with one lookup
  (:mod:`coordination.services.feed_store`); "one meeting changed": the revision moved,
  so the per-event path runs (entries built from the database, serialised events
  fetched by fingerprint, the changed one serialised);
- warm: the process's caches filled (the usual case);
- over HTTP: whole requests through the WSGI application (no network, no test client),
  ``200`` after a restart (calendar unchanged, and one meeting changed) and warm, the
  ``304`` revalidation (the feed's state memoised at the current calendar revision:
  one statement by primary keys), the first ``304`` after a write elsewhere in the
  calendar (the aggregate computed again), and the feed check alone
  (:func:`coordination.feeds.open_feed`).

The library renders use the host and meeting URLs the web application uses, so the
HTTP ``200`` after a restart finds what they stored.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from icalendar import Calendar, Event, vCalAddress
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from coordination.db import make_engine, upgrade_database  # noqa: E402
from coordination.feeds import (  # noqa: E402
    FEED_STATES,
    etag_for_state,
    feed_state,
    make_feed_token,
    open_feed,
)
from coordination.interop import ical  # noqa: E402
from coordination.interop.ical import render_calendar  # noqa: E402
from coordination.models import (  # noqa: E402
    Body,
    Meeting,
    MeetingParticipant,
    Organisation,
    Person,
    User,
)
from coordination.models.calendar_revision import read_revision  # noqa: E402
from coordination.models.meetings import meeting_ical_cache  # noqa: E402
from coordination.services import meetings as meeting_services  # noqa: E402
from coordination.services.accounts import create_user  # noqa: E402
from coordination.services.event_store import DatabaseEventStore  # noqa: E402
from coordination.services.feed_store import stored_or_rendered  # noqa: E402
from coordination.services.meetings import feed_entries, feed_query  # noqa: E402
from coordination.services.reference import sync_reference_data  # noqa: E402
from coordination.vocab import StakeholderType  # noqa: E402

# What create_app() uses by default, so the web feed finds what the library stored.
HOST = "coordination.local"
URL_TEMPLATE = "http://localhost/admin/calendar/meeting/{id}"
ZONES = ["Asia/Dhaka", "Asia/Phnom_Penh", "Asia/Ho_Chi_Minh", "Europe/Zurich", "Asia/Bangkok"]


def populate(session: Session, n: int) -> Body:
    sync_reference_data(session)
    body = Body(name="Benchmark taskforce", body_type="taskforce", version=1)
    session.add(body)
    session.flush()
    people = [
        {"name": f"Person {i}", "email": f"p{i}@example.org", "sex": "female", "version": 1}
        for i in range(200)
    ]
    session.execute(insert(Person), people)
    person_ids = list(session.scalars(select(Person.id)))
    start = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
    now = datetime.now(UTC)
    rows = []
    for i in range(n):
        begins = start + timedelta(hours=7 * i)
        rows.append(
            {
                "title": f"Meeting {i}: social dialogue, gender; productivity",
                "meeting_type": "taskforce",
                "description": f"Agenda item {i}\nSecond line",
                "starts_at": begins,
                "ends_at": begins + timedelta(hours=2),
                "timezone": ZONES[i % len(ZONES)],
                "all_day": False,
                "city": "Dhaka",
                "status": "confirmed",
                "body_id": body.id,
                "sequence": 0,
                "version": 1,
                "created_at": now,
                "updated_at": now,
                "rrule": "FREQ=MONTHLY;BYDAY=1TU;COUNT=12" if i % 50 == 0 else None,
            }
        )
    session.execute(insert(Meeting), rows)
    meeting_ids = list(session.scalars(select(Meeting.id)))
    seats = [
        {
            "meeting_id": mid,
            "person_id": person_ids[(mid * 7 + k) % len(person_ids)],
            "role": "participant",
            "rsvp": "accepted",
        }
        for mid in meeting_ids
        for k in range(4)
    ]
    session.execute(insert(MeetingParticipant), seats)
    return body


def bare(entries) -> bytes:
    """The same events built the plain icalendar way, without our caching."""
    events = []
    for entry in entries:
        event = Event.new(
            uid=entry.uid,
            summary=entry.summary,
            start=entry.start,
            end=entry.end,
            stamp=entry.stamp,
            sequence=entry.sequence,
            description=entry.description,
            location=entry.location,
            categories=list(entry.categories),
        )
        event.add("STATUS", entry.status)
        if entry.rrule:
            event.add("RRULE", entry.rrule)
        for attendee in entry.attendees:
            address = vCalAddress(f"mailto:{attendee.email}")
            address.params["CN"] = attendee.name or ""
            event.add("ATTENDEE", address)
        events.append(event)
    calendar = Calendar.new(prodid="-//bench//EN", subcomponents=events)
    calendar.add_missing_timezones()
    return calendar.to_ical()


def add_partner(url: str) -> str:
    """An organisation whose people are invited to every meeting, and a partner user of
    it: its feed holds all the meetings. Returns the feed's path."""
    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        organisation = Organisation(
            name="Benchmark employers",
            acronym="BENCH",
            stakeholder_type="employers_organisation",
            constituency="employers",
            iati_type=StakeholderType.EMPLOYERS_ORGANISATION.default_iati_type,
            version=1,
        )
        session.add(organisation)
        session.flush()
        session.execute(Person.__table__.update().values(organisation_id=organisation.id))
        user = create_user(
            session, "bench@example.org", "benchmark password", "partner", organisation=organisation
        )
        session.flush()
        user_id, generation = user.id, user.feed_token_generation
    engine.dispose()
    return f"{user_id}.{generation}"


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        begin = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - begin)
    return statistics.median(times), result


def restart() -> None:
    """A new process: the in-memory caches are empty (the database is not)."""
    ical.DEFAULT_CACHE.clear()
    meeting_services.ENTRY_CACHE.clear()
    FEED_STATES.clear()


def touch_one_meeting(url: str) -> None:
    """Another process edits one meeting: the calendar revision moves."""
    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        session.info["actor"] = "benchmark"
        meeting = session.scalars(select(Meeting).order_by(Meeting.id).limit(1)).one()
        meeting.description = f"{meeting.description} (edited {time.perf_counter_ns()})"
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--meetings", type=int, default=10_000)
    parser.add_argument("--database", help="database URL (default: temporary SQLite)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the slow steps")
    args = parser.parse_args()
    load_before = os.getloadavg()
    rows: list[tuple[str, float, int | None]] = []
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite:///{Path(tmp) / 'bench.sqlite'}"
        engine = make_engine(url)
        upgrade_database(engine)
        with Session(engine) as session, session.begin():
            session.execute(meeting_ical_cache.delete())
            populate(session, args.meetings)
        who = add_partner(url)
        with Session(engine) as session:
            body = session.scalars(select(Body)).one()
            query = feed_query(body=body)

            def feed() -> bytes:
                entries = feed_entries(session, query, host=HOST, url_template=URL_TEMPLATE)
                return render_calendar(entries, name="Feed", store=DatabaseEventStore(session))

            entries = feed_entries(session, query, host=HOST, url_template=URL_TEMPLATE, cache=None)
            assert len(entries) == args.meetings
            bare_s, bare_bytes = timed(lambda: bare(entries), args.repeat)
            rows.append(
                ("bare icalendar: build + add_missing_timezones + to_ical", bare_s, len(bare_bytes))
            )  # type: ignore[arg-type]
            restart()
            first_s, first = timed(feed, 1)
            rows.append(("ours, first ever render (memory and store empty)", first_s, len(first)))  # type: ignore[arg-type]
            stored = session.scalar(select(func.count()).select_from(meeting_ical_cache))
            assert stored == args.meetings, stored

            def after_restart() -> bytes:
                restart()
                return feed()

            def stored_feed() -> bytes:
                # As the web feed does: the revision read before anything rendered.
                revision = read_revision(session.connection())
                return stored_or_rendered(session, shape="bench", revision=revision, render=feed)

            def stored_after_restart() -> bytes:
                restart()
                return stored_feed()

            stored_feed()  # stores the body at this revision
            unchanged_s, again = timed(stored_after_restart, args.repeat)
            assert again == first
            rows.append(
                (
                    "ours, after a restart, calendar unchanged (stored feed body)",
                    unchanged_s,
                    len(again),
                )
            )  # type: ignore[arg-type]
            session.commit()
            changed_times = []
            for _ in range(args.repeat):
                touch_one_meeting(url)
                restart()
                begin = time.perf_counter()
                changed = stored_feed()
                changed_times.append(time.perf_counter() - begin)
                session.commit()
            rows.append(
                (
                    "ours, after a restart, one meeting changed (per-event store)",
                    statistics.median(changed_times),
                    len(changed),
                )
            )  # type: ignore[arg-type]
            first = changed
            restart_s, again = timed(after_restart, args.repeat)
            assert again == first
            rows.append(
                ("  per-event path alone (memory empty, event store filled)", restart_s, len(again))
            )  # type: ignore[arg-type]

            def entries_only() -> object:
                restart()
                return feed_entries(session, query, host=HOST, url_template=URL_TEMPLATE)

            entries_s, _ = timed(entries_only, args.repeat)
            rows.append(("  of which: build the entries from the database", entries_s, None))
            fingerprint_s, _ = timed(
                lambda: [ical.entry_fingerprint(e) for e in entries], args.repeat
            )
            rows.append(("  of which: fingerprint the entries", fingerprint_s, None))
            body_check_s, _ = timed(lambda: etag_for_state(feed_state(session, query)), 200)
            feed()
            warm_s, warm = timed(feed, 5)
            assert warm == first
            rows.append(("ours, warm (memory caches filled)", warm_s, len(warm)))  # type: ignore[arg-type]
        rows += http_rows(url, who, args.meetings)
        # A yardstick for the database side of a 304, as bare icalendar is for rendering:
        # the simplest feed's aggregate (a body's meetings: no EXISTS), unchanged code.
        rows.append(
            ("yardstick: a body feed's aggregate (feed_state + etag_for_state)", body_check_s, None)
        )
        engine.dispose()

    load_after = os.getloadavg()
    backend = make_engine(url).url.get_backend_name()
    print(f"\nCalendar feed of {args.meetings:,} meetings on {backend} (median times)")
    print(
        f"load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f},"
        f" after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}"
        f" ({os.cpu_count()} CPUs)\n"
    )
    print(f"{'step':<66} {'time':>10} {'bytes':>12}")
    print("-" * 90)
    for label, seconds, size in rows:
        shown = f"{seconds * 1000:,.1f} ms" if seconds < 10 else f"{seconds:,.1f} s"
        if seconds < 0.001:  # the memoised checks: a tenth of a millisecond hides them
            shown = f"{seconds * 1000:.3f} ms"
        print(f"{label:<66} {shown:>10} {'' if size is None else f'{size:,}':>12}")


def http_rows(url: str, who: str, n: int) -> list[tuple[str, float, int | None]]:
    """Whole requests through the WSGI application: routing, hooks, headers, teardown."""
    from werkzeug.test import EnvironBuilder

    from admin import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": url})
    user_id, generation = (int(part) for part in who.split("."))
    token = make_feed_token(
        User(id=user_id, feed_token_generation=generation), "organisation", app.config["SECRET_KEY"]
    )
    path = f"/feeds/{token}.ics"

    def call(headers: dict[str, str] | None = None) -> tuple[str, bytes, dict[str, str]]:
        environ = EnvironBuilder(path=path, headers=headers or {}).get_environ()
        found: dict[str, object] = {}

        def start_response(status: str, response_headers: list[tuple[str, str]], *_: object):
            found["status"], found["headers"] = status, dict(response_headers)

        begin = time.perf_counter()
        chunks = app(environ, start_response)
        try:
            body = b"".join(chunks)
        finally:
            getattr(chunks, "close", lambda: None)()
        found["seconds"] = time.perf_counter() - begin
        calls.append(found["seconds"])  # type: ignore[arg-type]
        return found["status"], body, found["headers"]  # type: ignore[return-value]

    calls: list[float] = []
    restart()
    status, body, headers = call()  # stores the feed body at this revision
    assert status.startswith("200") and body.count(b"BEGIN:VEVENT") >= n, status
    unchanged, changed = [], []
    for _ in range(3):
        restart()
        status, again, _ = call()
        assert status.startswith("200") and again == body
        unchanged.append(calls[-1])
        touch_one_meeting(url)
        restart()
        status, body, headers = call()
        assert status.startswith("200") and body != again
        changed.append(calls[-1])
    calls.clear()
    for _ in range(3):
        call()
    warm_s = statistics.median(calls)
    etag = headers["ETag"]
    calls.clear()
    for _ in range(20):  # let the connection pool and statement caches settle
        assert call({"If-None-Match": etag})[0].startswith("304")
    calls.clear()
    for _ in range(200):
        call({"If-None-Match": etag})
    not_modified_s = statistics.median(calls)
    recomputed = []
    for _ in range(5):  # a write elsewhere: the first 304 after it computes the state again
        bump_elsewhere(url)
        call({"If-None-Match": etag})
        recomputed.append(calls[-1])
    engine = make_engine(url)
    with Session(engine) as session:
        secret = app.config["SECRET_KEY"]
        check_s, _ = timed(lambda: etag_for_state(open_feed(session, token, secret)[1]), 200)
    engine.dispose()
    return [
        (
            "HTTP GET 200 after a restart, calendar unchanged (stored body)",
            statistics.median(unchanged),
            len(body),
        ),
        ("HTTP GET 200 after a restart, one meeting changed", statistics.median(changed), None),
        ("HTTP GET 200, warm", warm_s, None),
        (
            "HTTP GET with If-None-Match: 304 (server time, whole WSGI request)",
            not_modified_s,
            None,
        ),
        (
            "HTTP 304, first after a write elsewhere (aggregate recomputed)",
            statistics.median(recomputed),
            None,
        ),
        ("feed check alone: open_feed + etag_for_state (memo current)", check_s, None),
    ]


def bump_elsewhere(url: str) -> None:
    """A write that is not in the organisation's feed: a new person of no organisation."""
    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        session.info["actor"] = "benchmark"
        session.add(Person(name="Someone else", sex="female", version=1))
    engine.dispose()


if __name__ == "__main__":
    main()
