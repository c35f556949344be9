"""Stakeholders: organisations, their people, partnerships between them, standing bodies."""

from __future__ import annotations

from datetime import date

from sqlalchemy import CheckConstraint, Column, ForeignKey, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from coordination.db import Base
from coordination.models._columns import ReprMixin, Timestamped, Versioned, vocabulary
from coordination.models.reference import Country, Theme
from coordination.vocab import (
    BodyRole,
    BodyType,
    Constituency,
    PartnershipType,
    Sex,
    StakeholderType,
)

__all__ = ["Body", "BodyMembership", "Organisation", "Partnership", "Person"]


class Organisation(ReprMixin, Timestamped, Versioned, Base):
    __tablename__ = "organisation"
    __label_attribute__ = "acronym"
    __table_args__ = (
        CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    acronym: Mapped[str] = mapped_column(String(40), unique=True)
    stakeholder_type: Mapped[StakeholderType] = mapped_column(
        vocabulary(StakeholderType, "stakeholder_type")
    )
    constituency: Mapped[Constituency] = mapped_column(vocabulary(Constituency, "constituency"))
    iati_type: Mapped[int] = mapped_column()  # IATI OrganisationType code
    iati_identifier: Mapped[str | None] = mapped_column(String(100), unique=True)
    country_code: Mapped[str | None] = mapped_column(ForeignKey("country.code"), index=True)
    website: Mapped[str | None] = mapped_column(String(300))
    description: Mapped[str | None]
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="SET NULL"), index=True
    )

    country: Mapped[Country | None] = relationship()
    parent: Mapped[Organisation | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Organisation]] = relationship(back_populates="parent")
    people: Mapped[list[Person]] = relationship(back_populates="organisation")
    memberships: Mapped[list[BodyMembership]] = relationship(back_populates="organisation")
    partnerships: Mapped[list[Partnership]] = relationship(
        secondary="partnership_member", back_populates="members"
    )

    def __str__(self) -> str:
        return f"{self.acronym} — {self.name}" if self.acronym != self.name else self.name


class Person(ReprMixin, Timestamped, Versioned, Base):
    """A contact person. Partners see only the people of their own organisation."""

    __tablename__ = "person"
    __label_attribute__ = "name"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="SET NULL"), index=True
    )
    job_title: Mapped[str | None] = mapped_column(String(200))
    sex: Mapped[Sex] = mapped_column(vocabulary(Sex, "sex"), default=Sex.NOT_STATED)
    active: Mapped[bool] = mapped_column(default=True)

    organisation: Mapped[Organisation | None] = relationship(back_populates="people")
    memberships: Mapped[list[BodyMembership]] = relationship(back_populates="person")

    @validates("email")
    def _normalise_email(self, _key: str, value: str | None) -> str | None:
        return value.strip().lower() or None if value else None


partnership_member = Table(
    "partnership_member",
    Base.metadata,
    Column("partnership_id", ForeignKey("partnership.id", ondelete="CASCADE"), primary_key=True),
    Column("organisation_id", ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True),
)
partnership_theme = Table(
    "partnership_theme",
    Base.metadata,
    Column("partnership_id", ForeignKey("partnership.id", ondelete="CASCADE"), primary_key=True),
    Column("theme_id", ForeignKey("theme.id", ondelete="CASCADE"), primary_key=True),
)
partnership_country = Table(
    "partnership_country",
    Base.metadata,
    Column("partnership_id", ForeignKey("partnership.id", ondelete="CASCADE"), primary_key=True),
    Column("country_code", ForeignKey("country.code", ondelete="CASCADE"), primary_key=True),
)


class Partnership(ReprMixin, Timestamped, Versioned, Base):
    """A recorded relationship between two or more organisations."""

    __tablename__ = "partnership"
    __label_attribute__ = "name"
    __table_args__ = (
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="dates_in_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    partnership_type: Mapped[PartnershipType] = mapped_column(
        vocabulary(PartnershipType, "partnership_type")
    )
    description: Mapped[str | None]
    start_date: Mapped[date | None]
    end_date: Mapped[date | None]

    members: Mapped[list[Organisation]] = relationship(
        secondary=partnership_member, back_populates="partnerships", order_by=Organisation.acronym
    )
    themes: Mapped[list[Theme]] = relationship(secondary=partnership_theme, order_by=Theme.name)
    countries: Mapped[list[Country]] = relationship(
        secondary=partnership_country, order_by=Country.name
    )


body_theme = Table(
    "body_theme",
    Base.metadata,
    Column("body_id", ForeignKey("body.id", ondelete="CASCADE"), primary_key=True),
    Column("theme_id", ForeignKey("theme.id", ondelete="CASCADE"), primary_key=True),
)


class Body(ReprMixin, Timestamped, Versioned, Base):
    """A standing group: a taskforce, a research network, a steering committee."""

    __tablename__ = "body"
    __label_attribute__ = "name"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    acronym: Mapped[str | None] = mapped_column(String(40))
    body_type: Mapped[BodyType] = mapped_column(vocabulary(BodyType, "body_type"))
    description: Mapped[str | None]
    convener_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="SET NULL"), index=True
    )
    established: Mapped[date | None]

    convener: Mapped[Organisation | None] = relationship()
    themes: Mapped[list[Theme]] = relationship(secondary=body_theme, order_by=Theme.name)
    memberships: Mapped[list[BodyMembership]] = relationship(
        back_populates="body", cascade="all, delete-orphan", passive_deletes=True
    )


class BodyMembership(ReprMixin, Timestamped, Base):
    """An organisation or a person sitting on a body, with a role and a time span."""

    __tablename__ = "body_membership"
    __label_attribute__ = "role"
    __audit_parent__ = "body"
    __table_args__ = (
        CheckConstraint(
            "(organisation_id IS NULL) <> (person_id IS NULL)", name="organisation_xor_person"
        ),
        CheckConstraint("until IS NULL OR since IS NULL OR until >= since", name="dates_in_order"),
        UniqueConstraint("body_id", "organisation_id", "person_id", "since"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("body.id", ondelete="CASCADE"))
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[BodyRole] = mapped_column(
        vocabulary(BodyRole, "body_role"), default=BodyRole.MEMBER
    )
    since: Mapped[date | None]
    until: Mapped[date | None]

    body: Mapped[Body] = relationship(back_populates="memberships")
    organisation: Mapped[Organisation | None] = relationship(back_populates="memberships")
    person: Mapped[Person | None] = relationship(back_populates="memberships")

    def audit_text(self) -> str:
        who = self.__dict__.get("organisation") or self.__dict__.get("person")
        label = who.audit_text() if who is not None else "?"
        return f"{label} ({self.role.value if self.role else '?'})"

    def __str__(self) -> str:
        who = self.organisation or self.person
        return f"{who} ({self.role.label if self.role else ''})"
