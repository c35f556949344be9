"""Meetings: scheduling, series and their exceptions, invitations, attendance, minutes,
action items, calendar feeds and calendar import.

Times come in as local wall-clock times in the meeting's IANA zone (or as aware
datetimes) and are stored as UTC instants; all-day meetings come in as dates.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr
from icalendar import vRecur
from sqlalchemy import Select, String, exists, or_, select, type_coerce
from sqlalchemy.orm import Session, aliased, selectinload

from coordination.db import begin_writes
from coordination.errors import NotFound, ValidationError
from coordination.interop.ical import (
    Address,
    CalendarEntry,
    EventCache,
    MeetingRecord,
    OccurrenceRecord,
    ParsedEvent,
    Seats,
    check_timezone,
    clean_line,
    clean_text,
    entry_from_record,
    parse_calendar,
    render_calendar,
    seat_address,
)
from coordination.models import (
    ActionItem,
    Body,
    Country,
    Decision,
    Meeting,
    MeetingOccurrence,
    MeetingParticipant,
    Organisation,
    Person,
    Result,
    Theme,
)
from coordination.models.calendar_revision import names_column
from coordination.models.meetings import meeting_theme
from coordination.services.event_store import DatabaseEventStore
from coordination.vocab import (
    ActionStatus,
    BodyType,
    Constituency,
    MeetingStatus,
    MeetingType,
    ParticipantRole,
    Rsvp,
    Sex,
    StakeholderType,
)

__all__ = [
    "AttendanceSummary",
    "ImportReport",
    "Occurrence",
    "OpenAction",
    "add_action_item",
    "add_decision",
    "attendance_summary",
    "calendar_for",
    "cancel_occurrence",
    "compile_minutes",
    "complete_action_item",
    "create_meeting",
    "feed_entries",
    "feed_query",
    "import_calendar",
    "invite",
    "load_meetings",
    "move_occurrence",
    "occurrences",
    "open_action_items",
    "record_attendance",
    "record_rsvp",
    "restore_occurrence",
    "update_meeting",
]

# Entries by meeting version, shared by every feed this process serves.
ENTRY_CACHE = EventCache()

_TEXT_FIELDS = ("title", "description", "venue", "city", "online_url", "agenda", "minutes")
_ONE_LINE = {"title", "venue", "city", "online_url", "ical_uid", "note"}
_LIMITS = {"title": 300, "venue": 200, "city": 120, "online_url": 500}
_SCHEDULE_FIELDS = {"start", "end", "start_date", "end_date", "timezone"}
_PLAIN_FIELDS = {
    "title",
    "description",
    "venue",
    "city",
    "online_url",
    "agenda",
    "minutes",
    "reminder_minutes",
}


# ---------------------------------------------------------------------------------------
# Scheduling
# ---------------------------------------------------------------------------------------


def _aware(value: datetime, zone: ZoneInfo) -> datetime:
    """A wall-clock time in ``zone`` (or an aware datetime) as a UTC instant."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def _schedule(
    timezone: str,
    start: datetime | None,
    end: datetime | None,
    start_date: date | None,
    end_date: date | None,
) -> tuple[datetime, datetime, bool]:
    """(starts_at, ends_at, all_day) from either times or dates, validated."""
    zone = ZoneInfo(check_timezone(timezone))
    if start_date is not None or end_date is not None:
        if start is not None or end is not None:
            raise ValidationError({"start": "give either start and end times or dates, not both"})
        if start_date is None:
            raise ValidationError({"start_date": "an all-day meeting needs its first date"})
        last = end_date or start_date
        if last < start_date:
            raise ValidationError({"end_date": f"ends on {last}, before it starts ({start_date})"})
        starts_at = datetime.combine(start_date, time(), zone).astimezone(UTC)
        ends_at = datetime.combine(last + timedelta(days=1), time(), zone).astimezone(UTC)
        return starts_at, ends_at, True
    if start is None:
        raise ValidationError({"start": "a meeting needs a start time (or dates)"})
    if end is None:
        raise ValidationError({"end": "a meeting needs an end time"})
    starts_at, ends_at = _aware(start, zone), _aware(end, zone)
    if ends_at < starts_at:
        raise ValidationError({"end": "ends before it starts"})
    return starts_at, ends_at, False


_FREQUENCIES = {"DAILY", "WEEKLY", "MONTHLY", "YEARLY"}


def check_rrule(rule: str | None, *, starts_at: datetime, timezone: str) -> str | None:
    """A recurrence rule in canonical form (``FREQ=MONTHLY;BYDAY=1TU``), or a field error.

    A local UNTIL is read in the meeting's zone and written in UTC, as RFC 5545 asks when
    DTSTART has a zone.
    """
    if rule is None or not rule.strip():
        return None
    text = rule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[len("RRULE:") :]
    try:
        recur = vRecur.from_ical(text)
    except (ValueError, TypeError) as error:
        raise ValidationError({"rrule": f"not a recurrence rule: {error}"}) from None
    freq = [str(f).upper() for f in recur.get("FREQ", [])]
    if len(freq) != 1 or freq[0] not in _FREQUENCIES:
        raise ValidationError({"rrule": "FREQ must be one of DAILY, WEEKLY, MONTHLY, YEARLY"})
    if "UNTIL" in recur and "COUNT" in recur:
        raise ValidationError({"rrule": "give UNTIL or COUNT, not both"})
    zone = ZoneInfo(timezone)
    if "UNTIL" in recur:
        until = recur["UNTIL"][0]
        if isinstance(until, datetime):
            recur["UNTIL"] = [_aware(until, zone)]
        else:
            recur["UNTIL"] = [datetime.combine(until, time(23, 59, 59), zone).astimezone(UTC)]
    canonical = recur.to_ical().decode("ascii")
    local_start = starts_at.astimezone(zone).replace(tzinfo=None)
    try:
        parsed = rrulestr(_naive_until(canonical, zone), dtstart=local_start)
        parsed[0]
    except IndexError:
        raise ValidationError({"rrule": "the rule gives no occurrence at all"}) from None
    except (ValueError, TypeError) as error:
        raise ValidationError({"rrule": f"not a recurrence rule: {error}"}) from None
    return canonical


_UNTIL = re.compile(r"UNTIL=(\d{8}T\d{6})Z")


