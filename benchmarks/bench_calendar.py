"""Calendar feed benchmark: a feed of 10,000 meetings, and the 304 revalidation path.

Run: ``python benchmarks/bench_calendar.py [--meetings 10000] [--database URL]``
(default: a fresh SQLite file in a temporary directory).

Prints one table. "bare icalendar" builds the same events with ``icalendar`` the plain
way (``Event.new`` per event, ``add_missing_timezones()``, ``to_ical()``) as the
yardstick; the other rows are what a feed request costs here.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from icalendar import Calendar, Event, vCalAddress
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from coordination.db import make_engine, upgrade_database  # noqa: E402
from coordination.feeds import etag_for_state, feed_etag, feed_state  # noqa: E402
from coordination.interop.ical import EventCache, render_calendar  # noqa: E402
from coordination.models import Body, Meeting, MeetingParticipant, Person  # noqa: E402
from coordination.services.meetings import feed_entries, feed_query  # noqa: E402
from coordination.services.reference import sync_reference_data  # noqa: E402

HOST = "bench.example.org"
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


def http_revalidation(url: str, n: int) -> tuple[float, float]:
    """Server time of a subscription feed over HTTP: the whole Flask request, token
    check included, through the WSGI test client (no network). The organisation's
    people are invited to every meeting, so its feed holds all ``n`` of them."""
    from admin import create_app
    from coordination.feeds import make_feed_token
    from coordination.models import Organisation
    from coordination.services.accounts import create_user
    from coordination.vocab import StakeholderType

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
    app = create_app({"TESTING": True, "DATABASE_URL": url})
    from coordination.models import User

    token = make_feed_token(
        User(id=user_id, feed_token_generation=generation), "organisation", app.config["SECRET_KEY"]
    )
    client = app.test_client()
    path = f"/feeds/{token}.ics"
    first = client.get(path)
    assert first.status_code == 200 and first.data.count(b"BEGIN:VEVENT") >= n, first.status
    etag = first.headers["ETag"]
    full_s, _ = timed(lambda: client.get(path), 3)

    def revalidate() -> None:
        response = client.get(path, headers={"If-None-Match": etag})
        assert response.status_code == 304

    not_modified_s, _ = timed(revalidate, 200)
    return full_s, not_modified_s


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        begin = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - begin)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--meetings", type=int, default=10_000)
    parser.add_argument("--database", help="database URL (default: temporary SQLite)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite:///{Path(tmp) / 'bench.sqlite'}"
        engine = make_engine(url)
        upgrade_database(engine)
        with Session(engine) as session, session.begin():
            populate(session, args.meetings)
        with Session(engine) as session:
            body = session.scalars(select(Body)).one()
            query = feed_query(body=body)
            load_s, entries = timed(lambda: feed_entries(session, query, host=HOST, cache=None), 3)
            assert isinstance(entries, list) and len(entries) == args.meetings
            bare_s, bare_bytes = timed(lambda: bare(entries), 3)
            cold_s, cold = timed(
                lambda: render_calendar(entries, name="Feed", cache=EventCache()), 3
            )
            cache = EventCache()
            render_calendar(entries, name="Feed", cache=cache)
            warm_s, warm = timed(lambda: render_calendar(entries, name="Feed", cache=cache), 5)
            assert warm == cold
            changed = list(entries)
            for i in range(0, len(changed), 100):  # 1% of the meetings were edited
                changed[i] = changed[i].__class__(
                    **{**changed[i].__dict__, "sequence": changed[i].sequence + 1}
                )
            edit_s, _ = timed(lambda: render_calendar(changed, name="Feed", cache=cache), 1)

            entry_cache, event_cache = EventCache(), EventCache()

            def full_request() -> bytes:
                session.expire_all()
                found = feed_entries(session, query, host=HOST, cache=entry_cache)
                return render_calendar(found, name="Feed", cache=event_cache)

            cold_request_s, _ = timed(full_request, 1)  # first request after a restart
            request_s, _ = timed(full_request, 5)
            etag_s, _ = timed(lambda: etag_for_state(feed_state(session, query)), 200)
            rows = session.execute(
                query.with_only_columns(Meeting.id, Meeting.version, Meeting.updated_at)
            ).all()
            loaded_etag_s, _ = timed(lambda: feed_etag(rows), 50)
        http_200_s, http_304_s = http_revalidation(url, args.meetings)
        engine.dispose()

    n = args.meetings
    table = [
        ("bare icalendar: build + add_missing_timezones + to_ical", bare_s, len(bare_bytes)),
        ("ours, cold cache: render_calendar (every event serialised)", cold_s, len(cold)),
        ("ours, warm cache: render_calendar (feed unchanged)", warm_s, len(warm)),
        ("ours, 1% of meetings edited since the last render", edit_s, None),
        ("load all entries from the database (feed_entries, no cache)", load_s, None),
        ("full 200 response after a restart: load + serialise all", cold_request_s, None),
        ("full 200 response, warm: version check + render", request_s, None),
        ("304 path: feed_state (1 aggregate query) + etag_for_state", etag_s, None),
        ("ETag from already loaded rows (feed_etag)", loaded_etag_s, None),
        ("HTTP GET of an organisation feed, 200 (warm)", http_200_s, None),
        ("HTTP GET with If-None-Match, 304 (server time)", http_304_s, None),
    ]
    backend = make_engine(url).url.get_backend_name()
    print(f"\nCalendar feed of {n:,} meetings on {backend} (median times)\n")
    print(f"{'step':<62} {'time':>10} {'bytes':>12}")
    print("-" * 86)
    for label, seconds, size in table:
        shown = f"{seconds * 1000:,.1f} ms" if seconds < 10 else f"{seconds:,.1f} s"
        print(f"{label:<62} {shown:>10} {'' if size is None else f'{size:,}':>12}")


if __name__ == "__main__":
    main()
