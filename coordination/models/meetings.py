"""Meetings and who takes part in them.

The foundation keeps the core facts; the meetings-and-calendars work adds recurrence,
minutes, action items and iCalendar on top of these tables.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Column, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coordination.db import Base, UTCDateTime
from coordination.models._columns import ReprMixin, Timestamped, Versioned, vocabulary
from coordination.models.organisations import Body, Organisation, Person
from coordination.models.reference import Country, Theme
from coordination.vocab import MeetingStatus, MeetingType, ParticipantRole

__all__ = ["Meeting", "MeetingParticipant"]

meeting_theme = Table(
    "meeting_theme",
    Base.metadata,
    Column("meeting_id", ForeignKey("meeting.id", ondelete="CASCADE"), primary_key=True),
    Column("theme_id", ForeignKey("theme.id", ondelete="CASCADE"), primary_key=True),
)


class Meeting(ReprMixin, Timestamped, Versioned, Base):
    """A meeting. Times are stored in UTC with the IANA zone it takes place in."""

    __tablename__ = "meeting"
    __label_attribute__ = "title"
    __table_args__ = (CheckConstraint("ends_at >= starts_at", name="times_in_order"),)

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

    country: Mapped[Country | None] = relationship()
    organiser: Mapped[Organisation | None] = relationship()
    body: Mapped[Body | None] = relationship()
    themes: Mapped[list[Theme]] = relationship(secondary=meeting_theme, order_by=Theme.name)
    participants: Mapped[list[MeetingParticipant]] = relationship(
        back_populates="meeting", cascade="all, delete-orphan", passive_deletes=True
    )


class MeetingParticipant(ReprMixin, Base):
    """A person or organisation invited to a meeting, and whether they came."""

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

    meeting: Mapped[Meeting] = relationship(back_populates="participants")
    person: Mapped[Person | None] = relationship()
    organisation: Mapped[Organisation | None] = relationship()
