"""Meetings, their series, who takes part, and what they decide.

A meeting's instants are stored in UTC next to the IANA zone it takes place in, so that
a monthly 10:00 meeting in Geneva stays at 10:00 local time across daylight-saving
changes. An all-day meeting runs from midnight of its first date to midnight after its
last date in that zone (``ends_at`` is exclusive, as iCalendar's DTEND is).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    LargeBinary,
    String,
    Table,
    UniqueConstraint,
    event,
    inspect,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, object_session, relationship

from coordination.db import Base, UTCDateTime
from coordination.models._columns import ReprMixin, Timestamped, Versioned, vocabulary
from coordination.models.organisations import Body, Organisation, Person
from coordination.models.reference import Country, Theme
from coordination.models.results import Result
from coordination.vocab import ActionStatus, MeetingStatus, MeetingType, ParticipantRole, Rsvp

__all__ = [
    "ActionItem",
    "Decision",
    "Meeting",
    "MeetingOccurrence",
    "MeetingParticipant",
    "calendar_feed_cache",
    "meeting_ical_cache",
]

meeting_theme = Table(
    "meeting_theme",
    Base.metadata,
    Column("meeting_id", ForeignKey("meeting.id", ondelete="CASCADE"), primary_key=True),
    Column("theme_id", ForeignKey("theme.id", ondelete="CASCADE"), primary_key=True),
)
meeting_result = Table(
    "meeting_result",
    Base.metadata,
    Column("meeting_id", ForeignKey("meeting.id", ondelete="CASCADE"), primary_key=True),
    Column("result_id", ForeignKey("result.id", ondelete="CASCADE"), primary_key=True),
)

# Serialised VEVENTs by the fingerprint of the calendar entry they were made from
# (coordination.interop.ical.entry_fingerprint), so that the first feed after a restart
# need not serialise thousands of events again. A cache, not data: a plain table written
# with Core (no audit trail), rows of a meeting's older versions are pruned when newer
# ones are stored, and any row may be deleted at any time.
meeting_ical_cache = Table(
    "meeting_ical_cache",
    Base.metadata,
    Column("fingerprint", String(64), primary_key=True),
    Column(
        "meeting_id",
        ForeignKey("meeting.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    # The meeting's updated_at the bytes were made for (older ones are pruned).
    Column("updated_at", UTCDateTime, nullable=False),
    Column("body", LargeBinary, nullable=False),
)

# Whole feed bodies by what shapes them (kind of feed, whose, host, URLs, options, the
# revision's epoch) and the calendar revision they were rendered at, so that a restart
# with an unchanged calendar serves a feed with one lookup
# (coordination.services.feed_store). A cache, not data: one row per feed, replaced when
# the feed is rendered at a newer revision; any row may be deleted at any time.
calendar_feed_cache = Table(
    "calendar_feed_cache",
    Base.metadata,
    Column("key", String(64), primary_key=True),
    Column("revision", BigInteger, nullable=False),
    Column("body", LargeBinary, nullable=False),
)


class Meeting(ReprMixin, Timestamped, Versioned, Base):
    """A meeting, or a standing series of them (``rrule`` set).

    ``ical_uid`` holds the UID of a meeting imported from another calendar; meetings
    created here get ``meeting-{id}@{host}`` when exported, so that the UID never
    changes however often a feed is rendered. ``sequence`` is iCalendar's SEQUENCE:
    every change to a meeting raises it so that calendar clients take the update.
    """

    __tablename__ = "meeting"
    __label_attribute__ = "title"
    __table_args__ = (
        CheckConstraint("ends_at >= starts_at", name="times_in_order"),
        CheckConstraint(
            "reminder_minutes IS NULL OR reminder_minutes >= 0", name="reminder_not_negative"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    meeting_type: Mapped[MeetingType] = mapped_column(vocabulary(MeetingType, "meeting_type"))
    description: Mapped[str | None]
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    all_day: Mapped[bool] = mapped_column(default=False)
    venue: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(120))
    country_code: Mapped[str | None] = mapped_column(ForeignKey("country.code"))
    online_url: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[MeetingStatus] = mapped_column(
        vocabulary(MeetingStatus, "meeting_status"), default=MeetingStatus.PLANNED
    )
    organiser_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="SET NULL"), index=True
    )
    body_id: Mapped[int | None] = mapped_column(
        ForeignKey("body.id", ondelete="SET NULL"), index=True
    )
    organiser_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL"), index=True
    )
    rrule: Mapped[str | None] = mapped_column(String(500))
    ical_uid: Mapped[str | None] = mapped_column(String(255), unique=True)
    sequence: Mapped[int] = mapped_column(default=0, server_default="0")
    reminder_minutes: Mapped[int | None]
    agenda: Mapped[str | None]
    minutes: Mapped[str | None]

    country: Mapped[Country | None] = relationship()
    organiser: Mapped[Organisation | None] = relationship()
    organiser_person: Mapped[Person | None] = relationship()
    body: Mapped[Body | None] = relationship()
    themes: Mapped[list[Theme]] = relationship(secondary=meeting_theme, order_by=Theme.name)
    outcomes: Mapped[list[Result]] = relationship(secondary=meeting_result, order_by=Result.code)
    participants: Mapped[list[MeetingParticipant]] = relationship(
        back_populates="meeting",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="MeetingParticipant.id",
    )
    occurrences: Mapped[list[MeetingOccurrence]] = relationship(
        back_populates="meeting",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="MeetingOccurrence.original_start",
    )
    decisions: Mapped[list[Decision]] = relationship(
        back_populates="meeting",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Decision.position",
    )
    action_items: Mapped[list[ActionItem]] = relationship(
        back_populates="meeting",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="ActionItem.id",
    )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def local_start(self) -> datetime:
        return self.starts_at.astimezone(self.zone)

    @property
    def local_end(self) -> datetime:
        return self.ends_at.astimezone(self.zone)

    @property
    def start_date(self) -> date:
        return self.local_start.date()

    @property
    def end_date(self) -> date:
        """The last date the meeting runs on (inclusive, unlike ``ends_at``)."""
        end = self.local_end
        if self.all_day or (end.time() == end.time().min and end.date() > self.start_date):
            return end.date() - timedelta(days=1)
        return end.date()

    @property
    def is_recurring(self) -> bool:
        return bool(self.rrule)


class MeetingOccurrence(ReprMixin, Base):
    """One occurrence of a series that differs from the rule: cancelled, or moved.

    ``original_start`` is where the rule puts it (iCalendar's RECURRENCE-ID); a moved
    occurrence has its own ``starts_at``/``ends_at``.
    """

    __tablename__ = "meeting_occurrence"
    __label_attribute__ = "original_start"
    __audit_parent__ = "meeting"
    __table_args__ = (
        UniqueConstraint("meeting_id", "original_start"),
        CheckConstraint(
            "cancelled OR (starts_at IS NOT NULL AND ends_at IS NOT NULL)",
            name="cancelled_or_moved",
        ),
        CheckConstraint("ends_at IS NULL OR ends_at >= starts_at", name="times_in_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"))
    original_start: Mapped[datetime] = mapped_column(UTCDateTime)
    cancelled: Mapped[bool] = mapped_column(default=False)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(String(500))

    meeting: Mapped[Meeting] = relationship(back_populates="occurrences")


class MeetingParticipant(ReprMixin, Base):
    """A person or organisation invited to a meeting, their answer, and whether they came."""

    __tablename__ = "meeting_participant"
    __label_attribute__ = "role"
    __audit_parent__ = "meeting"
    __table_args__ = (
        CheckConstraint("organisation_id IS NOT NULL OR person_id IS NOT NULL", name="someone"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meeting.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), index=True
    )
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[ParticipantRole] = mapped_column(
        vocabulary(ParticipantRole, "participant_role"), default=ParticipantRole.PARTICIPANT
    )
    attended: Mapped[bool | None]
    rsvp: Mapped[Rsvp] = mapped_column(
        vocabulary(Rsvp, "rsvp"), default=Rsvp.NEEDS_ACTION, server_default="needs_action"
    )

    meeting: Mapped[Meeting] = relationship(back_populates="participants")
    person: Mapped[Person | None] = relationship()
    organisation: Mapped[Organisation | None] = relationship()

    @property
    def represented_organisation(self) -> Organisation | None:
        """The organisation this seat stands for: the given one, else the person's."""
        if self.organisation is not None:
            return self.organisation
        return self.person.organisation if self.person is not None else None

    def audit_text(self) -> str:
        who = self.__dict__.get("person") or self.__dict__.get("organisation")
        label = who.audit_text() if who is not None else "?"
        return f"{label} ({self.role.value if self.role else '?'})"


class Decision(ReprMixin, Timestamped, Base):
    """Something a meeting decided, in the order it was recorded."""

    __tablename__ = "meeting_decision"
    __label_attribute__ = "text"
    __audit_parent__ = "meeting"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meeting.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    text: Mapped[str]

    meeting: Mapped[Meeting] = relationship(back_populates="decisions")


class ActionItem(ReprMixin, Timestamped, Versioned, Base):
    """A task agreed at a meeting: who owns it, by when, and where it stands."""

    __tablename__ = "action_item"
    __label_attribute__ = "description"
    __table_args__ = (
        CheckConstraint(
            "owner_person_id IS NOT NULL OR owner_organisation_id IS NOT NULL", name="has_owner"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meeting.id", ondelete="CASCADE"), index=True
    )
    description: Mapped[str]
    owner_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL"), index=True
    )
    owner_organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="SET NULL"), index=True
    )
    due_date: Mapped[date | None] = mapped_column(index=True)
    status: Mapped[ActionStatus] = mapped_column(
        vocabulary(ActionStatus, "action_status"), default=ActionStatus.OPEN
    )
    completed_on: Mapped[date | None]

    meeting: Mapped[Meeting] = relationship(back_populates="action_items")
    owner_person: Mapped[Person | None] = relationship()
    owner_organisation: Mapped[Organisation | None] = relationship()

    def is_overdue(self, today: date) -> bool:
        return (
            self.status is ActionStatus.OPEN and self.due_date is not None and self.due_date < today
        )


