"""iCalendar rendering and parsing without a database, checked with independent parsers."""

from __future__ import annotations

import io
import unicodedata
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events
import vobject
from hypothesis import given, settings
from hypothesis import strategies as st

from coordination.interop.ical import (
    Address,
    CalendarEntry,
    CalendarFormatError,
    EventCache,
    Moved,
    build_calendar,
    clean_line,
    clean_text,
    parse_calendar,
    render_calendar,
    render_entry,
)

ZURICH = ZoneInfo("Europe/Zurich")
DHAKA = ZoneInfo("Asia/Dhaka")
STAMP = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def entry(**overrides) -> CalendarEntry:
    values = {
        "uid": "meeting-1@test.example",
        "summary": "Taskforce",
        "start": datetime(2026, 3, 3, 10, tzinfo=DHAKA),
        "end": datetime(2026, 3, 3, 12, tzinfo=DHAKA),
        "stamp": STAMP,
        "last_modified": STAMP,
        "created": STAMP,
    }
    values.update(overrides)
    return CalendarEntry(**values)


def vobject_calendar(data: bytes):
    return vobject.readOne(io.StringIO(data.decode("utf-8")))


def test_render_is_byte_for_byte_what_icalendar_gives_for_the_whole_calendar():
    entries = [
        entry(),
        entry(
            uid="meeting-2@test.example",
            start=datetime(2026, 1, 15, 10, tzinfo=ZURICH),
            end=datetime(2026, 1, 15, 11, tzinfo=ZURICH),
            rrule="FREQ=MONTHLY;BYDAY=3TH;COUNT=6",
            exdates=(datetime(2026, 2, 19, 10, tzinfo=ZURICH),),
            moved=(
                Moved(
                    datetime(2026, 3, 19, 10, tzinfo=ZURICH),
                    datetime(2026, 3, 20, 9, tzinfo=ZURICH),
                    datetime(2026, 3, 20, 10, tzinfo=ZURICH),
                ),
            ),
            reminder_minutes=15,
        ),
        entry(uid="meeting-3@test.example", start=date(2026, 6, 1), end=date(2026, 6, 4)),
    ]
    cache = EventCache()
    fast = render_calendar(entries, name="Feed", cache=cache)
    assert fast == build_calendar(entries, name="Feed").to_ical()
    assert len(cache) == 3
    assert render_calendar(entries, name="Feed", cache=cache) == fast  # from the cache
    assert render_calendar(entries, name="Feed", cache=None) == fast


def test_every_render_is_identical_and_has_the_required_properties():
    one = entry(
        organizer=Address("chair@example.org", "Chair"),
        attendees=(
            Address("a@example.org", "A, the first", "CHAIR", "ACCEPTED", False),
            Address("b@example.org", "B", "REQ-PARTICIPANT", "NEEDS-ACTION", True),
        ),
        categories=("Taskforce meeting", "Gender equality"),
        location="BIAM, Dhaka, Bangladesh",
        url="https://example.org/meetings/1",
        reminder_minutes=30,
        sequence=3,
    )
    data = render_calendar([one], name="Feed", cache=None)
    assert data == render_calendar([one], name="Feed", cache=None)
    assert b"\r\nUID:" not in data.split(b"BEGIN:VTIMEZONE")[0]  # no random calendar UID
    calendar = icalendar.Calendar.from_ical(data)
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Asia/Dhaka"]
    (event,) = calendar.events
    assert event["UID"] == "meeting-1@test.example"
    assert event["SEQUENCE"] == 3
    assert event["DTSTART"].params["TZID"] == "Asia/Dhaka"
    assert event.start == datetime(2026, 3, 3, 10, tzinfo=DHAKA)
    assert event.stamp == STAMP and event.last_modified == STAMP
    assert event["STATUS"] == "CONFIRMED"
    assert event.categories == ["Taskforce meeting", "Gender equality"]
    assert str(event["ORGANIZER"]) == "mailto:chair@example.org"
    attendees = {str(a): a.params for a in event.attendees}
    assert attendees["mailto:a@example.org"]["CN"] == "A, the first"
    assert attendees["mailto:a@example.org"]["ROLE"] == "CHAIR"
    assert attendees["mailto:b@example.org"]["PARTSTAT"] == "NEEDS-ACTION"
    assert attendees["mailto:b@example.org"]["RSVP"] == "TRUE"
    (alarm,) = event.walk("VALARM")
    assert alarm["TRIGGER"].dt == timedelta(minutes=-30)
    assert calendar["X-WR-CALNAME"] == "Feed"
    assert calendar["METHOD"] == "PUBLISH"
    # An independent parser reads the same event.
    other = vobject_calendar(data).vevent
    assert other.uid.value == "meeting-1@test.example"
    assert other.dtstart.value.utcoffset() == timedelta(hours=6)
    assert {a.value for a in other.attendee_list} == {
        "mailto:a@example.org",
        "mailto:b@example.org",
    }


