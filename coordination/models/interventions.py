"""Projects and interventions: who does what, where, when, for whom."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Numeric,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coordination.db import Base
from coordination.models._columns import ReprMixin, Timestamped, Versioned, vocabulary
from coordination.models.organisations import Organisation
from coordination.models.reference import Area, Country, TargetGroup, Theme
from coordination.vocab import (
    ActivityStatus,
    DocumentCategory,
    InterventionType,
    OrganisationRole,
)

if TYPE_CHECKING:
    from coordination.models.results import Result

__all__ = [
    "Intervention",
    "InterventionOrganisation",
    "InterventionPlace",
    "Project",
    "ProjectDocument",
    "ProjectOrganisation",
]


def _link(name: str, left: str, right: str, right_target: str) -> Table:
    """A plain many-to-many link table with cascading deletes on both sides."""
    return Table(
        name,
        Base.metadata,
        Column(f"{left}_id", ForeignKey(f"{left}.id", ondelete="CASCADE"), primary_key=True),
        Column(right, ForeignKey(right_target, ondelete="CASCADE"), primary_key=True),
    )


project_country = _link("project_country", "project", "country_code", "country.code")
project_theme = _link("project_theme", "project", "theme_id", "theme.id")
intervention_theme = _link("intervention_theme", "intervention", "theme_id", "theme.id")
intervention_target_group = _link(
    "intervention_target_group", "intervention", "target_group_id", "target_group.id"
)
intervention_result = _link("intervention_result", "intervention", "result_id", "result.id")


class Project(ReprMixin, Timestamped, Versioned, Base):
    __tablename__ = "project"
    __label_attribute__ = "code"
    __table_args__ = (
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="dates_in_order"),
        CheckConstraint("budget IS NULL OR budget >= 0", name="budget_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None]
    budget: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    currency: Mapped[str | None] = mapped_column(String(3))  # ISO 4217
    start_date: Mapped[date | None]
    end_date: Mapped[date | None]
    status: Mapped[ActivityStatus] = mapped_column(
        vocabulary(ActivityStatus, "activity_status"), default=ActivityStatus.IMPLEMENTATION
    )
    iati_identifier: Mapped[str | None] = mapped_column(String(150), unique=True)

    participations: Mapped[list[ProjectOrganisation]] = relationship(
        back_populates="project", cascade="all, delete-orphan", passive_deletes=True
    )
    countries: Mapped[list[Country]] = relationship(
        secondary=project_country, order_by=Country.name
    )
    themes: Mapped[list[Theme]] = relationship(secondary=project_theme, order_by=Theme.name)
    interventions: Mapped[list[Intervention]] = relationship(back_populates="project")
    # Read-only: documents are written through their own records (and audited as such);
    # a writable collection would also log every added document on the project, and
    # the audit listener would load it in the middle of a flush. The database deletes
    # them with the project (ON DELETE CASCADE). Ordered by content, not by id, so that
    # an exported file imported elsewhere exports its documents in the same order.
    documents: Mapped[list[ProjectDocument]] = relationship(
        viewonly=True,
        order_by=lambda: (ProjectDocument.category, ProjectDocument.title, ProjectDocument.url),
    )

    def organisations(self, role: OrganisationRole) -> list[Organisation]:
        return [p.organisation for p in self.participations if p.role == role]

    @property
    def donors(self) -> list[Organisation]:
        return self.organisations(OrganisationRole.FUNDING)

    @property
    def implementers(self) -> list[Organisation]:
        return self.organisations(OrganisationRole.IMPLEMENTING)

    def __str__(self) -> str:
        return f"{self.code} — {self.title}"


class ProjectDocument(ReprMixin, Timestamped, Versioned, Base):
    """A published document about a project (appraisal, evaluation, report, web page).

    Exported as the activity's IATI ``document-link``; an import matches documents by
    (project, url), which is why a project links to one address only once.
    """

    __tablename__ = "project_document"
    __label_attribute__ = "title"
    __table_args__ = (UniqueConstraint("project_id", "url"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    url: Mapped[str] = mapped_column(String(2000))
    category: Mapped[DocumentCategory] = mapped_column(
        vocabulary(DocumentCategory, "document_category")
    )
    format: Mapped[str] = mapped_column(String(130))  # IANA media type (IATI FileFormat)
    language: Mapped[str | None] = mapped_column(String(2))  # ISO 639-1
    document_date: Mapped[date | None]
    description: Mapped[str | None]

    project: Mapped[Project] = relationship()


class _OrganisationRole(ReprMixin):
    """What project and intervention participations share: an organisation in an IATI role.

    The key columns stay on each class so that their primary keys keep their order.
    """

    __label_attribute__ = "role"
    organisation_id: int
    role: OrganisationRole
    organisation: Organisation

    def __str__(self) -> str:
        return f"{self.organisation} ({self.role.label})"

    def audit_text(self) -> str:
        organisation = self.__dict__.get("organisation")
        who = organisation.acronym if organisation is not None else f"#{self.organisation_id}"
        return f"{who} ({self.role.value if self.role else '?'})"


class ProjectOrganisation(_OrganisationRole, Base):
    """An organisation's part in a project, in IATI's terms (funding, implementing...)."""

    __tablename__ = "project_organisation"
    __audit_parent__ = "project"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), primary_key=True
    )
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[OrganisationRole] = mapped_column(
        vocabulary(OrganisationRole, "organisation_role"), primary_key=True
    )

    project: Mapped[Project] = relationship(back_populates="participations")
    organisation: Mapped[Organisation] = relationship()


class Intervention(ReprMixin, Timestamped, Versioned, Base):
    """One row of a 3W: an organisation doing something, somewhere, for someone, in a time span.

    ``code`` is stable: imports and exports match on it and overlap decisions refer to it.
    An empty ``end_date`` means the intervention is ongoing.
    """

    __tablename__ = "intervention"
    __label_attribute__ = "code"
    __table_args__ = (
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="dates_in_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None]
    intervention_type: Mapped[InterventionType] = mapped_column(
        vocabulary(InterventionType, "intervention_type")
    )
    lead_organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="RESTRICT"), index=True
    )
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("project.id", ondelete="SET NULL"), index=True
    )
    start_date: Mapped[date]
    end_date: Mapped[date | None]
    status: Mapped[ActivityStatus] = mapped_column(
        vocabulary(ActivityStatus, "activity_status"), default=ActivityStatus.IMPLEMENTATION
    )

    lead_organisation: Mapped[Organisation] = relationship()
    project: Mapped[Project | None] = relationship(back_populates="interventions")
    participations: Mapped[list[InterventionOrganisation]] = relationship(
        back_populates="intervention", cascade="all, delete-orphan", passive_deletes=True
    )
    themes: Mapped[list[Theme]] = relationship(secondary=intervention_theme, order_by=Theme.name)
    places: Mapped[list[InterventionPlace]] = relationship(
        back_populates="intervention", cascade="all, delete-orphan", passive_deletes=True
    )
    target_groups: Mapped[list[TargetGroup]] = relationship(
        secondary=intervention_target_group, order_by=TargetGroup.name
    )
    results: Mapped[list[Result]] = relationship(
        secondary=intervention_result, back_populates="interventions"
    )

    def organisations(self, role: OrganisationRole) -> list[Organisation]:
        return [p.organisation for p in self.participations if p.role == role]

    @property
    def partners(self) -> list[Organisation]:
        return self.organisations(OrganisationRole.IMPLEMENTING)

    @property
    def funders(self) -> list[Organisation]:
        return self.organisations(OrganisationRole.FUNDING)

    def __str__(self) -> str:
        return f"{self.code} — {self.title}"


class InterventionOrganisation(_OrganisationRole, Base):
    """A partner organisation's part in an intervention (IATI roles)."""

    __tablename__ = "intervention_organisation"
    __audit_parent__ = "intervention"

    intervention_id: Mapped[int] = mapped_column(
        ForeignKey("intervention.id", ondelete="CASCADE"), primary_key=True
    )
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[OrganisationRole] = mapped_column(
        vocabulary(OrganisationRole, "organisation_role"), primary_key=True
    )

    intervention: Mapped[Intervention] = relationship(back_populates="participations")
    organisation: Mapped[Organisation] = relationship()