# -- iCalendar bookkeeping ------------------------------------------------------------
# Calendar clients only take an update whose SEQUENCE went up, and a feed's ETag is
# computed from each meeting's version: a change to any part of a meeting that shows
# in its calendar entry (invitees, exceptions) must therefore touch the meeting itself.

_PARTS = (MeetingParticipant, MeetingOccurrence)
_SEQUENCED = "_meetings_sequenced"  # ids of meetings whose SEQUENCE this transaction set


def _bump(session: Session | None, meeting: Meeting) -> None:
    """Raise SEQUENCE once per transaction: a meeting edited in five flushes (or created
    and then given its invitees) is one revision for calendar clients."""
    done: set[int] = session.info.setdefault(_SEQUENCED, set()) if session is not None else set()
    if meeting.id in done:
        return
    if inspect(meeting).attrs.sequence.history.has_changes():
        done.add(meeting.id)
        return  # set explicitly: an import carrying the sender's SEQUENCE
    meeting.sequence = (meeting.sequence or 0) + 1
    done.add(meeting.id)


@event.listens_for(Meeting, "before_update")
def _raise_sequence(_mapper: Any, _connection: Any, meeting: Meeting) -> None:
    # SQLAlchemy calls this for every dirty meeting, even one whose attributes were
    # only set to the values they had: those are not a new revision.
    session = object_session(meeting)
    if session is not None and not session.is_modified(meeting, include_collections=False):
        return
    _bump(session, meeting)


