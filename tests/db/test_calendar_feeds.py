"""Calendar feeds: exactly the right meetings, signed revocable tokens, cheap revalidation."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events
from sqlalchemy import event, select

from coordination.feeds import (
    FeedTokenError,
    etag_for_state,
    feed_etag,
    feed_last_modified,
    feed_state,
    http_date,
    is_not_modified,
    make_feed_token,
    open_feed,
    read_feed_token,
    reset_feed_token,
)
from coordination.interop import ical
from coordination.models import Meeting, User
from coordination.models.meetings import meeting_ical_cache
from coordination.services import meetings as svc
from coordination.services.accounts import create_user
from tests import factories

HOST = "calendar.test"
SECRET = "test-secret-key"


def _partner(session, organisation, person):
    user = create_user(
        session, person.email, "long enough pw", "partner", organisation=organisation
    )
    user.person = person
    session.flush()
    return user


def _events(data: bytes):
    return icalendar.Calendar.from_ical(data).events


def test_personal_feed_has_exactly_their_meetings_in_correct_local_times(session):
    organisation = factories.create_organisation(session, acronym="BGMEA")
    partner = factories.create_person(session, organisation=organisation)
    colleague = factories.create_person(session, organisation=organisation)
    stranger = factories.create_person(session)
    dhaka = factories.create_meeting(
        session, title="Dhaka", start=datetime(2026, 3, 3, 10), end=datetime(2026, 3, 3, 12)
    )
    svc.invite(session, dhaka, person=partner)
    factories.create_meeting(
        session,
        title="Geneva webinars",
        timezone="Europe/Zurich",
        start=datetime(2026, 3, 19, 10),
        end=datetime(2026, 3, 19, 11),
        rrule="FREQ=WEEKLY;COUNT=3",
        organiser_person=partner,
    )
    colleagues = factories.create_meeting(session, title="Colleague's")
    svc.invite(session, colleagues, person=colleague)
    as_organisation = factories.create_meeting(session, title="Organisation seat")
    svc.invite(session, as_organisation, organisation=organisation)
    others = factories.create_meeting(session, title="Not theirs")
    svc.invite(session, others, person=stranger)
    session.commit()

    mine = svc.calendar_for(session, host=HOST, person=partner)
    assert sorted(str(e["SUMMARY"]) for e in _events(mine)) == ["Dhaka", "Geneva webinars"]
    theirs = svc.calendar_for(session, host=HOST, organisation=organisation)
    assert sorted(str(e["SUMMARY"]) for e in _events(theirs)) == [
        "Colleague's",
        "Dhaka",
        "Geneva webinars",
        "Organisation seat",
    ]
    # Local times survive the European switch to summer time on 29 March 2026.
    calendar = icalendar.Calendar.from_ical(mine)
    webinars = [
        e
        for e in recurring_ical_events.of(calendar).between(date(2026, 3, 1), date(2026, 4, 30))
        if str(e["SUMMARY"]) == "Geneva webinars"
    ]
    assert [e.start.astimezone(ZoneInfo("Europe/Zurich")).hour for e in webinars] == [10] * 3
    assert [e.start.astimezone(UTC).hour for e in webinars] == [9, 9, 8]
    (dhaka_event,) = [e for e in _events(mine) if str(e["SUMMARY"]) == "Dhaka"]
    assert dhaka_event.start == datetime(2026, 3, 3, 4, tzinfo=UTC)


def test_uid_is_stable_and_sequence_rises_on_edit(session):
    meeting = factories.create_meeting(session)
    session.commit()
    first = svc.calendar_for(session, host=HOST, meeting=meeting)
    assert svc.calendar_for(session, host=HOST, meeting=meeting) == first
    svc.update_meeting(session, meeting, title="Moved to the afternoon")
    session.commit()
    second = svc.calendar_for(session, host=HOST, meeting=meeting)
    (before,), (after,) = _events(first), _events(second)
    assert before["UID"] == after["UID"] == f"meeting-{meeting.id}@{HOST}"
    assert (before["SEQUENCE"], after["SEQUENCE"]) == (0, 1)
    assert after.last_modified >= before.last_modified


def test_body_feed_and_whole_calendar(session):
    body = factories.create_body(session, name="Regional Gender Taskforce")
    factories.create_meeting(session, title="Taskforce", body=body)
    factories.create_meeting(session, title="Other")
    session.commit()
    assert [
        str(e["SUMMARY"]) for e in _events(svc.calendar_for(session, host=HOST, body=body))
    ] == ["Taskforce"]
    assert len(_events(svc.calendar_for(session, host=HOST))) == 2


def test_feed_loads_in_a_fixed_number_of_queries(session, engine):
    body = factories.create_body(session)
    for _ in range(3):
        meeting = factories.create_meeting(session, body=body)
        svc.invite(session, meeting, person=factories.create_person(session))
        svc.invite(session, meeting, organisation=factories.create_organisation(session))
    session.commit()

    def count() -> int:
        statements: list[str] = []

        def record(*args):
            statements.append(args[2])

        event.listen(engine, "before_cursor_execute", record)
        try:
            session.expire_all()
            svc.feed_entries(session, svc.feed_query(body=body), host=HOST)
        finally:
            event.remove(engine, "before_cursor_execute", record)
        return len(statements)

    few = count()
    for _ in range(5):
        meeting = factories.create_meeting(session, body=body)
        svc.invite(session, meeting, person=factories.create_person(session))
    session.commit()
    assert count() == few <= 10


# -- tokens -------------------------------------------------------------------------------


def test_token_opens_exactly_one_feed_and_survives_nothing_else(session):
    organisation = factories.create_organisation(session)
    user = _partner(session, organisation, factories.create_person(session))
    session.commit()
    person_token = make_feed_token(user, "person", SECRET)
    subject = read_feed_token(session, person_token, SECRET)
    assert (subject.kind, subject.person_id, subject.organisation_id) == (
        "person",
        user.person_id,
        None,
    )
    org_subject = read_feed_token(session, make_feed_token(user, "organisation", SECRET), SECRET)
    assert (org_subject.kind, org_subject.organisation_id) == ("organisation", organisation.id)

    payload, signature = person_token.rsplit(".", 1)
    forged = payload.replace(f".{user.id}.", f".{user.id + 1}.") + "." + signature
    for bad in (
        forged,
        person_token.replace(".p.", ".o."),
        person_token[:-2],
        "",
        "1.p.x.0.abc",
    ):
        with pytest.raises(FeedTokenError):
            read_feed_token(session, bad, SECRET)
    with pytest.raises(FeedTokenError, match="signature"):
        read_feed_token(session, person_token, "another secret")


def test_reset_or_deactivation_revokes_old_urls(session):
    user = _partner(
        session, factories.create_organisation(session), factories.create_person(session)
    )
    session.commit()
    old = make_feed_token(user, "person", SECRET)
    reset_feed_token(session, user)
    session.commit()
    with pytest.raises(FeedTokenError, match="reset"):
        read_feed_token(session, old, SECRET)
    new = make_feed_token(user, "person", SECRET)
    assert read_feed_token(session, new, SECRET).user_id == user.id
    user.active = False
    session.commit()
    with pytest.raises(FeedTokenError, match="inactive"):
        read_feed_token(session, new, SECRET)


def test_token_needs_a_linked_person_or_organisation(session):
    user = create_user(session, "manager@example.org", "long enough pw", "manager")
    session.commit()
    for kind in ("person", "organisation"):
        with pytest.raises(FeedTokenError, match="not linked"):
            read_feed_token(session, make_feed_token(user, kind, SECRET), SECRET)
    with pytest.raises(ValueError):
        make_feed_token(user, "admin", SECRET)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        make_feed_token(user, "person", "")
    assert session.get(User, user.id).feed_token_generation == 0


# -- revalidation ---------------------------------------------------------------------------


def test_etag_from_the_database_matches_the_one_from_loaded_meetings(session):
    body = factories.create_body(session)
    for _ in range(3):
        factories.create_meeting(session, body=body)
    session.commit()
    query = svc.feed_query(body=body)
    meetings = list(session.scalars(query))
    state = feed_state(session, query)
    assert state.count == 3
    assert etag_for_state(state) == feed_etag(meetings)
    assert state.last_modified == feed_last_modified(meetings)
    assert etag_for_state(state, salt="reminder=30") != etag_for_state(state)


def test_etag_changes_with_every_change_to_the_feed(session):
    person = factories.create_person(session)
    meeting = factories.create_meeting(session)
    svc.invite(session, meeting, person=person)
    other = factories.create_meeting(session)
    session.commit()
    query = svc.feed_query(person=person)
    tags = [etag_for_state(feed_state(session, query))]

    def changed() -> bool:
        session.commit()
        tags.append(etag_for_state(feed_state(session, query)))
        return tags[-1] != tags[-2]

    assert not changed()  # nothing happened
    svc.update_meeting(session, meeting, title="New title")
    assert changed()
    svc.record_rsvp(session, meeting.participants[0], "declined")
    assert changed()
    svc.invite(session, other, person=person)  # a meeting joins the feed
    assert changed()
    session.delete(other)  # and leaves it
    assert changed()
    assert tags[-1] == tags[-3]  # the same meetings in the same versions: the same feed
    svc.invite(session, meeting, person=factories.create_person(session))
    assert changed()  # another attendee appears in the event


def test_conditional_get_rules():
    now = datetime(2026, 3, 3, 10, 0, 0, 500, tzinfo=UTC)
    stamp = http_date(now)
    assert stamp == "Tue, 03 Mar 2026 10:00:00 GMT"
    tag = '"abc"'
    assert is_not_modified(etag=tag, last_modified=now, if_none_match=tag, if_modified_since=None)
    assert is_not_modified(etag=tag, last_modified=now, if_none_match="*", if_modified_since=None)
    assert not is_not_modified(
        etag=tag, last_modified=now, if_none_match='"old"', if_modified_since=stamp
    )  # If-None-Match wins over a matching date
    assert is_not_modified(etag=tag, last_modified=now, if_none_match=None, if_modified_since=stamp)
    later = now + timedelta(seconds=1)
    assert not is_not_modified(
        etag=tag, last_modified=later, if_none_match=None, if_modified_since=stamp
    )
    assert not is_not_modified(
        etag=tag, last_modified=now, if_none_match=None, if_modified_since="yesterday"
    )


def test_feed_ids_come_from_the_database_not_the_request(session):
    # A token names a user; the meetings always come from that user's own person.
    organisation = factories.create_organisation(session)
    user = _partner(session, organisation, factories.create_person(session))
    meeting = factories.create_meeting(session)
    session.commit()
    subject = read_feed_token(session, make_feed_token(user, "person", SECRET), SECRET)
    person = session.get(User, subject.user_id).person
    assert list(session.scalars(svc.feed_query(person=person))) == []
    svc.invite(session, meeting, person=person)
    session.commit()
    assert list(session.scalars(svc.feed_query(person=person).with_only_columns(Meeting.id))) == [
        meeting.id
    ]
    assert session.scalars(select(Meeting)).all() == [meeting]


def test_entry_cache_reloads_only_changed_meetings(session, monkeypatch):
    from coordination.interop.ical import EventCache

    body = factories.create_body(session)
    meetings = [factories.create_meeting(session, body=body) for _ in range(4)]
    session.commit()
    loaded: list[int] = []
    real = svc._load_entries

    def spy(session, query, *args):
        found = real(session, query, *args)
        loaded.extend(found)
        return found

    monkeypatch.setattr(svc, "_load_entries", spy)
    cache = EventCache()
    first = svc.feed_entries(session, svc.feed_query(body=body), host=HOST, cache=cache)
    assert sorted(loaded) == sorted(m.id for m in meetings)
    loaded.clear()
    svc.update_meeting(session, meetings[2], title="Changed")
    session.commit()
    second = svc.feed_entries(session, svc.feed_query(body=body), host=HOST, cache=cache)
    assert loaded == [meetings[2].id]
    assert [e.summary for e in second] == [
        "Changed" if e.uid.startswith(f"meeting-{meetings[2].id}@") else e.summary for e in first
    ]
    assert second == svc.feed_entries(session, svc.feed_query(body=body), host=HOST, cache=None)


def test_demo_series_with_exceptions_expands_to_the_same_dates_everywhere(session):
    import io
    from pathlib import Path

    import vobject
    import yaml

    from coordination.models import Body

    data = Path(__file__).parents[2] / "fixtures" / "demo" / "meetings.yaml"
    svc.load_meetings(session, yaml.safe_load(data.read_text(encoding="utf-8"))["calendar"])
    session.commit()
    body = session.scalars(
        select(Body).where(Body.name == "Regional Gender Taskforce for the Garment Sector")
    ).one()
    (series,) = session.scalars(svc.feed_query(body=body)).all()
    window = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC))
    ours = [o.starts_at for o in svc.occurrences(series, *window)]
    feed = svc.calendar_for(session, host=HOST, body=body)

    expanded = recurring_ical_events.of(icalendar.Calendar.from_ical(feed)).between(*window)
    theirs = sorted(e.start.astimezone(UTC) for e in expanded)

    parsed = vobject.readOne(io.StringIO(feed.decode("utf-8")))
    master = next(e for e in parsed.vevent_list if not hasattr(e, "recurrence_id"))
    moved = {
        e.recurrence_id.value: e.dtstart.value
        for e in parsed.vevent_list
        if hasattr(e, "recurrence_id")
    }
    independent = sorted(moved.get(d, d).astimezone(UTC) for d in master.getrruleset())

    assert ours == theirs == independent
    assert len(ours) == 13  # fourteen first Tuesdays, one cancelled
    bangkok = ZoneInfo("Asia/Bangkok")
    local = [d.astimezone(bangkok) for d in ours]
    assert date(2026, 8, 4) not in [d.date() for d in local]  # cancelled
    assert datetime(2026, 9, 3, 15, tzinfo=bangkok) in local  # moved from 1 September
    assert all(d.hour == 14 for d in local if d.date() != date(2026, 9, 3))


# -- one statement for a feed URL ----------------------------------------------------------


def test_open_feed_checks_like_read_feed_token_and_gives_feed_state(session):
    organisation = factories.create_organisation(session)
    person = factories.create_person(session, organisation=organisation)
    user = _partner(session, organisation, person)
    colleague = factories.create_person(session, organisation=organisation)
    mine = factories.create_meeting(session)
    svc.invite(session, mine, person=person)
    factories.create_meeting(session, organiser_person=colleague)
    seat = factories.create_meeting(session)
    svc.invite(session, seat, organisation=organisation)
    factories.create_meeting(session, title="Not theirs")
    session.commit()
    for kind, query in (
        ("person", svc.feed_query(person=person)),
        ("organisation", svc.feed_query(organisation=organisation)),
    ):
        token = make_feed_token(user, kind, SECRET)
        subject, state = open_feed(session, token, SECRET)
        assert subject == read_feed_token(session, token, SECRET)
        assert state == feed_state(session, query)
    assert open_feed(session, make_feed_token(user, "person", SECRET), SECRET)[1].count == 1
    assert open_feed(session, make_feed_token(user, "organisation", SECRET), SECRET)[1].count == 3

    old = make_feed_token(user, "person", SECRET)
    reset_feed_token(session, user)
    session.commit()
    with pytest.raises(FeedTokenError, match="reset"):
        open_feed(session, old, SECRET)
    user.active = False
    session.commit()
    with pytest.raises(FeedTokenError, match="inactive"):
        open_feed(session, make_feed_token(user, "person", SECRET), SECRET)
    with pytest.raises(FeedTokenError, match="signature"):
        open_feed(session, old, "another secret")
    gone = User(id=user.id + 1000, feed_token_generation=0)
    with pytest.raises(FeedTokenError, match="gone"):
        open_feed(session, make_feed_token(gone, "person", SECRET), SECRET)
    manager = create_user(session, "manager@example.org", "long enough pw", "manager")
    session.commit()
    with pytest.raises(FeedTokenError, match="not linked"):
        open_feed(session, make_feed_token(manager, "organisation", SECRET), SECRET)


# -- serialised events kept in the database ------------------------------------------------


def _restart() -> None:
    """What a new process starts with: empty caches in memory (the database stays)."""
    ical.DEFAULT_CACHE.clear()
    svc.ENTRY_CACHE.clear()


class _Serialisations:
    """Counts VEVENT serialisations by icalendar."""

    def __init__(self, monkeypatch) -> None:
        self.count = 0
        real = icalendar.Event.to_ical

        def counting(event, *args, **kwargs):
            self.count += 1
            return real(event, *args, **kwargs)

        monkeypatch.setattr(icalendar.Event, "to_ical", counting)


def _stored(session) -> dict[str, int]:
    rows = session.execute(
        select(meeting_ical_cache.c.fingerprint, meeting_ical_cache.c.meeting_id)
    )
    return dict(rows.all())


def _feed_meetings(session, body, n):
    for _ in range(n):
        meeting = factories.create_meeting(session, body=body)
        svc.invite(session, meeting, person=factories.create_person(session))
        svc.invite(session, meeting, organisation=factories.create_organisation(session))


def test_restart_serves_stored_events_with_no_serialisation_in_few_queries(
    session, engine, monkeypatch
):
    body = factories.create_body(session)
    _feed_meetings(session, body, 3)
    session.commit()

    def render_after_restart() -> tuple[bytes, int, int]:
        _restart()
        serialisations = _Serialisations(monkeypatch)
        statements: list[str] = []

        def record(*args):
            statements.append(args[2])

        event.listen(engine, "before_cursor_execute", record)
        try:
            data = svc.calendar_for(session, host=HOST, body=body)
        finally:
            event.remove(engine, "before_cursor_execute", record)
            monkeypatch.undo()
        return data, serialisations.count, len(statements)

    _restart()
    first = svc.calendar_for(session, host=HOST, body=body)  # the first ever: fills the store
    assert len(_stored(session)) == 3
    again, serialised, few = render_after_restart()
    assert again == first and serialised == 0
    # Byte for byte what icalendar gives for the whole calendar at once.
    entries = svc.feed_entries(session, svc.feed_query(body=body), host=HOST, cache=None)
    assert again == ical.build_calendar(entries, name=f"Meetings: {body.name}").to_ical()

    _feed_meetings(session, body, 5)
    session.commit()
    svc.calendar_for(session, host=HOST, body=body)
    assert len(_stored(session)) == 8
    data, serialised, statements = render_after_restart()
    assert serialised == 0 and data.count(b"BEGIN:VEVENT") == 8
    assert statements == few <= 8


def test_stored_events_are_never_stale(session, monkeypatch):
    organiser = factories.create_organisation(session, name="ILO Dhaka")
    person = factories.create_person(session, name="Nasrin Akter")
    meeting = factories.create_meeting(session, title="Dialogue", organiser=organiser)
    svc.invite(session, meeting, person=person)
    session.commit()

    def served(host: str = HOST) -> str:
        _restart()
        return svc.calendar_for(session, host=host, meeting=meeting).decode()

    def fresh(host: str = HOST) -> str:
        entries = svc.feed_entries(
            session, select(Meeting).where(Meeting.id == meeting.id), host=host, cache=None
        )
        return ical.build_calendar(entries, name=meeting.title).to_ical().decode()

    assert "Nasrin Akter" in served() and served() == fresh()
    svc.update_meeting(session, meeting, title="Dialogue, new room")
    session.commit()
    assert "Dialogue\\, new room" in served() and served() == fresh()
    person.name = "Nasrin Akter Rahman"  # the meeting itself does not change
    session.commit()
    assert "Nasrin Akter Rahman" in served() and served() == fresh()
    organiser.name = "ILO Country Office for Bangladesh"
    session.commit()
    assert "ILO Country Office for Bangladesh" in served() and served() == fresh()
    assert f"meeting-{meeting.id}@other.test" in served("other.test")
    assert served("other.test") == fresh("other.test")
    # A newer version of the meeting replaced the rows of older ones; same-version
    # variants (another host, a renamed invitee) may stay until the next change.
    svc.update_meeting(session, meeting, description="Bring the draft")
    session.commit()
    served()
    assert list(_stored(session).values()) == [meeting.id]


def test_a_failure_to_store_never_breaks_the_feed(session, monkeypatch, caplog):
    from sqlalchemy.exc import OperationalError

    from coordination.services import event_store

    body = factories.create_body(session)
    _feed_meetings(session, body, 2)
    session.commit()

    def read_only(*_args):
        raise OperationalError("INSERT", {}, Exception("attempt to write a readonly database"))

    monkeypatch.setattr(event_store, "_write", read_only)
    _restart()
    data = svc.calendar_for(session, host=HOST, body=body)
    assert data.count(b"BEGIN:VEVENT") == 2
    assert "not stored" in caplog.text
    assert _stored(session) == {}
    session.execute(select(Meeting.id)).all()  # the session is still usable


def test_storing_inside_a_transaction_that_wrote_and_concurrent_writers(session, engine):
    from sqlalchemy.orm import Session

    from coordination.services.event_store import save_events

    body = factories.create_body(session)
    _feed_meetings(session, body, 2)
    session.commit()
    factories.create_meeting(session, body=body)  # written, not committed
    _restart()
    # The store writes in this transaction (a savepoint): another connection would
    # wait for this one's locks.
    data = svc.calendar_for(session, host=HOST, body=body)
    assert data.count(b"BEGIN:VEVENT") == 3
    session.commit()
    assert len(_stored(session)) == 3
    # Two writers storing the same events: the second finds them there, no error.
    entries = svc.feed_entries(session, svc.feed_query(body=body), host=HOST, cache=None)
    rendered = [(e, ical.entry_fingerprint(e), ical.serialise_entry(e)) for e in entries]
    with Session(engine) as other:
        save_events(other, rendered)
        save_events(other, rendered)
    assert len(_stored(session)) == 3


def test_entries_from_rows_are_the_entries_from_loaded_meetings(session):
    from coordination.models import Theme

    organisation = factories.create_organisation(session, name="BGMEA")
    person = factories.create_person(session, name="Nasrin Akter", organisation=organisation)
    themes = session.scalars(select(Theme).order_by(Theme.id).limit(2)).all()
    series = factories.create_meeting(
        session,
        title="Weekly\r\nwebinar",
        description="Line one\nline two",
        timezone="Europe/Zurich",
        start=datetime(2026, 3, 19, 10),
        end=datetime(2026, 3, 19, 11),
        rrule="FREQ=WEEKLY;COUNT=4",
        venue="Room 3",
        city="Geneva",
        country_code="CH",
        online_url="https://meet.example/x",
        organiser=organisation,
        organiser_person=person,
        themes=list(themes),
        reminder_minutes=15,
    )
    svc.cancel_occurrence(session, series, date(2026, 3, 26))
    svc.move_occurrence(
        session,
        series,
        date(2026, 4, 2),
        start=datetime(2026, 4, 3, 9),
        end=datetime(2026, 4, 3, 10),
    )
    svc.invite(session, series, person=person, role="chair")
    svc.invite(session, series, organisation=factories.create_organisation(session))
    factories.create_meeting(
        session, title="Retreat", start_date=date(2026, 5, 4), end_date=date(2026, 5, 6)
    )
    session.commit()
    url = "https://coordination.example/meetings/{id}"
    from_rows = svc.feed_entries(session, svc.feed_query(), host=HOST, url_template=url, cache=None)
    session.expire_all()  # as a request would load them (themes in their order)
    loaded = session.scalars(svc.feed_query()).all()
    from_objects = [ical.entry_from_meeting(m, host=HOST, url=url.format(id=m.id)) for m in loaded]
    for row_entry, object_entry in zip(from_rows, from_objects, strict=True):
        for name in row_entry.__dataclass_fields__:
            assert getattr(row_entry, name) == getattr(object_entry, name), name
    assert from_rows[0].exdates and from_rows[0].moved and from_rows[0].organizer
    assert (
        len(from_rows[0].categories) == 3 and from_rows[0].location == "Room 3, Geneva, Switzerland"
    )