class InterventionPlace(ReprMixin, Base):
    """Where an intervention happens: a country, or one area of it.

    The composite foreign key makes it impossible to store an area of another country.
    """

    __tablename__ = "intervention_place"
    __label_attribute__ = "country_code"
    __audit_parent__ = "intervention"
    __table_args__ = (
        UniqueConstraint("intervention_id", "country_code", "area_id"),
        ForeignKeyConstraint(
            ["country_code", "area_id"],
            ["area.country_code", "area.id"],
            name="fk_intervention_place_area_in_country",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    intervention_id: Mapped[int] = mapped_column(
        ForeignKey("intervention.id", ondelete="CASCADE"), index=True
    )
    country_code: Mapped[str] = mapped_column(ForeignKey("country.code"), index=True)
    area_id: Mapped[int | None] = mapped_column(index=True)

    intervention: Mapped[Intervention] = relationship(back_populates="places")
    country: Mapped[Country] = relationship()
    area: Mapped[Area | None] = relationship(
        primaryjoin="InterventionPlace.area_id == Area.id",
        foreign_keys=[area_id],
        viewonly=False,
    )

    def audit_text(self) -> str:
        area = self.__dict__.get("area")
        if area is not None:
            return f"{self.country_code}/{area.code or area.name}"
        return self.country_code if self.area_id is None else f"{self.country_code}/#{self.area_id}"

    def __str__(self) -> str:
        if self.area is not None:
            return f"{self.area.name}, {self.country.name if self.country else self.country_code}"
        return self.country.name if self.country else self.country_code