@event.listens_for(Session, "before_flush")
def _touch_meetings_whose_parts_changed(session: Session, _context: Any, _instances: Any) -> None:
    touched: set[Meeting] = set()
    for obj in [*session.new, *session.dirty, *session.deleted]:
        if isinstance(obj, _PARTS):
            if obj in session.dirty and not session.is_modified(obj):
                continue
            meeting = obj.__dict__.get("meeting")
            if meeting is None and obj.meeting_id is not None:
                meeting = session.get(Meeting, obj.meeting_id)
            if meeting is not None:
                touched.add(meeting)
        elif isinstance(obj, Meeting) and obj in session.dirty:
            state = inspect(obj)
            if any(
                state.attrs[key].history.has_changes() for key in ("participants", "occurrences")
            ):
                touched.add(obj)
    done: set[int] = session.info.setdefault(_SEQUENCED, set())
    for meeting in touched:
        if meeting in session.new or meeting in session.deleted or meeting.id in done:
            continue
        # Changing SEQUENCE makes the row dirty, so its version and updated_at move too
        # (the feed's ETag depends on them).
        _bump(session, meeting)


@event.listens_for(Session, "after_flush")
def _remember_new_meetings(session: Session, _context: Any) -> None:
    done: set[int] = session.info.setdefault(_SEQUENCED, set())
    done.update(obj.id for obj in session.new if isinstance(obj, Meeting))


@event.listens_for(Session, "after_transaction_end")
def _forget_sequenced(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_SEQUENCED, None)