def test_multi_day_meeting_is_one_event_over_dates_not_a_72_hour_block():
    three_days = entry(start=date(2026, 3, 24), end=date(2026, 3, 27))
    data = render_calendar([three_days], name="Feed", cache=None)
    assert b"DTSTART;VALUE=DATE:20260324" in data
    assert b"DTEND;VALUE=DATE:20260327" in data
    assert b"VTIMEZONE" not in data
    calendar = icalendar.Calendar.from_ical(data)
    for day in (date(2026, 3, 24), date(2026, 3, 25), date(2026, 3, 26)):
        (found,) = recurring_ical_events.of(calendar).at(day)
        assert found["UID"] == three_days.uid
    assert recurring_ical_events.of(calendar).at(date(2026, 3, 27)) == []
    other = vobject_calendar(data).vevent
    assert (other.dtstart.value, other.dtend.value) == (date(2026, 3, 24), date(2026, 3, 27))


def _series() -> CalendarEntry:
    return entry(
        uid="series@test.example",
        summary="Research webinar",
        start=datetime(2026, 1, 15, 10, tzinfo=ZURICH),
        end=datetime(2026, 1, 15, 11, 30, tzinfo=ZURICH),
        rrule="FREQ=MONTHLY;BYDAY=3TH;COUNT=12",
        exdates=(datetime(2026, 4, 16, 10, tzinfo=ZURICH),),
        moved=(
            Moved(
                datetime(2026, 10, 15, 10, tzinfo=ZURICH),
                datetime(2026, 10, 29, 14, tzinfo=ZURICH),
                datetime(2026, 10, 29, 15, 30, tzinfo=ZURICH),
            ),
        ),
    )


EXPECTED_SERIES = [
    datetime(2026, 1, 15, 10, tzinfo=ZURICH),
    datetime(2026, 2, 19, 10, tzinfo=ZURICH),
    datetime(2026, 3, 19, 10, tzinfo=ZURICH),
    # 16 April is cancelled
    datetime(2026, 5, 21, 10, tzinfo=ZURICH),
    datetime(2026, 6, 18, 10, tzinfo=ZURICH),
    datetime(2026, 7, 16, 10, tzinfo=ZURICH),
    datetime(2026, 8, 20, 10, tzinfo=ZURICH),
    datetime(2026, 9, 17, 10, tzinfo=ZURICH),
    datetime(2026, 10, 29, 14, tzinfo=ZURICH),  # moved from 15 October, after the DST change
    datetime(2026, 11, 19, 10, tzinfo=ZURICH),
    datetime(2026, 12, 17, 10, tzinfo=ZURICH),
]


def test_series_with_exceptions_expands_right_in_recurring_ical_events():
    calendar = icalendar.Calendar.from_ical(render_calendar([_series()], name="F", cache=None))
    found = recurring_ical_events.of(calendar).between(date(2026, 1, 1), date(2027, 1, 1))
    starts = sorted(event.start for event in found)
    assert starts == EXPECTED_SERIES
    # Local time stays 10:00 across the daylight-saving change: UTC moves by an hour.
    assert starts[2].astimezone(UTC).hour == 9  # March 19: winter time, UTC+1
    assert starts[3].astimezone(UTC).hour == 8  # May 21: summer time, UTC+2


def test_series_with_exceptions_expands_right_in_vobject():
    # vobject has its own RRULE/EXDATE expansion and reads our VTIMEZONE, not zoneinfo.
    parsed = vobject_calendar(render_calendar([_series()], name="F", cache=None))
    master = next(e for e in parsed.vevent_list if not hasattr(e, "recurrence_id"))
    overrides = {
        e.recurrence_id.value: e.dtstart.value
        for e in parsed.vevent_list
        if hasattr(e, "recurrence_id")
    }
    starts = [overrides.get(start, start) for start in master.getrruleset()]
    assert [s.astimezone(UTC) for s in sorted(starts)] == [
        s.astimezone(UTC) for s in EXPECTED_SERIES
    ]


def test_cancelled_meeting_is_status_cancelled_and_has_no_alarm():
    data = render_calendar([entry(status="CANCELLED", reminder_minutes=10)], name="F", cache=None)
    (event,) = icalendar.Calendar.from_ical(data).events
    assert event["STATUS"] == "CANCELLED"
    assert event.walk("VALARM") == []


