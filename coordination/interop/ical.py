"""iCalendar (RFC 5545) export and import, through the ``icalendar`` library.

Export works on :class:`CalendarEntry` snapshots (plain frozen data made from a meeting
by :func:`entry_from_meeting`) so that rendering needs no session and can be cached:
the same entry always gives the same bytes. Every content line is produced by
``icalendar``; a feed is its calendar shell (properties and one VTIMEZONE per zone used)
with each entry's serialised VEVENTs placed before ``END:VCALENDAR``, byte for byte what
serialising the whole :class:`icalendar.Calendar` at once gives (a test holds us to it).

Import parses a file into :class:`ParsedEvent` records plus a list of what was skipped
and why; :func:`coordination.services.meetings.import_calendar` writes them. A file that
is not iCalendar at all, or has lines that cannot be parsed, raises
:class:`CalendarFormatError` before anything is written.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import icalendar
from icalendar import Alarm, Calendar, Event, vCalAddress, vDuration, vRecur
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from coordination.errors import ValidationError
from coordination.interop.vtimezone import vtimezone

if TYPE_CHECKING:
    from coordination.models import Meeting

__all__ = [
    "Address",
    "CalendarEntry",
    "CalendarFormatError",
    "EventCache",
    "EventStore",
    "MeetingRecord",
    "Moved",
    "OccurrenceRecord",
    "Seats",
    "ParsedAttendee",
    "ParsedCalendar",
    "ParsedEvent",
    "Skipped",
    "build_calendar",
    "check_timezone",
    "seat_address",
    "clean_line",
    "clean_text",
    "entry_fingerprint",
    "entry_from_meeting",
    "entry_from_record",
    "meeting_record",
    "meeting_uid",
    "parse_calendar",
    "render_calendar",
    "render_entries",
    "render_entry",
    "serialise_entry",
]

PRODID = "-//ILO coordination//Meetings and calendars//EN"
DEFAULT_REFRESH = timedelta(hours=1)

# ---------------------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------------------

_NEWLINES = re.compile(r"\r\n|\r")
# Unicode category Cc (C0, DEL, C1) except tab and line feed, and lone surrogates (Cs).
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def clean_text(value: str | None) -> str | None:
    """Text as iCalendar can carry it: line breaks kept, other control characters dropped.

    RFC 5545 text may not hold control characters other than tab; clients differ in
    what they do with them, and CR is how a property would be smuggled into a hand-made
    file. CR LF and lone CR become LF (which iCalendar escapes as ``\\n``); other C0 and C1
    controls, DEL and unpaired surrogates are removed. The result is a fixed point:
    cleaning it again changes nothing, and it round-trips through a calendar exactly.

    >>> clean_text("Dhaka;\\r\\nday 1\\x00\\x07, ច្បាប់")
    'Dhaka;\\nday 1, ច្បាប់'
    >>> clean_text(None) is None
    True
    """
    if value is None:
        return None
    return _CONTROLS.sub("", _NEWLINES.sub("\n", value))


def clean_line(value: str | None) -> str | None:
    """Single-line text (titles, names, places): cleaned, line breaks become spaces,
    ends trimmed.

    >>> clean_line(" Phnom Penh,\\r\\nCambodia\\x0b ")
    'Phnom Penh, Cambodia'
    """
    text = clean_text(value)
    return " ".join(text.split("\n")).strip() if text else text


# ---------------------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Address:
    """An ORGANIZER or ATTENDEE: a mailto address with its parameters."""

    email: str
    name: str | None = None
    role: str | None = None  # CHAIR, REQ-PARTICIPANT, OPT-PARTICIPANT, NON-PARTICIPANT
    partstat: str | None = None  # NEEDS-ACTION, ACCEPTED, TENTATIVE, DECLINED
    rsvp: bool | None = None


@dataclass(frozen=True)
class Moved:
    """A moved occurrence of a series: where the rule put it, and where it is now."""

    recurrence_id: datetime | date
    start: datetime | date
    end: datetime | date


@dataclass(frozen=True)
class CalendarEntry:
    """Everything a meeting shows in a calendar, as plain values.

    Times are aware datetimes in the meeting's own zone (or dates for all-day
    meetings, ``end`` exclusive). Being frozen and hashable, an entry is its own
    cache key: if anything shown changes, the entry differs.
    """

    uid: str
    summary: str
    start: datetime | date
    end: datetime | date
    stamp: datetime
    sequence: int = 0
    created: datetime | None = None
    last_modified: datetime | None = None
    description: str | None = None
    location: str | None = None
    url: str | None = None
    status: str = "CONFIRMED"  # TENTATIVE, CONFIRMED, CANCELLED
    categories: tuple[str, ...] = ()
    organizer: Address | None = None
    attendees: tuple[Address, ...] = ()
    rrule: str | None = None
    exdates: tuple[datetime | date, ...] = ()
    moved: tuple[Moved, ...] = ()
    reminder_minutes: int | None = None
    # The meeting it was made from: where the database store files its bytes. Not
    # rendered; entries made by other code may leave it out (then nothing is stored).
    meeting_id: int | None = None

    def __hash__(self) -> int:
        # Kept after the first call: a feed looks each entry up in two caches, and
        # hashing every field (datetimes with zones, attendees) is not cheap.
        cached = self.__dict__.get("_hash")
        if cached is None:
            cached = hash(tuple(getattr(self, name) for name in _ENTRY_FIELDS))
            object.__setattr__(self, "_hash", cached)
        return cached  # type: ignore[no-any-return]

    @property
    def timezones(self) -> set[str]:
        zones = set()
        for value in (self.start, self.end, *self.exdates):
            if isinstance(value, datetime) and isinstance(value.tzinfo, ZoneInfo):
                if value.tzinfo.key != "UTC":
                    zones.add(value.tzinfo.key)
        return zones


_ENTRY_FIELDS = tuple(f.name for f in fields(CalendarEntry))


def meeting_uid(meeting: Meeting | MeetingRecord, host: str) -> str:
    """The UID a meeting keeps for life: its imported UID, else ``meeting-{id}@{host}``."""
    return meeting.ical_uid or f"meeting-{meeting.id}@{host}"


_ROLES = {
    "chair": "CHAIR",
    "speaker": "REQ-PARTICIPANT",
    "participant": "REQ-PARTICIPANT",
    "observer": "OPT-PARTICIPANT",
}
_STATUS = {
    "planned": "TENTATIVE",
    "confirmed": "CONFIRMED",
    "held": "CONFIRMED",
    "cancelled": "CANCELLED",
}


@dataclass(frozen=True)
class Seats:
    """Who is invited, as a calendar shows it: people as ATTENDEEs, organisations by name."""

    attendees: tuple[Address, ...] = ()
    organisations: tuple[str, ...] = ()


@dataclass(frozen=True)
class OccurrenceRecord:
    """A cancelled or moved occurrence of a series, as stored (UTC instants)."""

    original_start: datetime
    cancelled: bool
    starts_at: datetime | None
    ends_at: datetime | None


@dataclass(frozen=True)
class MeetingRecord:
    """A meeting as plain values: what :func:`entry_from_record` needs and nothing more.

    A feed of thousands of meetings reads these from rows (no ORM objects, a handful of
    queries); :func:`entry_from_meeting` makes one from a loaded meeting. Either way the
    entry is built by the same code.
    """

    id: int
    ical_uid: str | None
    title: str
    meeting_type_label: str
    status: str  # MeetingStatus value
    description: str | None
    venue: str | None
    city: str | None
    country_name: str | None
    online_url: str | None
    organiser_name: str | None
    organiser_person_name: str | None
    organiser_person_email: str | None
    starts_at: datetime
    ends_at: datetime
    timezone: str
    all_day: bool
    rrule: str | None
    sequence: int
    reminder_minutes: int | None
    created_at: datetime | None
    updated_at: datetime
    themes: tuple[str, ...] = ()
    occurrences: tuple[OccurrenceRecord, ...] = ()


def seat_address(name: str | None, email: str, role: str, rsvp: str) -> Address:
    """An invitee as an ATTENDEE, from our role and RSVP values."""
    return Address(
        email,
        clean_line(name),
        role=_ROLES[role],
        partstat=rsvp.upper().replace("_", "-"),
        rsvp=rsvp == "needs_action",
    )


def _seats(meeting: Meeting) -> Seats:
    return Seats(
        tuple(
            seat_address(p.person.name, p.person.email, p.role.value, p.rsvp.value)
            for p in meeting.participants
            if p.person is not None and p.person.email
        ),
        tuple(
            sorted(
                {
                    p.organisation.name
                    for p in meeting.participants
                    if p.organisation and not p.person
                }
            )
        ),
    )


def meeting_record(meeting: Meeting) -> MeetingRecord:
    """A loaded meeting as a :class:`MeetingRecord`."""
    person = meeting.organiser_person
    return MeetingRecord(
        id=meeting.id,
        ical_uid=meeting.ical_uid,
        title=meeting.title,
        meeting_type_label=meeting.meeting_type.label,
        status=meeting.status.value,
        description=meeting.description,
        venue=meeting.venue,
        city=meeting.city,
        country_name=meeting.country.name if meeting.country else None,
        online_url=meeting.online_url,
        organiser_name=meeting.organiser.name if meeting.organiser is not None else None,
        organiser_person_name=person.name if person is not None else None,
        organiser_person_email=person.email if person is not None else None,
        starts_at=meeting.starts_at,
        ends_at=meeting.ends_at,
        timezone=meeting.timezone,
        all_day=meeting.all_day,
        rrule=meeting.rrule,
        sequence=meeting.sequence or 0,
        reminder_minutes=meeting.reminder_minutes,
        created_at=meeting.created_at,
        updated_at=meeting.updated_at,
        themes=tuple(theme.name for theme in meeting.themes),
        occurrences=tuple(
            OccurrenceRecord(o.original_start, bool(o.cancelled), o.starts_at, o.ends_at)
            for o in meeting.occurrences
        ),
    )


def entry_from_meeting(
    meeting: Meeting,
    *,
    host: str,
    url: str | None = None,
    reminder_minutes: int | None = None,
    seats: Seats | None = None,
) -> CalendarEntry:
    """A meeting as a calendar entry. ``url`` is its page; ``reminder_minutes`` a default.

    ``seats`` may be given when the invitees were loaded in bulk (a feed); otherwise
    they are read from ``meeting.participants``.
    """
    return entry_from_record(
        meeting_record(meeting),
        host=host,
        url=url,
        reminder_minutes=reminder_minutes,
        seats=seats if seats is not None else _seats(meeting),
    )


def entry_from_record(
    meeting: MeetingRecord,
    *,
    host: str,
    url: str | None = None,
    reminder_minutes: int | None = None,
    seats: Seats = Seats(),  # noqa: B008 - frozen, so one shared empty value is safe
) -> CalendarEntry:
    """A meeting's plain values as a calendar entry (see :func:`entry_from_meeting`)."""
    zone = ZoneInfo(meeting.timezone)

    def local(instant: datetime) -> datetime | date:
        if meeting.all_day:
            return instant.astimezone(zone).date()
        return instant.astimezone(zone)

    location = ", ".join(
        part for part in (meeting.venue, meeting.city, meeting.country_name) if part
    )
    description = meeting.description or ""
    if meeting.online_url:
        description = f"{description}\n\nJoin online: {meeting.online_url}".strip()
    if seats.organisations:
        invited = ", ".join(seats.organisations)
        description = f"{description}\n\nOrganisations invited: {invited}".strip()
    if meeting.organiser_name is not None:
        description = f"{description}\n\nOrganised by: {meeting.organiser_name}".strip()
    organizer = None
    if meeting.organiser_person_email:
        organizer = Address(
            meeting.organiser_person_email, clean_line(meeting.organiser_person_name)
        )
    exdates = []
    moved = []
    for occurrence in meeting.occurrences:
        original = local(occurrence.original_start)
        if occurrence.cancelled:
            exdates.append(original)
        elif occurrence.starts_at is not None and occurrence.ends_at is not None:
            moved.append(Moved(original, local(occurrence.starts_at), local(occurrence.ends_at)))
    reminder = (
        meeting.reminder_minutes if meeting.reminder_minutes is not None else reminder_minutes
    )
    return CalendarEntry(
        uid=meeting_uid(meeting, host),
        summary=clean_line(meeting.title) or "",
        start=local(meeting.starts_at),
        end=local(meeting.ends_at),
        stamp=meeting.updated_at,
        sequence=meeting.sequence or 0,
        created=meeting.created_at,
        last_modified=meeting.updated_at,
        description=clean_text(description) or None,
        location=clean_line(location) or clean_line(meeting.online_url) or None,
        url=url or meeting.online_url,
        status=_STATUS[meeting.status],
        categories=(meeting.meeting_type_label, *meeting.themes),
        organizer=organizer,
        attendees=seats.attendees,
        rrule=meeting.rrule,
        exdates=tuple(exdates) if meeting.rrule else (),
        moved=tuple(moved) if meeting.rrule else (),
        reminder_minutes=reminder,
        meeting_id=meeting.id,
    )