def _naive_until(rule: str, zone: ZoneInfo) -> str:
    """dateutil wants UNTIL in the same (naive, local) terms as DTSTART."""

    def local(match: re.Match[str]) -> str:
        instant = datetime.strptime(match.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
        return "UNTIL=" + instant.astimezone(zone).strftime("%Y%m%dT%H%M%S")

    return _UNTIL.sub(local, rule)


@dataclass(frozen=True)
class Occurrence:
    """One occurrence of a meeting as it will happen (after exceptions)."""

    meeting_id: int
    original_start: datetime
    starts_at: datetime
    ends_at: datetime
    moved: bool = False


def _rule_starts(meeting: Meeting) -> Any:
    """The series' occurrence starts as naive local wall-clock times (an iterator)."""
    zone = meeting.zone
    local_start = meeting.starts_at.astimezone(zone).replace(tzinfo=None)
    return rrulestr(_naive_until(meeting.rrule or "", zone), dtstart=local_start)


def occurrences(meeting: Meeting, start: datetime, end: datetime) -> list[Occurrence]:
    """Occurrences overlapping [start, end): the rule's dates in local time, minus
    cancelled ones, with moved ones at their new time. Wall-clock time is kept across
    daylight-saving changes, as calendar clients do."""
    duration = meeting.ends_at - meeting.starts_at
    exceptions = {o.original_start: o for o in meeting.occurrences}
    found: list[Occurrence] = []
    if not meeting.rrule:
        candidates: Iterable[datetime] = [meeting.starts_at]
    else:
        zone = meeting.zone
        lookback = start.astimezone(zone).replace(tzinfo=None) - duration - timedelta(days=1)
        lookahead = end.astimezone(zone).replace(tzinfo=None) + timedelta(days=1)
        rule = _rule_starts(meeting)
        candidates = [
            local.replace(tzinfo=zone).astimezone(UTC)
            for local in rule.between(lookback, lookahead, inc=True)
        ]
        # Moved occurrences whose original date is outside the window may land in it.
        candidates = sorted(
            set(candidates) | {o.original_start for o in exceptions.values() if not o.cancelled}
        )
    for original in candidates:
        exception = exceptions.get(original)
        if exception is not None and exception.cancelled:
            continue
        if exception is not None and exception.starts_at and exception.ends_at:
            item = Occurrence(meeting.id, original, exception.starts_at, exception.ends_at, True)
        else:
            item = Occurrence(meeting.id, original, original, original + duration)
        if item.starts_at < end and (item.ends_at > start or item.starts_at >= start):
            found.append(item)
    return sorted(found, key=lambda o: o.starts_at)


def _original_start(meeting: Meeting, original: datetime | date) -> datetime:
    """The UTC instant of a rule occurrence, checked against the rule."""
    if not meeting.rrule:
        raise ValidationError({"original_start": "the meeting is not a recurring series"})
    zone = meeting.zone
    if isinstance(original, datetime):
        instant = _aware(original, zone)
    else:
        local = meeting.starts_at.astimezone(zone)
        instant = datetime.combine(original, local.time(), zone).astimezone(UTC)
    local_naive = instant.astimezone(zone).replace(tzinfo=None)
    if local_naive not in _rule_starts(meeting):
        raise ValidationError(
            {"original_start": f"the series has no occurrence at {local_naive:%Y-%m-%d %H:%M}"}
        )
    return instant


def _exception(session: Session, meeting: Meeting, instant: datetime) -> MeetingOccurrence:
    for existing in meeting.occurrences:
        if existing.original_start == instant:
            return existing
    occurrence = MeetingOccurrence(original_start=instant)
    meeting.occurrences.append(occurrence)
    return occurrence


def cancel_occurrence(
    session: Session, meeting: Meeting, original: datetime | date, *, note: str | None = None
) -> MeetingOccurrence:
    """Cancel one occurrence of a series (exported as an EXDATE)."""
    occurrence = _exception(session, meeting, _original_start(meeting, original))
    occurrence.cancelled = True
    occurrence.starts_at = occurrence.ends_at = None
    occurrence.note = _clean(note, "note", 500)
    session.flush()
    return occurrence


def move_occurrence(
    session: Session,
    meeting: Meeting,
    original: datetime | date,
    *,
    start: datetime,
    end: datetime,
    note: str | None = None,
) -> MeetingOccurrence:
    """Move one occurrence of a series (exported as a VEVENT with RECURRENCE-ID)."""
    if meeting.all_day:
        raise ValidationError({"start": "move an all-day series' occurrence by dates instead"})
    instant = _original_start(meeting, original)
    starts_at, ends_at, _ = _schedule(meeting.timezone, start, end, None, None)
    occurrence = _exception(session, meeting, instant)
    occurrence.cancelled = False
    occurrence.starts_at, occurrence.ends_at = starts_at, ends_at
    occurrence.note = _clean(note, "note", 500)
    session.flush()
    return occurrence


def restore_occurrence(session: Session, meeting: Meeting, original: datetime | date) -> None:
    """Undo a cancellation or a move: the occurrence follows the rule again."""
    instant = _original_start(meeting, original)
    for existing in list(meeting.occurrences):
        if existing.original_start == instant:
            meeting.occurrences.remove(existing)
    session.flush()


# ---------------------------------------------------------------------------------------
# Creating and changing meetings
# ---------------------------------------------------------------------------------------


def _clean(value: str | None, name: str, limit: int | None = None) -> str | None:
    """Text without control characters; names and places on one line."""
    text = clean_line(value) if name in _ONE_LINE else clean_text(value)
    if text is not None:
        text = text.strip() or None
    if text is not None and limit is not None and len(text) > limit:
        raise ValidationError({name: f"at most {limit} characters (got {len(text)})"})
    return text


def _vocab(enum: Any, value: Any, name: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        known = ", ".join(member.value for member in enum)
        raise ValidationError({name: f"unknown value {value!r}; use one of {known}"}) from None


def create_meeting(
    session: Session,
    *,
    title: str,
    meeting_type: MeetingType | str,
    timezone: str = "UTC",
    start: datetime | None = None,
    end: datetime | None = None,
    start_date: date | None = None,
    end_date: date | None = None,
    **fields: Any,
) -> Meeting:
    """A new meeting: timed (``start``/``end``, local to ``timezone`` when naive) or
    all-day over one or more dates (``start_date``/``end_date``, inclusive).

    Other fields: description, venue, city, country_code, online_url, status,
    organiser, organiser_person, body, themes, outcomes, rrule, reminder_minutes,
    agenda, minutes, ical_uid.
    """
    meeting = Meeting(
        title="", meeting_type=_vocab(MeetingType, meeting_type, "meeting_type"), sequence=0
    )
    _apply(
        session,
        meeting,
        {
            "title": title,
            "timezone": timezone,
            "start": start,
            "end": end,
            "start_date": start_date,
            "end_date": end_date,
            **fields,
        },
        new=True,
    )
    session.add(meeting)
    session.flush()
    return meeting


def update_meeting(session: Session, meeting: Meeting, **changes: Any) -> Meeting:
    """Change a meeting. Rescheduling takes the same arguments as :func:`create_meeting`;
    give a full schedule (start and end, or dates) when changing it. The UID stays,
    SEQUENCE goes up."""
    _apply(session, meeting, changes, new=False)
    session.flush()
    return meeting


def _apply(session: Session, meeting: Meeting, values: Mapping[str, Any], *, new: bool) -> None:
    unknown = (
        set(values)
        - _SCHEDULE_FIELDS
        - _PLAIN_FIELDS
        - {
            "meeting_type",
            "status",
            "country_code",
            "organiser",
            "organiser_person",
            "body",
            "themes",
            "outcomes",
            "rrule",
            "ical_uid",
        }
    )
    if unknown:
        raise TypeError(f"unknown meeting fields: {', '.join(sorted(unknown))}")
    # Everything is checked before anything is set: a refused change leaves the meeting
    # as it was.
    changes: dict[str, Any] = {}
    for name in _TEXT_FIELDS:
        if name in values:
            changes[name] = _clean(values[name], name, _LIMITS.get(name))
    if "title" in changes and not changes["title"]:
        raise ValidationError({"title": "a meeting needs a title"})
    if "reminder_minutes" in values:
        reminder = values["reminder_minutes"]
        if reminder is not None and (not isinstance(reminder, int) or reminder < 0):
            raise ValidationError({"reminder_minutes": "a number of minutes, 0 or more"})
        changes["reminder_minutes"] = reminder
    if "meeting_type" in values:
        changes["meeting_type"] = _vocab(MeetingType, values["meeting_type"], "meeting_type")
    if "status" in values:
        changes["status"] = _vocab(MeetingStatus, values["status"], "status")
    elif new:
        changes["status"] = MeetingStatus.PLANNED
    if "country_code" in values:
        code = values["country_code"]
        if code is not None and session.get(Country, code.upper()) is None:
            raise ValidationError({"country": f"unknown country code {code!r}"})
        changes["country_code"] = code.upper() if code else None
    for name in ("organiser", "organiser_person", "body"):
        if name in values:
            changes[name] = values[name]
    for name in ("themes", "outcomes"):
        if name in values:
            changes[name] = list(values[name])
    if "ical_uid" in values:
        changes["ical_uid"] = _clean(values["ical_uid"], "ical_uid", 255)
    if new or _SCHEDULE_FIELDS & {k for k, v in values.items() if v is not None}:
        timezone = values.get("timezone") or meeting.timezone or "UTC"
        starts_at, ends_at, all_day = _schedule(
            timezone,
            values.get("start"),
            values.get("end"),
            values.get("start_date"),
            values.get("end_date"),
        )
        if (
            not new
            and meeting.occurrences
            and (starts_at != meeting.starts_at or timezone != meeting.timezone)
        ):
            raise ValidationError(
                {"start": "this series has cancelled or moved occurrences; restore them first"}
            )
        changes.update(timezone=timezone, starts_at=starts_at, ends_at=ends_at, all_day=all_day)
    starts_at = changes.get("starts_at", meeting.starts_at)
    timezone = changes.get("timezone", meeting.timezone)
    rule = check_rrule(
        values.get("rrule", meeting.rrule) if ("rrule" in values or new) else meeting.rrule,
        starts_at=starts_at,
        timezone=timezone,
    )
    if not new and meeting.occurrences and rule:
        zone = ZoneInfo(timezone)
        local_start = starts_at.astimezone(zone).replace(tzinfo=None)
        starts = rrulestr(_naive_until(rule, zone), dtstart=local_start)
        stray = [
            o
            for o in meeting.occurrences
            if o.original_start.astimezone(zone).replace(tzinfo=None) not in starts
        ]
        if stray:
            raise ValidationError(
                {
                    "rrule": f"{len(stray)} cancelled or moved occurrence(s) are not in the "
                    "new rule; restore them first"
                }
            )
    changes["rrule"] = rule
    for name, value in changes.items():
        setattr(meeting, name, value)
    if not rule and meeting.occurrences:
        meeting.occurrences.clear()  # a single meeting has no exceptions


# ---------------------------------------------------------------------------------------
# Participants and attendance
# ---------------------------------------------------------------------------------------


def invite(
    session: Session,
    meeting: Meeting,
    *,
    person: Person | None = None,
    organisation: Organisation | None = None,
    role: ParticipantRole | str = ParticipantRole.PARTICIPANT,
) -> MeetingParticipant:
    """Invite a person (for an organisation, by default their own) or an organisation.

    Inviting someone already invited changes their role instead of adding them twice.
    """
    if person is None and organisation is None:
        raise ValidationError({"participant": "invite a person or an organisation"})
    chosen: ParticipantRole = _vocab(ParticipantRole, role, "role")
    for participant in meeting.participants:
        same_person = person is not None and participant.person is person
        same_organisation = (
            person is None
            and participant.person is None
            and participant.organisation is organisation
        )
        if same_person or same_organisation:
            participant.role = chosen
            if organisation is not None:
                participant.organisation = organisation
            session.flush()
            return participant
    participant = MeetingParticipant(
        person=person,
        organisation=organisation if organisation is not None else None,
        role=chosen,
        rsvp=Rsvp.NEEDS_ACTION,
    )
    meeting.participants.append(participant)
    session.flush()
    return participant


def record_rsvp(session: Session, participant: MeetingParticipant, rsvp: Rsvp | str) -> None:
    participant.rsvp = _vocab(Rsvp, rsvp, "rsvp")
    session.flush()


def record_attendance(session: Session, participant: MeetingParticipant, attended: bool) -> None:
    participant.attended = bool(attended)
    session.flush()


@dataclass(frozen=True)
class AttendanceSummary:
    """Who was invited and who came, by sex (people) and tripartite constituency (seats).

    ``tripartite_balanced``: government, employers and workers all take part and the
    largest of the three groups is at most ``max_ratio`` times the smallest. Before a
    meeting is held, invitations are counted; afterwards, actual attendance.
    """

    invited: int
    attended: int
    by_sex: dict[str, int]
    by_constituency: dict[str, int]
    counted: str  # "attended" or "invited"
    tripartite_balanced: bool
    missing_constituencies: tuple[str, ...] = ()


_TRIPARTITE = ("government", "employers", "workers")


def attendance_summary(meeting: Meeting, *, max_ratio: float = 2.0) -> AttendanceSummary:
    participants = list(meeting.participants)
    if any(p.attended is not None for p in participants):
        counted, seats = "attended", [p for p in participants if p.attended]
    else:
        counted = "invited"
        seats = [p for p in participants if p.rsvp is not Rsvp.DECLINED]
    by_sex: Counter[str] = Counter({sex.value: 0 for sex in Sex})
    by_constituency: Counter[str] = Counter({name: 0 for name in (*_TRIPARTITE, "other")})
    for seat in seats:
        if seat.person is not None:
            by_sex[seat.person.sex.value] += 1
        organisation = seat.represented_organisation
        constituency = organisation.constituency if organisation is not None else Constituency.NONE
        key = constituency.value if constituency is not Constituency.NONE else "other"
        by_constituency[key] += 1
    sizes = [by_constituency[name] for name in _TRIPARTITE]
    missing = tuple(name for name in _TRIPARTITE if by_constituency[name] == 0)
    balanced = not missing and max(sizes) <= max_ratio * min(sizes)
    return AttendanceSummary(
        invited=len(participants),
        attended=sum(1 for p in participants if p.attended),
        by_sex=dict(by_sex),
        by_constituency=dict(by_constituency),
        counted=counted,
        tripartite_balanced=balanced,
        missing_constituencies=missing,
    )


# ---------------------------------------------------------------------------------------
# Decisions, action items, minutes
# ---------------------------------------------------------------------------------------


def add_decision(session: Session, meeting: Meeting, text: str) -> Decision:
    cleaned = _clean(text, "text")
    if not cleaned:
        raise ValidationError({"text": "a decision needs its text"})
    decision = Decision(text=cleaned, position=len(meeting.decisions) + 1)
    meeting.decisions.append(decision)
    session.flush()
    return decision


def add_action_item(
    session: Session,
    meeting: Meeting,
    description: str,
    *,
    owner_person: Person | None = None,
    owner_organisation: Organisation | None = None,
    due_date: date | None = None,
) -> ActionItem:
    text = _clean(description, "description")
    if not text:
        raise ValidationError({"description": "say what is to be done"})
    if owner_person is None and owner_organisation is None:
        raise ValidationError({"owner": "an action item needs an owner (person or organisation)"})
    item = ActionItem(
        description=text,
        owner_person=owner_person,
        owner_organisation=owner_organisation,
        due_date=due_date,
        status=ActionStatus.OPEN,
    )
    meeting.action_items.append(item)
    session.flush()
    return item


def complete_action_item(
    session: Session,
    item: ActionItem,
    *,
    on: date | None = None,
    status: ActionStatus | str = ActionStatus.DONE,
) -> ActionItem:
    item.status = _vocab(ActionStatus, status, "status")
    item.completed_on = (on or date.today()) if item.status is not ActionStatus.OPEN else None
    session.flush()
    return item


@dataclass(frozen=True)
class OpenAction:
    item: ActionItem
    overdue: bool
    days_overdue: int


def open_action_items(
    session: Session,
    *,
    person: Person | None = None,
    organisation: Organisation | None = None,
    today: date | None = None,
) -> list[OpenAction]:
    """Open action items of a person, or of an organisation (including its people's),
    overdue first, then by due date."""
    today = today or date.today()
    query = (
        select(ActionItem)
        .where(ActionItem.status == ActionStatus.OPEN)
        .options(selectinload(ActionItem.meeting), selectinload(ActionItem.owner_person))
    )
    if person is not None:
        query = query.where(ActionItem.owner_person_id == person.id)
    if organisation is not None:
        people = select(Person.id).where(Person.organisation_id == organisation.id)
        query = query.where(
            or_(
                ActionItem.owner_organisation_id == organisation.id,
                ActionItem.owner_person_id.in_(people),
            )
        )
    found = []
    for item in session.scalars(query):
        late = (today - item.due_date).days if item.due_date and item.due_date < today else 0
        found.append(OpenAction(item, late > 0, late))
    far = date.max
    return sorted(found, key=lambda a: (not a.overdue, a.item.due_date or far, a.item.id))


def compile_minutes(meetings: Sequence[Meeting]) -> str:
    """Minutes, decisions and action items of several meetings (a series, a body's year)
    as one Markdown document, oldest first."""
    parts: list[str] = []
    for meeting in sorted(meetings, key=lambda m: m.starts_at):
        when = meeting.local_start
        heading = f"## {meeting.title} — {when:%d %B %Y}"
        if not meeting.all_day:
            heading += f", {when:%H:%M} ({meeting.timezone})"
        parts.append(heading)
        if meeting.status is MeetingStatus.CANCELLED:
            parts.append("_Cancelled._")
            continue
        if meeting.minutes:
            parts.append(meeting.minutes)
        if meeting.decisions:
            parts.append("**Decisions**")
            parts.append("\n".join(f"{i}. {d.text}" for i, d in enumerate(meeting.decisions, 1)))
        if meeting.action_items:
            parts.append("**Action items**")
            lines = []
            for item in meeting.action_items:
                owner = item.owner_person or item.owner_organisation
                due = f", due {item.due_date:%d %b %Y}" if item.due_date else ""
                lines.append(
                    f"- [{'x' if item.status is ActionStatus.DONE else ' '}] "
                    f"{item.description} ({owner}{due}; {item.status.label.lower()})"
                )
            parts.append("\n".join(lines))
        if not (meeting.minutes or meeting.decisions or meeting.action_items):
            parts.append("_No minutes recorded._")
    return "\n\n".join(parts) + "\n" if parts else ""


# ---------------------------------------------------------------------------------------
# Calendar feeds
# ---------------------------------------------------------------------------------------


def feed_query(
    *,
    person: Person | None = None,
    organisation: Organisation | None = None,
    body: Body | None = None,
) -> Select[Any]:
    """The meetings of a feed: a person's (invited or organising), an organisation's
    (it or one of its people invited or organising), a body's, or all."""
    query = select(Meeting)
    if person is not None:
        invited = exists().where(
            MeetingParticipant.meeting_id == Meeting.id, MeetingParticipant.person_id == person.id
        )
        query = query.where(or_(invited, Meeting.organiser_person_id == person.id))
    if organisation is not None:
        people = select(Person.id).where(Person.organisation_id == organisation.id)
        invited = exists().where(
            MeetingParticipant.meeting_id == Meeting.id,
            or_(
                MeetingParticipant.organisation_id == organisation.id,
                MeetingParticipant.person_id.in_(people),
            ),
        )
        query = query.where(
            or_(
                invited,
                Meeting.organiser_id == organisation.id,
                Meeting.organiser_person_id.in_(people),
            )
        )
    if body is not None:
        query = query.where(Meeting.body_id == body.id)
    return query.order_by(Meeting.starts_at, Meeting.id)


def feed_entries(
    session: Session,
    query: Select[Any],
    *,
    host: str,
    url_template: str | None = None,
    reminder_minutes: int | None = None,
    cache: EventCache | None = ENTRY_CACHE,
) -> list[CalendarEntry]:
    """Calendar entries for a feed's meetings, loaded in a fixed number of queries.

    With a ``cache`` only meetings whose version changed since the last call are loaded
    (a meeting's version moves with every change to it, its invitees or exceptions), and
    all of them again once a person, organisation, country or theme was written (the
    calendar's names revision).

    ``url_template`` (e.g. ``"https://example.org/meetings/{id}"``) gives each event's URL.
    Invitees are read as plain rows, not objects: a feed of thousands of meetings has
    tens of thousands of them.
    """
    if cache is None:
        return list(_load_entries(session, query, host, url_template, reminder_minutes).values())
    where = str(session.get_bind().engine.url)
    # The names revision is part of each key: a renamed person or organisation changes
    # events of meetings whose own version stays (coordination.models.calendar_revision).
    versions = session.execute(
        query.with_only_columns(Meeting.id, Meeting.version, Meeting.updated_at, names_column())
    ).all()
    if versions and versions[0][3] is None:  # no revision row: nothing to key names by
        return list(_load_entries(session, query, host, url_template, reminder_minutes).values())
    keys = {
        meeting_id: (
            where,
            names,
            meeting_id,
            version,
            updated,
            host,
            url_template,
            reminder_minutes,
        )
        for meeting_id, version, updated, names in versions
    }
    found = {meeting_id: cache.get(key) for meeting_id, key in keys.items()}
    missing = [meeting_id for meeting_id, entry in found.items() if entry is None]
    if missing:
        subset = query if len(missing) == len(keys) else query.where(Meeting.id.in_(missing))
        for meeting_id, entry in _load_entries(
            session, subset, host, url_template, reminder_minutes
        ).items():
            if meeting_id in keys:
                cache.put(keys[meeting_id], entry)
                found[meeting_id] = entry
    return [found[meeting_id] for meeting_id, _, _, _ in versions if found[meeting_id] is not None]


def _load_entries(
    session: Session,
    query: Select[Any],
    host: str,
    url_template: str | None,
    reminder_minutes: int | None,
) -> dict[int, CalendarEntry]:
    """Entries of the query's meetings from plain rows: four queries, no ORM objects
    (loading 10,000 meetings with their themes, exceptions and organisers as objects
    takes several times longer than reading the same values as rows)."""
    country, organiser = aliased(Country), aliased(Organisation)
    # Aliased: the feed's own conditions have subqueries on person and organisation,
    # which must not be correlated with these joins.
    organiser_person = aliased(Person)
    connection = session.connection()  # Core rows: no ORM bookkeeping per row
    rows = connection.execute(
        query.with_only_columns(
            Meeting.id,
            Meeting.ical_uid,
            Meeting.title,
            type_coerce(Meeting.meeting_type, String),
            type_coerce(Meeting.status, String),
            Meeting.description,
            Meeting.venue,
            Meeting.city,
            country.name,
            Meeting.online_url,
            organiser.name,
            organiser_person.name,
            organiser_person.email,
            Meeting.starts_at,
            Meeting.ends_at,
            Meeting.timezone,
            Meeting.all_day,
            Meeting.rrule,
            Meeting.sequence,
            Meeting.reminder_minutes,
            Meeting.created_at,
            Meeting.updated_at,
        )
        .select_from(Meeting)
        .outerjoin(country, Meeting.country_code == country.code)
        .outerjoin(organiser, Meeting.organiser_id == organiser.id)
        .outerjoin(organiser_person, Meeting.organiser_person_id == organiser_person.id)
    ).all()
    ids = query.with_only_columns(Meeting.id).order_by(None)
    themes: dict[int, list[str]] = {}
    for meeting_id, name in connection.execute(
        select(meeting_theme.c.meeting_id, Theme.name)
        .join(Theme, Theme.id == meeting_theme.c.theme_id)
        .where(meeting_theme.c.meeting_id.in_(ids))
        .order_by(meeting_theme.c.meeting_id, Theme.name)
    ):
        themes.setdefault(meeting_id, []).append(name)
    exceptions: dict[int, list[OccurrenceRecord]] = {}
    for meeting_id, original, cancelled, starts_at, ends_at in connection.execute(
        select(
            MeetingOccurrence.meeting_id,
            MeetingOccurrence.original_start,
            MeetingOccurrence.cancelled,
            MeetingOccurrence.starts_at,
            MeetingOccurrence.ends_at,
        )
        .where(MeetingOccurrence.meeting_id.in_(ids))
        .order_by(MeetingOccurrence.meeting_id, MeetingOccurrence.original_start)
    ):
        exceptions.setdefault(meeting_id, []).append(
            OccurrenceRecord(original, bool(cancelled), starts_at, ends_at)
        )
    seats = _seats_by_meeting(session, query)
    no_seats = Seats()
    entries: dict[int, CalendarEntry] = {}
    labels = {kind.value: kind.label for kind in MeetingType}
    for (
        meeting_id,
        ical_uid,
        title,
        meeting_type,
        status,
        description,
        venue,
        city,
        country_name,
        online_url,
        organiser_name,
        organiser_person_name,
        organiser_person_email,
        starts_at,
        ends_at,
        timezone,
        all_day,
        rrule,
        sequence,
        reminder,
        created_at,
        updated_at,
    ) in rows:
        record = MeetingRecord(
            id=meeting_id,
            ical_uid=ical_uid,
            title=title,
            meeting_type_label=labels[meeting_type],
            status=status,
            description=description,
            venue=venue,
            city=city,
            country_name=country_name,
            online_url=online_url,
            organiser_name=organiser_name,
            organiser_person_name=organiser_person_name,
            organiser_person_email=organiser_person_email,
            starts_at=starts_at,
            ends_at=ends_at,
            timezone=timezone,
            all_day=all_day,
            rrule=rrule,
            sequence=sequence or 0,
            reminder_minutes=reminder,
            created_at=created_at,
            updated_at=updated_at,
            themes=tuple(themes.get(meeting_id, ())),
            occurrences=tuple(exceptions.get(meeting_id, ())),
        )
        entries[meeting_id] = entry_from_record(
            record,
            host=host,
            url=url_template.format(id=meeting_id) if url_template else None,
            reminder_minutes=reminder_minutes,
            seats=seats.get(meeting_id, no_seats),
        )
    return entries


def _seats_by_meeting(session: Session, query: Select[Any]) -> dict[int, Seats]:
    ids = query.with_only_columns(Meeting.id).order_by(None)
    # Plain strings for the vocabularies and Core rows: tens of thousands of seats.
    rows = session.connection().execute(
        select(
            MeetingParticipant.meeting_id,
            type_coerce(MeetingParticipant.role, String),
            type_coerce(MeetingParticipant.rsvp, String),
            Person.name,
            Person.email,
            Organisation.name,
        )
        .outerjoin(Person, MeetingParticipant.person_id == Person.id)
        .outerjoin(Organisation, MeetingParticipant.organisation_id == Organisation.id)
        .where(MeetingParticipant.meeting_id.in_(ids))
        .order_by(MeetingParticipant.meeting_id, MeetingParticipant.id)
    )
    attendees: dict[int, list[Address]] = {}
    organisations: dict[int, set[str]] = {}
    # The same few hundred people sit in thousands of meetings: one Address each.
    addresses: dict[tuple[str | None, str, str, str], Address] = {}
    for meeting_id, role, rsvp, name, email, organisation in rows:
        if email:
            key = (name, email, role, rsvp)
            address = addresses.get(key)
            if address is None:
                address = addresses[key] = seat_address(name, email, role, rsvp)
            attendees.setdefault(meeting_id, []).append(address)
        elif name is None and organisation:
            organisations.setdefault(meeting_id, set()).add(organisation)
    return {
        meeting_id: Seats(
            tuple(attendees.get(meeting_id, ())), tuple(sorted(organisations.get(meeting_id, ())))
        )
        for meeting_id in attendees.keys() | organisations.keys()
    }


def calendar_for(
    session: Session,
    *,
    host: str,
    person: Person | None = None,
    organisation: Organisation | None = None,
    body: Body | None = None,
    meeting: Meeting | None = None,
    url_template: str | None = None,
    reminder_minutes: int | None = None,
) -> bytes:
    """A rendered calendar: one meeting, a person's, an organisation's, a body's, or all."""
    if meeting is not None:
        query = select(Meeting).where(Meeting.id == meeting.id)
        name = meeting.title
    else:
        query = feed_query(person=person, organisation=organisation, body=body)
        subject = person or organisation or body
        name = f"Meetings: {subject.name}" if subject is not None else "Meetings"
    entries = feed_entries(
        session, query, host=host, url_template=url_template, reminder_minutes=reminder_minutes
    )
    return render_calendar(entries, name=name, store=DatabaseEventStore(session))


# ---------------------------------------------------------------------------------------
# Import
# ---------------------------------------------------------------------------------------


@dataclass
class ImportReport:
    """What a calendar import did, event by event."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (event, reason)
    notes: list[tuple[str, str]] = field(default_factory=list)  # (event, what was adjusted)

    def lines(self) -> list[str]:
        out = [
            f"{len(self.created)} created, {len(self.updated)} updated, "
            f"{len(self.unchanged)} unchanged, {len(self.skipped)} skipped"
        ]
        out += [f"skipped {label}: {reason}" for label, reason in self.skipped]
        out += [f"note on {label}: {note}" for label, note in self.notes]
        return out


_OUR_UID = re.compile(r"^meeting-(\d+)@(.+)$")
_STATUS_FROM_ICAL = {
    "CANCELLED": MeetingStatus.CANCELLED,
    "CONFIRMED": MeetingStatus.CONFIRMED,
    "TENTATIVE": MeetingStatus.PLANNED,
}
_RSVP_FROM_ICAL = {
    "ACCEPTED": Rsvp.ACCEPTED,
    "DECLINED": Rsvp.DECLINED,
    "TENTATIVE": Rsvp.TENTATIVE,
    "NEEDS-ACTION": Rsvp.NEEDS_ACTION,
}
_ROLE_FROM_ICAL = {
    "CHAIR": ParticipantRole.CHAIR,
    "REQ-PARTICIPANT": ParticipantRole.PARTICIPANT,
    "OPT-PARTICIPANT": ParticipantRole.OBSERVER,
    "NON-PARTICIPANT": ParticipantRole.OBSERVER,
}


def _find_by_uid(session: Session, uid: str, host: str) -> Meeting | None:
    meeting = session.scalars(select(Meeting).where(Meeting.ical_uid == uid)).first()
    if meeting is None:
        ours = _OUR_UID.match(uid)
        if ours and ours.group(2) == host:
            meeting = session.get(Meeting, int(ours.group(1)))
            if meeting is not None and meeting.ical_uid is not None:
                meeting = None
    return meeting


def import_calendar(
    session: Session, data: bytes | str, *, host: str, default_timezone: str = "UTC"
) -> ImportReport:
    """Create or update meetings from an iCalendar file, matched by UID.

    Re-importing the same file changes nothing; an older copy (lower SEQUENCE) never
    overwrites a newer one. Attendees are linked to the people with their e-mail
    address; unknown addresses are reported, not invented. A file we cannot read raises
    :class:`~coordination.interop.ical.CalendarFormatError` before anything is written;
    the caller's transaction makes the rest all-or-nothing.
    """
    check_timezone(default_timezone)
    parsed = parse_calendar(data, default_timezone=default_timezone)
    begin_writes(session)  # each event's savepoint must nest in the caller's transaction
    report = ImportReport()
    for skipped in parsed.skipped:
        report.skipped.append((skipped.label, skipped.reason))
    masters = [e for e in parsed.events if e.recurrence_id is None]
    moved = [e for e in parsed.events if e.recurrence_id is not None]
    seen: set[str] = set()
    frozen: set[str] = set()
    by_uid: dict[str, Meeting] = {}
    for event in masters:
        if event.uid in seen:
            report.skipped.append((event.label, "the same UID appears twice in the file"))
            continue
        seen.add(event.uid)
        existing = _find_by_uid(session, event.uid, host)
        age = _age(event, existing, parsed.from_us) if existing is not None else "newer"
        if age != "newer":
            # What is stored here is as new or newer (our own export coming back, an
            # old copy of an invitation): leave the meeting and its exceptions alone.
            frozen.add(event.uid)
            if age == "same":
                report.unchanged.append(event.label)
            else:
                report.skipped.append((event.label, age))
            continue
        try:
            with session.begin_nested():
                outcome, meeting = _import_event(session, event, host)
        except ValidationError as error:
            report.skipped.append((event.label, str(error)))
            continue
        by_uid[event.uid] = meeting
        getattr(report, outcome).append(event.label)
        for note in event.notes:
            report.notes.append((event.label, note))
        unknown = _link_attendees(session, meeting, event)
        if unknown:
            report.notes.append(
                (event.label, f"not linked (no person with that e-mail): {', '.join(unknown)}")
            )
    for event in moved:
        if event.uid in frozen:
            report.unchanged.append(f"{event.label} (an occurrence)")
            continue
        series = by_uid.get(event.uid) or _find_by_uid(session, event.uid, host)
        if series is None:
            report.skipped.append(
                (event.label, "a changed occurrence of a series that is not here")
            )
            continue
        before = {(o.original_start, o.starts_at, o.ends_at) for o in series.occurrences}
        try:
            with session.begin_nested():
                move_occurrence(
                    session,
                    series,
                    event.recurrence_id,  # type: ignore[arg-type]
                    start=event.start,
                    end=event.end,
                )
        except ValidationError as error:
            report.skipped.append((event.label, str(error)))
            continue
        after = {(o.original_start, o.starts_at, o.ends_at) for o in series.occurrences}
        label = f"{event.label} (occurrence of {event.recurrence_id:%Y-%m-%d %H:%M} UTC)"
        (report.unchanged if after == before else report.updated).append(label)
    session.flush()
    return report


def _age(event: ParsedEvent, meeting: Meeting, from_us: bool) -> str:
    """ "newer" when the file's event should replace the stored meeting, "same" when it
    is the stored version, else why not.

    A lower SEQUENCE is always older, a higher one always newer. At an equal SEQUENCE a
    meeting that came from another calendar takes that calendar's copy (an identical
    copy then changes nothing). A file this software wrote (an export coming back) at
    an equal SEQUENCE is the stored version: every edit here raises SEQUENCE, so only a
    later LAST-MODIFIED from another installation can make it newer.
    """
    stored = meeting.sequence or 0
    if event.sequence < stored:
        return f"older than the version stored here (SEQUENCE {event.sequence} < {stored})"
    if event.sequence > stored or not (from_us or meeting.ical_uid is None):
        return "newer"
    if event.last_modified is None:
        return "newer"  # nothing to compare: apply it (an identical copy changes nothing)
    if event.last_modified > meeting.updated_at.replace(microsecond=0):
        return "newer"
    return "same"


def _import_event(session: Session, event: ParsedEvent, host: str) -> tuple[str, Meeting]:
    categories = {c.casefold() for c in event.categories}
    meeting_type = next(
        (t for t in MeetingType if t.label.casefold() in categories or t.value in categories),
        MeetingType.OTHER,
    )
    themes = [
        theme
        for theme in session.scalars(select(Theme).order_by(Theme.name))
        if theme.name.casefold() in categories or theme.code in categories
    ]
    organiser_person = None
    if event.organizer is not None:
        organiser_person = session.scalars(
            select(Person).where(Person.email == event.organizer.email)
        ).first()
    location = event.location
    if location and len(location) > _LIMITS["venue"]:
        location = location[: _LIMITS["venue"] - 1] + "…"
    url = event.url if event.url and len(event.url) <= _LIMITS["online_url"] else None
    values: dict[str, Any] = {
        "title": (event.summary or "(no title)")[: _LIMITS["title"]],
        "description": event.description,
        "venue": location,
        "online_url": url,
        "status": _STATUS_FROM_ICAL.get(event.status or "", MeetingStatus.PLANNED),
        "timezone": event.timezone,
        "rrule": event.rrule,
        "reminder_minutes": event.reminder_minutes,
        "meeting_type": meeting_type,
        "themes": themes,
    }
    if organiser_person is not None:
        values["organiser_person"] = organiser_person
    if event.all_day:
        zone = ZoneInfo(event.timezone)
        values["start_date"] = event.start.astimezone(zone).date()
        values["end_date"] = event.end.astimezone(zone).date() - timedelta(days=1)
    else:
        values["start"], values["end"] = event.start, event.end
    meeting = _find_by_uid(session, event.uid, host)
    if meeting is None:
        # Even one of our own UIDs is kept as it is (its meeting was deleted here): a
        # UID never changes, and the next import of the same file must find this one.
        meeting = create_meeting(session, ical_uid=event.uid, **values)
        meeting.sequence = event.sequence
        _apply_exdates(session, meeting, event)
        session.flush()
        return "created", meeting
    before = _snapshot(meeting)
    cancelled = {o.original_start for o in meeting.occurrences if o.cancelled}
    schedule = (meeting.starts_at, meeting.timezone, meeting.rrule)
    new_start = values.get("start") or datetime.combine(
        values.get("start_date") or date.min, time(), ZoneInfo(event.timezone)
    )
    if meeting.occurrences and (
        cancelled != set(event.exdates)
        or schedule
        != (
            new_start.astimezone(UTC),
            event.timezone,
            check_rrule(event.rrule, starts_at=new_start, timezone=event.timezone),
        )
    ):
        # The file's exceptions replace ours; its moved occurrences are applied afterwards.
        meeting.occurrences.clear()
        session.flush()
    update_meeting(session, meeting, **values)
    _apply_exdates(session, meeting, event)
    if event.sequence > (meeting.sequence or 0):
        meeting.sequence = event.sequence  # calendars already hold that SEQUENCE
    session.flush()
    return ("unchanged" if _snapshot(meeting) == before else "updated"), meeting


def _snapshot(meeting: Meeting) -> tuple[Any, ...]:
    return (
        meeting.title,
        meeting.description,
        meeting.venue,
        meeting.online_url,
        meeting.status,
        meeting.timezone,
        meeting.starts_at,
        meeting.ends_at,
        meeting.all_day,
        meeting.rrule,
        meeting.reminder_minutes,
        meeting.meeting_type,
        tuple(t.id for t in meeting.themes),
        tuple((o.original_start, o.cancelled, o.starts_at, o.ends_at) for o in meeting.occurrences),
    )


def _apply_exdates(session: Session, meeting: Meeting, event: ParsedEvent) -> None:
    if not meeting.rrule:
        return
    for instant in event.exdates:
        if meeting.all_day:
            cancel_occurrence(session, meeting, instant.astimezone(meeting.zone).date())
        else:
            cancel_occurrence(session, meeting, instant)


def _link_attendees(session: Session, meeting: Meeting, event: ParsedEvent) -> list[str]:
    emails = [a.email for a in event.attendees]
    if not emails:
        return []
    people = {p.email: p for p in session.scalars(select(Person).where(Person.email.in_(emails)))}
    unknown = []
    for attendee in event.attendees:
        person = people.get(attendee.email)
        if person is None:
            unknown.append(attendee.email)
            continue
        participant = next((p for p in meeting.participants if p.person is person), None)
        role = _ROLE_FROM_ICAL.get((attendee.role or "").upper(), ParticipantRole.PARTICIPANT)
        rsvp = _RSVP_FROM_ICAL.get((attendee.partstat or "").upper(), Rsvp.NEEDS_ACTION)
        if participant is None:
            participant = invite(session, meeting, person=person, role=role)
        elif participant.role is not role:
            participant.role = role
        if participant.rsvp is not rsvp:
            participant.rsvp = rsvp
    session.flush()
    return unknown


# ---------------------------------------------------------------------------------------
# Demo data
# ---------------------------------------------------------------------------------------


def _organisation(session: Session, acronym: str, known: Mapping[str, Any]) -> Organisation:
    found = session.scalars(select(Organisation).where(Organisation.acronym == acronym)).first()
    if found is not None:
        return found
    spec = known.get(acronym)
    if spec is None:
        raise NotFound(f"organisation {acronym!r} is neither in the database nor in the file")
    kind = StakeholderType(spec.get("stakeholder_type", "other"))
    organisation = Organisation(
        acronym=acronym,
        name=spec["name"],
        stakeholder_type=kind,
        constituency=Constituency(spec.get("constituency", kind.default_constituency.value)),
        iati_type=spec.get("iati_type", kind.default_iati_type),
        country_code=spec.get("country"),
    )
    session.add(organisation)
    session.flush()
    return organisation


def _person(
    session: Session, email: str, known: Mapping[str, Any], organisations: Mapping[str, Any]
) -> Person:
    email = email.strip().lower()
    found = session.scalars(select(Person).where(Person.email == email)).first()
    if found is not None:
        return found
    spec = known.get(email)
    if spec is None:
        raise NotFound(f"person {email!r} is neither in the database nor in the file")
    person = Person(
        email=email,
        name=spec["name"],
        sex=Sex(spec.get("sex", "not_stated")),
        job_title=spec.get("job_title"),
        organisation=_organisation(session, spec["organisation"], organisations)
        if spec.get("organisation")
        else None,
    )
    session.add(person)
    session.flush()
    return person


def _body(session: Session, name: str, known: Mapping[str, Any], organisations: Any) -> Body:
    found = session.scalars(select(Body).where(Body.name == name)).first()
    if found is not None:
        return found
    spec = known.get(name)
    if spec is None:
        raise NotFound(f"body {name!r} is neither in the database nor in the file")
    body = Body(
        name=name,
        acronym=spec.get("acronym"),
        body_type=BodyType(spec.get("body_type", "other")),
        convener=_organisation(session, spec["convener"], organisations)
        if spec.get("convener")
        else None,
    )
    session.add(body)
    session.flush()
    return body


def _when(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def load_meetings(session: Session, data: Mapping[str, Any]) -> dict[str, int]:
    """Load demo meetings (``fixtures/demo/meetings.yaml``), idempotently by ``uid``.

    Organisations (by acronym), people (by e-mail) and bodies (by name) are looked up
    and created from the file's ``organisations``/``people``/``bodies`` sections only
    when missing. Local times are read in each meeting's ``timezone``.
    """
    organisations = {o["acronym"]: o for o in data.get("organisations", [])}
    people = {p["email"].lower(): p for p in data.get("people", [])}
    bodies = {b["name"]: b for b in data.get("bodies", [])}
    themes = {t.code: t for t in session.scalars(select(Theme))}
    counts = {"meetings": 0, "skipped": 0}
    for spec in data.get("meetings", []):
        uid = spec["uid"]
        if session.scalars(select(Meeting).where(Meeting.ical_uid == uid)).first() is not None:
            counts["skipped"] += 1
            continue
        values: dict[str, Any] = {
            key: spec[key]
            for key in (
                "description",
                "venue",
                "city",
                "online_url",
                "status",
                "rrule",
                "reminder_minutes",
                "agenda",
                "minutes",
            )
            if key in spec
        }
        if "country" in spec:
            values["country_code"] = spec["country"]
        if "dates" in spec:
            first, *rest = spec["dates"]
            values["start_date"] = date.fromisoformat(str(first))
            values["end_date"] = date.fromisoformat(str(rest[-1])) if rest else None
        else:
            values["start"], values["end"] = _when(spec["start"]), _when(spec["end"])
        if spec.get("organiser"):
            values["organiser"] = _organisation(session, spec["organiser"], organisations)
        if spec.get("organiser_person"):
            values["organiser_person"] = _person(
                session, spec["organiser_person"], people, organisations
            )
        if spec.get("body"):
            values["body"] = _body(session, spec["body"], bodies, organisations)
        try:
            values["themes"] = [themes[code] for code in spec.get("themes", [])]
        except KeyError as error:
            raise ValidationError({"themes": f"unknown theme code {error.args[0]!r}"}) from None
        if spec.get("outcomes"):
            values["outcomes"] = list(
                session.scalars(select(Result).where(Result.code.in_(spec["outcomes"])))
            )
        meeting = create_meeting(
            session,
            title=spec["title"],
            meeting_type=spec["type"],
            timezone=spec.get("timezone", "UTC"),
            ical_uid=uid,
            **values,
        )
        for original in spec.get("cancelled", []):
            cancel_occurrence(session, meeting, _when(original))
        for move in spec.get("moved", []):
            move_occurrence(
                session,
                meeting,
                _when(move["from"]),
                start=_when(move["start"]),
                end=_when(move["end"]),
            )
        for item in spec.get("participants", []):
            person = (
                _person(session, item["person"], people, organisations)
                if item.get("person")
                else None
            )
            organisation = (
                _organisation(session, item["organisation"], organisations)
                if item.get("organisation")
                else None
            )
            participant = invite(
                session,
                meeting,
                person=person,
                organisation=organisation,
                role=item.get("role", "participant"),
            )
            if "rsvp" in item:
                record_rsvp(session, participant, item["rsvp"])
            if "attended" in item:
                record_attendance(session, participant, item["attended"])
        for text in spec.get("decisions", []):
            add_decision(session, meeting, text)
        for action in spec.get("actions", []):
            item = add_action_item(
                session,
                meeting,
                action["description"],
                owner_person=_person(session, action["owner"], people, organisations)
                if action.get("owner")
                else None,
                owner_organisation=_organisation(
                    session, action["owner_organisation"], organisations
                )
                if action.get("owner_organisation")
                else None,
                due_date=date.fromisoformat(str(action["due"])) if action.get("due") else None,
            )
            if action.get("status", "open") != "open":
                complete_action_item(
                    session,
                    item,
                    status=action["status"],
                    on=date.fromisoformat(str(action.get("completed_on", action["due"]))),
                )
        counts["meetings"] += 1
    session.flush()
    return counts