def test_one_vtimezone_per_zone_used():
    entries = [
        entry(uid="a@x"),
        entry(
            uid="b@x",
            start=datetime(2026, 5, 1, 9, tzinfo=ZoneInfo("Asia/Phnom_Penh")),
            end=datetime(2026, 5, 1, 10, tzinfo=ZoneInfo("Asia/Phnom_Penh")),
        ),
        entry(uid="c@x"),
        entry(
            uid="d@x",
            start=datetime(2026, 5, 1, 9, tzinfo=UTC),
            end=datetime(2026, 5, 1, 10, tzinfo=UTC),
        ),
    ]
    calendar = icalendar.Calendar.from_ical(render_calendar(entries, name="F", cache=None))
    assert sorted(tz["TZID"] for tz in calendar.walk("VTIMEZONE")) == [
        "Asia/Dhaka",
        "Asia/Phnom_Penh",
    ]


# -- text -------------------------------------------------------------------------------

NASTY = "Đà Nẵng, ភ្នំពេញ; ঢাকা\r\nDTSTART:19700101T000000\rATTENDEE:mailto:x@evil.example\x00\x1b[31m"


def test_text_cannot_inject_properties():
    data = render_calendar(
        [entry(summary=NASTY, description=NASTY, location=NASTY, categories=(NASTY,))],
        name=NASTY,
        cache=None,
    )
    (event,) = icalendar.Calendar.from_ical(data).events
    assert "ATTENDEE" not in event
    plain = icalendar.Calendar.from_ical(render_calendar([entry()], name="x", cache=None))
    added = set(event.keys()) - set(plain.events[0].keys())
    assert added == {"DESCRIPTION", "LOCATION", "CATEGORIES"}
    assert all(not isinstance(event[key], list) for key in event.keys())
    assert str(event["DESCRIPTION"]) == clean_text(NASTY)
    assert str(event["SUMMARY"]) == clean_text(NASTY).replace("\n", " ")
    assert "\x00" not in data.decode() and "\x1b" not in data.decode()


@settings(max_examples=300, deadline=None)
@given(st.text(), st.text())
def test_any_text_round_trips_exactly_once_cleaned(text, category):
    cleaned, line = clean_text(text), clean_line(text)
    assert clean_text(cleaned) == cleaned and clean_line(line) == line  # fixed points
    one = entry(summary=text, description=text, location=text, categories=(category,))
    data = render_calendar([one], name=text, cache=None)
    text_out = data.decode("utf-8")
    assert all(unicodedata.category(ch) != "Cc" or ch in "\r\n\t" for ch in text_out)
    (event,) = icalendar.Calendar.from_ical(data).events
    assert str(event.get("SUMMARY", "")) == line
    assert str(event.get("DESCRIPTION", "")) == cleaned
    assert str(event.get("LOCATION", "")) == line
    expected = [clean_line(category)] if clean_line(category) else []
    assert [str(c) for c in event.categories] == expected
    other = vobject_calendar(data).vevent
    assert getattr(other, "summary", None) is None or other.summary.value == line
    if cleaned:
        assert other.description.value == cleaned


# -- parsing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "does not start with BEGIN:VCALENDAR"),
        (b"\x89PNG\r\n\x1a\n", "not UTF-8"),
        (b"hello", "does not start with BEGIN:VCALENDAR"),
        (b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\n", "never ended"),
        (
            b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;;X=1:20240101\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
            "broken line",
        ),
    ],
)
def test_unreadable_files_are_rejected_with_a_reason(data, message):
    with pytest.raises(CalendarFormatError, match=message):
        parse_calendar(data)


def test_our_own_feed_parses_back_to_the_same_events():
    series = _series()
    parsed = parse_calendar(render_calendar([series, entry()], name="F", cache=None))
    single, master, moved = sorted(
        parsed.events, key=lambda e: (e.uid, e.recurrence_id is not None)
    )
    assert master.rrule == "FREQ=MONTHLY;COUNT=12;BYDAY=3TH"
    assert master.timezone == "Europe/Zurich"
    assert master.start == series.start.astimezone(UTC)
    assert master.exdates == (datetime(2026, 4, 16, 8, tzinfo=UTC),)
    assert moved.recurrence_id == datetime(2026, 10, 15, 8, tzinfo=UTC)
    assert single.timezone == "Asia/Dhaka" and not single.all_day
    assert parsed.skipped == ()


def test_render_entry_uses_the_cache_only_for_an_identical_entry():
    cache = EventCache(maxsize=2)
    first = render_entry(entry(), cache)
    assert render_entry(entry(), cache) is first
    changed = render_entry(entry(sequence=1), cache)
    assert changed != first and b"SEQUENCE:1" in changed
    render_entry(entry(sequence=2), cache)  # full: starts afresh
    assert len(cache) == 1