def _address(address: Address, *, attendee: bool) -> vCalAddress:
    value = vCalAddress(f"mailto:{clean_line(address.email)}")
    if address.name:
        value.params["CN"] = clean_line(address.name)
    if attendee:
        value.params["CUTYPE"] = "INDIVIDUAL"
        if address.role:
            value.params["ROLE"] = address.role
        if address.partstat:
            value.params["PARTSTAT"] = address.partstat
        if address.rsvp is not None:
            value.params["RSVP"] = "TRUE" if address.rsvp else "FALSE"
    return value


def _event(entry: CalendarEntry, start: Any, end: Any, recurrence_id: Any = None) -> Event:
    # Entries from entry_from_meeting() are clean already; entries built by other code
    # are cleaned here, so that no caller can put a control character in a feed.
    event = Event.new(
        uid=clean_line(entry.uid),
        summary=clean_line(entry.summary),
        start=start,
        end=end,
        stamp=entry.stamp,
        sequence=entry.sequence,
        created=entry.created,
        last_modified=entry.last_modified,
        description=clean_text(entry.description),
        location=clean_line(entry.location),
        url=clean_line(entry.url),
        recurrence_id=recurrence_id,
    )
    categories = [c for c in (clean_line(c) for c in entry.categories) if c]
    if categories:  # Event.new() writes an empty CATEGORIES for an empty list
        event.categories = categories
    event.add("STATUS", entry.status)
    event.add("TRANSP", "TRANSPARENT" if entry.status == "CANCELLED" else "OPAQUE")
    if entry.organizer is not None:
        event.add("ORGANIZER", _address(entry.organizer, attendee=False))
    for attendee in entry.attendees:
        event.add("ATTENDEE", _address(attendee, attendee=True))
    if entry.reminder_minutes is not None and entry.status != "CANCELLED":
        alarm = Alarm.new(description=f"Reminder: {clean_line(entry.summary)}")
        alarm.add("ACTION", "DISPLAY")
        alarm.add("TRIGGER", timedelta(minutes=-entry.reminder_minutes))
        event.add_component(alarm)
    return event


