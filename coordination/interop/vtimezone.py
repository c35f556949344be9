"""VTIMEZONE components in the form calendar clients read best: yearly rules.

Outlook, Google, Apple and most libraries write a zone's daylight-saving switches as
one STANDARD and one DAYLIGHT part, each with a yearly RRULE ("last Sunday of March at
02:00"). ``icalendar`` lists every switch as RDATEs instead, which is equally valid but
is misread by some parsers (dateutil, and so vobject, keeps only one RDATE). We derive
the yearly rules from the IANA database and check them switch by switch over the
years that matter; a zone whose switches follow no yearly rule (Morocco's Ramadan
changes, say) falls back to icalendar's own RDATE form.

The component is built with icalendar's classes; no content line is written by hand.
"""

from __future__ import annotations

import calendar as _calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard, vRecur

__all__ = ["vtimezone"]

_SPAN = 15  # years
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@dataclass(frozen=True)
class _Switch:
    local: datetime  # naive wall-clock time just before the switch (in the old offset)
    offset_from: timedelta
    offset_to: timedelta
    name: str
    dst: bool


def _switches(zone: ZoneInfo, first_year: int, last_year: int) -> list[_Switch]:
    """Every offset change in the years given: found in half-day steps, then to the second."""
    start = int(datetime(first_year, 1, 1, tzinfo=UTC).timestamp())
    end = int(datetime(last_year + 1, 1, 1, tzinfo=UTC).timestamp())

    def offset_at(seconds: int) -> timedelta:
        return datetime.fromtimestamp(seconds, UTC).astimezone(zone).utcoffset()  # type: ignore[return-value]

    found: list[_Switch] = []
    step = 12 * 3600
    before, offset = start, offset_at(start)
    while before < end:
        after = before + step
        new = offset_at(after)
        if new != offset:
            low, high = before, after  # the change happens in (low, high]
            while high - low > 1:
                middle = (low + high) // 2
                if offset_at(middle) == offset:
                    low = middle
                else:
                    high = middle
            moment = datetime.fromtimestamp(high, UTC)
            local = moment.astimezone(zone)
            found.append(
                _Switch(
                    (moment + offset).replace(tzinfo=None),
                    offset,
                    new,
                    local.tzname() or "",
                    bool(local.dst()),
                )
            )
            offset = new
        before = after
    return found


def _byday(day: date) -> str | None:
    """``-1SU`` for a last weekday of its month, ``2SU`` for a second one, ..."""
    weekday = _WEEKDAYS[day.weekday()]
    if day.day + 7 > _calendar.monthrange(day.year, day.month)[1]:
        return f"-1{weekday}"
    return f"{(day.day - 1) // 7 + 1}{weekday}"


def _yearly_rule(switches: list[_Switch]) -> dict[str, object] | None:
    """A yearly rule giving exactly these switches (one a year, same month, weekday
    and time), or None."""
    first = switches[0]
    years = [s.local.year for s in switches]
    if years != list(range(years[0], years[0] + len(years))):
        return None
    month, clock = first.local.month, first.local.time()
    for byday in {
        _byday(first.local.date()),
        f"{(first.local.day - 1) // 7 + 1}{_WEEKDAYS[first.local.weekday()]}",
    }:
        if byday is None:
            continue
        if all(
            s.local.month == month and s.local.time() == clock and _matches(s.local.date(), byday)
            for s in switches
        ):
            return {"FREQ": "YEARLY", "BYMONTH": month, "BYDAY": byday}
    return None


def _matches(day: date, byday: str) -> bool:
    if _WEEKDAYS[day.weekday()] != byday[-2:]:
        return False
    n = int(byday[:-2])
    if n < 0:
        return day.day + 7 > _calendar.monthrange(day.year, day.month)[1]
    return (day.day - 1) // 7 + 1 == n


def _part(
    switch: _Switch, rule: dict[str, object] | None, until: datetime | None
) -> TimezoneStandard | TimezoneDaylight:
    part: TimezoneStandard | TimezoneDaylight = (
        TimezoneDaylight() if switch.dst else TimezoneStandard()
    )
    part.add("DTSTART", switch.local)
    part.add("TZNAME", switch.name)
    part.add("TZOFFSETFROM", switch.offset_from)
    part.add("TZOFFSETTO", switch.offset_to)
    if rule is not None:
        recur = dict(rule)
        if until is not None:
            recur["UNTIL"] = until
        part.add("RRULE", vRecur(recur))
    return part


def _one_rdate_per_line(timezone: Timezone) -> Timezone:
    """icalendar's RDATE lists, one date per RDATE property: dateutil (and so vobject)
    reads only the first date of a list."""
    for part in timezone.subcomponents:
        if "RDATE" not in part:
            continue
        rdates = part.pop("RDATE")
        for rdate in rdates if isinstance(rdates, list) else [rdates]:
            for moment in rdate.dts:
                part.add("RDATE", moment.dt)
    return timezone


@lru_cache(maxsize=1024)
def vtimezone(tzid: str, first_year: int, last_year: int) -> Timezone:
    """A VTIMEZONE for ``tzid`` correct for every instant from ``first_year`` on.

    Yearly rules still in force at the end of the span checked run on without end, as
    the IANA rules do; a zone without yearly rules is correct until ``last_year`` (at
    least 15 years after ``first_year``).
    """
    # Derive and check rules over a long span: a rule that merely happens to fit three
    # years (Israel's "Friday before the last Sunday" looks like "last Friday" until
    # 2028) would be wrong later.
    last_year = max(last_year, first_year + _SPAN)
    zone = ZoneInfo(tzid)
    switches = _switches(zone, first_year, last_year)
    timezone = Timezone()
    timezone.add("TZID", tzid)
    if not switches:
        moment = datetime(first_year, 1, 1, tzinfo=UTC).astimezone(zone)
        offset = moment.utcoffset() or timedelta(0)
        timezone.add_component(
            _part(
                _Switch(
                    datetime(1970, 1, 1), offset, offset, moment.tzname() or "", bool(moment.dst())
                ),
                None,
                None,
            )
        )
        return timezone
    groups: dict[tuple[timedelta, timedelta, str, bool], list[_Switch]] = {}
    for switch in switches:
        groups.setdefault(
            (switch.offset_from, switch.offset_to, switch.name, switch.dst), []
        ).append(switch)
    parts = []
    last_seen = switches[-1].local.year
    for group in groups.values():
        rule = _yearly_rule(group) if len(group) > 1 else None
        if rule is None and len(group) > 1:
            return _one_rdate_per_line(
                Timezone.from_tzid(
                    tzid, first_date=date(first_year, 1, 1), last_date=date(last_year + 1, 1, 1)
                )
            )
        final = group[-1]
        # A rule that stopped before the last switches we saw (a zone that dropped
        # daylight saving) must not run on.
        until = None
        if rule is not None and final.local.year < last_seen:
            until = (final.local - final.offset_from).replace(tzinfo=UTC)
        parts.append((group[0].local, _part(group[0], rule, until)))
    # Before the first switch in range the zone kept the offset that switch leaves.
    first = switches[0]
    name = (datetime(first_year, 1, 1, tzinfo=UTC)).astimezone(zone).tzname() or ""
    opening = _Switch(
        datetime(first_year, 1, 1) if first.local > datetime(first_year, 1, 1) else first.local,
        first.offset_from,
        first.offset_from,
        name,
        bool(datetime(first_year, 1, 1, tzinfo=UTC).astimezone(zone).dst()),
    )
    timezone.add_component(_part(opening, None, None))
    for _, part in sorted(parts, key=lambda item: item[0]):
        timezone.add_component(part)
    return timezone
