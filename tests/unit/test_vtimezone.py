"""VTIMEZONEs must give every local time the offset the IANA database gives it."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
import vobject

from coordination.interop.vtimezone import vtimezone

# Northern and southern daylight saving, none at all, irregular rules, rule changes.
ZONES = [
    "Europe/Zurich",
    "America/New_York",
    "Australia/Sydney",
    "Pacific/Auckland",
    "America/Santiago",
    "Africa/Cairo",
    "Asia/Jerusalem",
    "Africa/Casablanca",
    "Asia/Dhaka",
    "Asia/Phnom_Penh",
    "Asia/Ho_Chi_Minh",
    "Asia/Kathmandu",
    "Pacific/Fiji",
    "America/Nuuk",
]


def _calendar(tzid: str) -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:test\r\n"
        + vtimezone(tzid, 2025, 2027).to_ical().decode()
        + "END:VCALENDAR\r\n"
    )


def _days():
    start = datetime(2025, 1, 1, 12)
    return [start + timedelta(days=d) for d in range(0, 365 * 14, 2)]


@pytest.mark.parametrize("tzid", ZONES)
def test_icalendar_reads_the_same_offsets_as_zoneinfo_for_fourteen_years(tzid):
    zone = ZoneInfo(tzid)
    parsed = icalendar.Calendar.from_ical(_calendar(tzid)).timezones[0].to_tz()
    wrong = [
        day
        for day in _days()
        if day.replace(tzinfo=parsed).utcoffset() != day.replace(tzinfo=zone).utcoffset()
    ]
    assert wrong == []


@pytest.mark.parametrize("tzid", [z for z in ZONES if z != "Africa/Casablanca"])
def test_vobject_reads_the_same_offsets_as_zoneinfo(tzid):
    # dateutil (under vobject) has its own VTIMEZONE reader; Casablanca's "negative"
    # daylight saving is beyond it.
    zone = ZoneInfo(tzid)
    parsed = vobject.readOne(io.StringIO(_calendar(tzid))).vtimezone.gettzinfo()
    wrong = [
        day for day in _days() if parsed.utcoffset(day) != day.replace(tzinfo=zone).utcoffset()
    ]
    assert wrong == []


def test_regular_zones_get_yearly_rules_like_outlook_writes():
    text = vtimezone("Europe/Zurich", 2025, 2027).to_ical().decode()
    assert "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3" in text
    assert "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10" in text
    assert "RDATE" not in text
    assert "DTSTART:20250330T020000" in text  # to the second, in the old offset


def test_zones_without_daylight_saving_are_one_part():
    timezone = vtimezone("Asia/Dhaka", 2025, 2027)
    (part,) = timezone.subcomponents
    assert part.name == "STANDARD" and part["TZOFFSETTO"].td == timedelta(hours=6)


def test_rules_that_only_look_yearly_for_a_few_years_are_not_trusted():
    # Israel: "Friday before the last Sunday of March" is the last Friday until 2028.
    text = vtimezone("Asia/Jerusalem", 2025, 2027).to_ical().decode()
    assert "BYMONTH=3" not in text