def event_components(entry: CalendarEntry) -> list[Event]:
    """The VEVENTs of one entry: the meeting (or series), then each moved occurrence."""
    master = _event(entry, entry.start, entry.end)
    if entry.rrule:
        master.add("RRULE", vRecur.from_ical(entry.rrule))
        if entry.exdates:
            master.add("EXDATE", list(entry.exdates))
    events = [master]
    for moved in entry.moved:
        events.append(_event(entry, moved.start, moved.end, recurrence_id=moved.recurrence_id))
    return events


class EventCache:
    """A bounded, thread-safe cache: serialised VEVENTs by entry here, and entries by
    meeting version in :mod:`coordination.services.meetings`. A feed re-renders only
    the meetings that changed. When full it starts afresh (one render refills it).
    """

    def __init__(self, maxsize: int = 100_000) -> None:
        self.maxsize = maxsize
        self._data: dict[Hashable, Any] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any:
        return self._data.get(key)

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            if len(self._data) >= self.maxsize:
                self._data.clear()
            self._data[key] = value

    def __len__(self) -> int:
        return len(self._data)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


DEFAULT_CACHE = EventCache()

# Bump when the way an entry becomes VEVENTs changes (``_event``, ``event_components``):
# stored bytes of an older format are then never served. The icalendar version is part
# of it too, since its serialisation may change between releases.
EVENT_FORMAT = f"1|icalendar {icalendar.__version__}"


def entry_fingerprint(entry: CalendarEntry) -> str:
    """A stable digest of everything that goes into an entry's VEVENTs.

    The same in every process (unlike ``hash()``): the reprs of all its fields (strings,
    numbers, dates, ZoneInfo-aware datetimes, frozen dataclasses), so any change to the meeting,
    its invitees' names and answers, its organiser, the host in its UID or its URL gives
    another fingerprint, and so does a new :data:`EVENT_FORMAT`.

    >>> from dataclasses import replace
    >>> first = CalendarEntry("u@h", "Dialogue", date(2026, 3, 3), date(2026, 3, 4),
    ...                       datetime(2026, 1, 1, tzinfo=UTC))
    >>> entry_fingerprint(first) == entry_fingerprint(first)
    True
    >>> entry_fingerprint(first) == entry_fingerprint(replace(first, summary="Other"))
    False
    """
    parts = [EVENT_FORMAT]
    for name in _ENTRY_FIELDS:
        value = getattr(entry, name)
        if name == "attendees":  # the same people sit in many meetings: repr them once
            parts.append(f"({', '.join(_address_text(a) for a in value)})")
        else:
            parts.append(repr(value))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


@lru_cache(maxsize=10_000)
def _address_text(address: Address) -> str:
    return repr(address)


class EventStore(Protocol):
    """A second level below :class:`EventCache` that outlives the process (a table).

    ``fetch`` gives the stored bytes of those fingerprints it has; ``save`` keeps newly
    rendered ones and must never raise: a feed is served whether or not storing works.
    """

    def fetch(self, fingerprints: Sequence[str]) -> Mapping[str, bytes]: ...

    def save(self, rendered: Sequence[tuple[CalendarEntry, str, bytes]]) -> None: ...


def serialise_entry(entry: CalendarEntry) -> bytes:
    """One entry's VEVENTs serialised by icalendar (no cache)."""
    return b"".join(event.to_ical() for event in event_components(entry))


def render_entry(entry: CalendarEntry, cache: EventCache | None = DEFAULT_CACHE) -> bytes:
    """One entry's VEVENTs as iCalendar bytes (from the cache when unchanged)."""
    if cache is not None:
        cached = cache.get(entry)
        if cached is not None:
            return cached
    data = serialise_entry(entry)
    if cache is not None:
        cache.put(entry, data)
    return data


def render_entries(
    entries: Sequence[CalendarEntry],
    cache: EventCache | None = DEFAULT_CACHE,
    store: EventStore | None = None,
) -> list[bytes]:
    """Each entry's VEVENT bytes: from the cache, else the store, else icalendar.

    The store is asked once for all entries the cache lacks, and given at once all
    that had to be serialised.
    """
    found: list[bytes | None] = [
        cache.get(entry) if cache is not None else None for entry in entries
    ]
    missing = [i for i, data in enumerate(found) if data is None]
    if store is None or not missing:
        return [
            data if data is not None else render_entry(entries[i], cache)
            for i, data in enumerate(found)
        ]
    fingerprints = {i: entry_fingerprint(entries[i]) for i in missing}
    stored = store.fetch(list(dict.fromkeys(fingerprints.values())))
    rendered: list[tuple[CalendarEntry, str, bytes]] = []
    for i, fingerprint in fingerprints.items():
        data = stored.get(fingerprint)
        if data is None:
            data = serialise_entry(entries[i])
            rendered.append((entries[i], fingerprint, data))
        if cache is not None:
            cache.put(entries[i], data)
        found[i] = data
    if rendered:
        store.save(rendered)
    return found  # type: ignore[return-value]


def _years(entries: Sequence[CalendarEntry]) -> tuple[int, int]:
    """The years a feed's VTIMEZONEs must cover: from the year before its first meeting."""
    years = [entry.start.year for entry in entries] or [2000]
    return min(years) - 1, max(years) + 1


def _shell(
    zones: Iterable[str],
    years: tuple[int, int],
    *,
    name: str,
    description: str | None,
    refresh: timedelta,
) -> Calendar:
    calendar = Calendar.new(
        prodid=PRODID,
        name=clean_line(name),
        description=clean_text(description),
        refresh_interval=refresh,
        calscale="GREGORIAN",
        method="PUBLISH",
        subcomponents=[vtimezone(zone, *years) for zone in sorted(zones)],
    )
    calendar.pop("UID", None)  # Calendar.new() invents a random one; a feed must not change
    # Outlook reads the polling interval from here rather than REFRESH-INTERVAL.
    calendar.add("X-PUBLISHED-TTL", vDuration(refresh))
    return calendar


def build_calendar(
    entries: Sequence[CalendarEntry],
    *,
    name: str,
    description: str | None = None,
    refresh: timedelta = DEFAULT_REFRESH,
) -> Calendar:
    """The whole calendar as one :class:`icalendar.Calendar` (no caching)."""
    zones = set().union(*(entry.timezones for entry in entries)) if entries else set()
    calendar = _shell(zones, _years(entries), name=name, description=description, refresh=refresh)
    for entry in entries:
        for event in event_components(entry):
            calendar.add_component(event)
    return calendar


_END = b"END:VCALENDAR\r\n"


def render_calendar(
    entries: Sequence[CalendarEntry],
    *,
    name: str,
    description: str | None = None,
    refresh: timedelta = DEFAULT_REFRESH,
    cache: EventCache | None = DEFAULT_CACHE,
    store: EventStore | None = None,
) -> bytes:
    """The calendar as bytes: the same bytes as ``build_calendar(...).to_ical()``, faster.

    The shell is serialised by icalendar; each entry's events come from
    :func:`render_entries`: the process's cache, then the ``store`` (bytes kept in the
    database across restarts), and icalendar for what neither has.
    """
    zones = set().union(*(entry.timezones for entry in entries)) if entries else set()
    shell = _shell(
        zones, _years(entries), name=name, description=description, refresh=refresh
    ).to_ical()
    if not shell.endswith(_END):  # pragma: no cover - icalendar always ends this way
        raise RuntimeError("unexpected calendar serialisation")
    body = b"".join(render_entries(entries, cache, store))
    return shell[: -len(_END)] + body + _END


# ---------------------------------------------------------------------------------------
# Import
# ---------------------------------------------------------------------------------------


class CalendarFormatError(ValidationError):
    """The file is not a calendar we can read at all; nothing was imported."""

    def __init__(self, message: str) -> None:
        super().__init__({"file": message})


@dataclass(frozen=True)
class ParsedAttendee:
    email: str
    name: str | None
    role: str | None
    partstat: str | None


@dataclass(frozen=True)
class ParsedEvent:
    """One VEVENT as plain values, already cleaned of control characters."""

    uid: str
    summary: str
    start: datetime  # UTC instant (midnight in ``timezone`` for all-day events)
    end: datetime
    timezone: str  # an IANA zone name
    all_day: bool
    sequence: int = 0
    description: str | None = None
    location: str | None = None
    url: str | None = None
    status: str | None = None
    categories: tuple[str, ...] = ()
    organizer: ParsedAttendee | None = None
    attendees: tuple[ParsedAttendee, ...] = ()
    rrule: str | None = None
    exdates: tuple[datetime, ...] = ()  # UTC instants of cancelled occurrences
    recurrence_id: datetime | None = None  # set on a moved occurrence of a series
    last_modified: datetime | None = None  # LAST-MODIFIED (UTC), when the file says
    reminder_minutes: int | None = None
    notes: tuple[str, ...] = ()  # what was adjusted on the way in

    @property
    def label(self) -> str:
        return f"{self.summary or '(no title)'} [{self.uid}]"


@dataclass(frozen=True)
class Skipped:
    uid: str | None
    summary: str | None
    reason: str

    @property
    def label(self) -> str:
        return f"{self.summary or '(no title)'} [{self.uid or 'no UID'}]"


@dataclass(frozen=True)
class ParsedCalendar:
    events: tuple[ParsedEvent, ...]
    skipped: tuple[Skipped, ...] = field(default_factory=tuple)
    from_us: bool = False  # written by this software (our PRODID)


_MAX_BYTES = 20 * 1024 * 1024


def parse_calendar(data: bytes | str, *, default_timezone: str = "UTC") -> ParsedCalendar:
    """Read an iCalendar file written by Outlook, Google, Thunderbird or anyone else.

    Events we cannot represent are skipped with a reason; a file that is not a
    readable calendar raises :class:`CalendarFormatError`. Floating times (no zone)
    are read in ``default_timezone``.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > _MAX_BYTES:
        raise CalendarFormatError(f"the file is larger than {_MAX_BYTES // 1024 // 1024} MB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise CalendarFormatError(f"the file is not UTF-8 text (byte {error.start})") from None
    if not text.lstrip().upper().startswith("BEGIN:VCALENDAR"):
        raise CalendarFormatError("not an iCalendar file: it does not start with BEGIN:VCALENDAR")
    try:
        calendars = Calendar.from_ical(text, multiple=True)
    except Exception as error:  # icalendar raises ValueError and friends on broken files
        raise CalendarFormatError(f"the file cannot be read as iCalendar: {error}") from None
    if not calendars:
        if "END:VCALENDAR" not in text.upper():
            raise CalendarFormatError("the file is cut short: BEGIN:VCALENDAR is never ended")
        raise CalendarFormatError("the file holds no VCALENDAR")
    for calendar in calendars:
        for component in calendar.walk():
            for prop, message in component.errors:
                if prop is None:  # a content line that could not even be split
                    raise CalendarFormatError(f"broken line in {component.name}: {message}")
    events: list[ParsedEvent] = []
    skipped: list[Skipped] = []
    for calendar in calendars:
        fallback = default_timezone
        declared = calendar.get("X-WR-TIMEZONE")
        if declared and _iana(str(declared)):
            fallback = str(declared)
        vtimezones = {str(tz.get("TZID")): tz for tz in calendar.walk("VTIMEZONE")}
        for component in calendar.walk("VEVENT"):
            try:
                events.append(_parse_event(component, vtimezones, fallback))
            except _Skip as skip:
                skipped.append(
                    Skipped(
                        clean_line(str(component["UID"])) if "UID" in component else None,
                        clean_line(str(component["SUMMARY"])) if "SUMMARY" in component else None,
                        str(skip),
                    )
                )
    from_us = any(str(c.get("PRODID", "")) == PRODID for c in calendars)
    return ParsedCalendar(tuple(events), tuple(skipped), from_us)


class _Skip(Exception):
    pass


@lru_cache(maxsize=1)
def _iana_names() -> frozenset[str]:
    return frozenset(available_timezones())


def _iana(name: str) -> str | None:
    if name in _iana_names():
        return name
    if name in WINDOWS_TO_OLSON:
        return WINDOWS_TO_OLSON[name]
    return None


def _single(component: Any, name: str) -> Any:
    value = component.get(name)
    if isinstance(value, list):
        raise _Skip(f"{name} is given {len(value)} times")
    return value


def _zone_of(
    value: datetime, tzid: str | None, vtimezones: dict[str, Any]
) -> tuple[str, str | None]:
    """The IANA zone of an aware datetime, and a note when we had to settle for UTC."""
    tzinfo = value.tzinfo
    if isinstance(tzinfo, ZoneInfo):
        return tzinfo.key, None
    if value.utcoffset() == timedelta(0) and not tzid:
        return "UTC", None
    candidates: list[str] = []
    if tzid:
        if _iana(tzid):
            candidates.append(_iana(tzid))  # type: ignore[arg-type]
        vtimezone = vtimezones.get(tzid)
        location = vtimezone.get("X-LIC-LOCATION") if vtimezone is not None else None
        if location and _iana(str(location)):
            candidates.append(_iana(str(location)))  # type: ignore[arg-type]
        # Custom names that embed an IANA name ("custom_Pacific/Fiji"): longest match.
        candidates.extend(
            sorted((n for n in _iana_names() if "/" in n and n in tzid), key=len)[::-1]
        )
    for candidate in candidates:
        if value.replace(tzinfo=ZoneInfo(candidate)).utcoffset() == value.utcoffset():
            return candidate, None
    return "UTC", f"time zone {tzid!r} is not a known IANA zone: times kept as UTC instants"


def _all(component: Any, name: str) -> list[Any]:
    value = component.get(name)
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _as_date(value: Any) -> date | None:
    return value if isinstance(value, date) and not isinstance(value, datetime) else None


def _parse_event(component: Any, vtimezones: dict[str, Any], fallback: str) -> ParsedEvent:
    problems = [f"{prop}: {message}" for prop, message in component.errors]
    if problems:
        raise _Skip("; ".join(problems))
    uid = clean_line(str(component.get("UID") or "")) or ""
    if not uid:
        raise _Skip("no UID, so a later import could not recognise it")
    if len(uid) > 255:
        raise _Skip("UID longer than 255 characters")
    dtstart = _single(component, "DTSTART")
    if dtstart is None:
        raise _Skip("no DTSTART")
    if "RDATE" in component:
        raise _Skip("extra dates given by RDATE are not supported; add them as single events")
    recurrence = component.get("RECURRENCE-ID")
    if recurrence is not None and str(recurrence.params.get("RANGE", "")).upper():
        raise _Skip("a RECURRENCE-ID with RANGE=THISANDFUTURE is not supported")
    notes: list[str] = []
    start_value = dtstart.dt
    dtend = _single(component, "DTEND")
    duration = _single(component, "DURATION")
    if _as_date(start_value) is not None:
        all_day = True
        first = start_value
        if dtend is not None and _as_date(dtend.dt) is not None:
            after = dtend.dt
        elif duration is not None:
            after = first + timedelta(days=max(duration.dt.days, 1))
        else:
            after = first + timedelta(days=1)
        if after <= first:
            after = first + timedelta(days=1)
        zone = fallback
        tz = ZoneInfo(zone)
        start = datetime.combine(first, time(), tz).astimezone(UTC)
        end = datetime.combine(after, time(), tz).astimezone(UTC)
    else:
        all_day = False
        if not isinstance(start_value, datetime):
            raise _Skip("DTSTART is neither a date nor a date-time")
        if start_value.tzinfo is None:
            start_value = start_value.replace(tzinfo=ZoneInfo(fallback))
            notes.append(f"floating time read in {fallback}")
        zone, note = _zone_of(start_value, dtstart.params.get("TZID"), vtimezones)
        if note:
            notes.append(note)
        if dtend is not None:
            end_value = dtend.dt
            if not isinstance(end_value, datetime):
                raise _Skip("DTEND is a date while DTSTART is a date-time")
            if end_value.tzinfo is None:
                end_value = end_value.replace(tzinfo=ZoneInfo(fallback))
        elif duration is not None:
            end_value = start_value + duration.dt
        else:
            end_value = start_value
        start = start_value.astimezone(UTC)
        end = end_value.astimezone(UTC)
        if end < start:
            raise _Skip("ends before it starts")
    rrule = None
    rules = component.get("RRULE")
    if rules is not None:
        if isinstance(rules, list):
            raise _Skip("more than one RRULE")
        rrule = rules.to_ical().decode("ascii")
    exdates: list[datetime] = []
    for exdate in _all(component, "EXDATE"):
        for item in exdate.dts:
            exdates.append(_instant(item.dt, zone, all_day))
    recurrence_id = _instant(recurrence.dt, zone, all_day) if recurrence is not None else None
    organizer = _attendee(component.get("ORGANIZER"))
    attendees = tuple(
        a for a in (_attendee(raw) for raw in _all(component, "ATTENDEE")) if a is not None
    )
    categories: list[str] = []
    for category in component.categories:
        text = clean_line(str(category))
        if text:
            categories.append(text)
    sequence = component.get("SEQUENCE")
    status = component.get("STATUS")
    return ParsedEvent(
        uid=uid,
        summary=clean_line(str(component.get("SUMMARY") or "")) or "",
        start=start,
        end=end,
        timezone=zone,
        all_day=all_day,
        sequence=int(sequence) if sequence is not None else 0,
        description=clean_text(str(component["DESCRIPTION"]))
        if "DESCRIPTION" in component
        else None,
        location=clean_line(str(component["LOCATION"])) if "LOCATION" in component else None,
        url=clean_line(str(component["URL"])) if "URL" in component else None,
        status=str(status).upper() if status is not None else None,
        categories=tuple(categories),
        organizer=organizer,
        attendees=attendees,
        rrule=rrule,
        exdates=tuple(exdates),
        recurrence_id=recurrence_id,
        reminder_minutes=_reminder(component),
        last_modified=_last_modified(component),
        notes=tuple(notes),
    )


def _last_modified(component: Any) -> datetime | None:
    value = component.get("LAST-MODIFIED")
    moment = getattr(value, "dt", None)
    if not isinstance(moment, datetime):
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def _instant(value: Any, zone: str, all_day: bool) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=ZoneInfo(zone))
        return value.astimezone(UTC)
    return datetime.combine(value, time(), ZoneInfo(zone)).astimezone(UTC)


def _attendee(value: Any) -> ParsedAttendee | None:
    if value is None:
        return None
    address = str(value)
    if not address.lower().startswith("mailto:"):
        return None
    email = clean_line(address[len("mailto:") :]) or ""
    if "@" not in email:
        return None
    params = getattr(value, "params", {})
    return ParsedAttendee(
        email=email.lower(),
        name=clean_line(params.get("CN")),
        role=(params.get("ROLE") or None),
        partstat=(params.get("PARTSTAT") or None),
    )


def _reminder(component: Any) -> int | None:
    for alarm in component.walk("VALARM"):
        trigger = alarm.get("TRIGGER")
        if trigger is None or not isinstance(trigger.dt, timedelta):
            continue
        if str(trigger.params.get("RELATED", "START")).upper() != "START":
            continue
        if trigger.dt <= timedelta(0):
            return int(-trigger.dt.total_seconds() // 60)
    return None


def check_timezone(name: str) -> str:
    """An IANA zone name, or a ValidationError naming the field.

    >>> check_timezone("Asia/Phnom_Penh")
    'Asia/Phnom_Penh'
    >>> check_timezone("Europe/Geneva")
    Traceback (most recent call last):
    ...
    coordination.errors.ValidationError: timezone: unknown IANA time zone 'Europe/Geneva'
    """
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError({"timezone": f"unknown IANA time zone {name!r}"}) from None
    return name
