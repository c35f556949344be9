"""The results chain (logframe): results at any depth, their indicators and periods.

An indicator has disaggregation dimensions (sex, country, any custom one) with their
categories; a period holds the targets, total and per category. Actuals are never
typed into a period: they arrive as :class:`IndicatorUpdate` rows that go through
draft -> submitted -> approved (or returned), and only approved updates count. The
latest approved update of a period is that period's actual.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    Connection,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    event,
    literal,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from coordination.db import Base, UTCDateTime
from coordination.models._columns import ReprMixin, Timestamped, Versioned, vocabulary
from coordination.models.interventions import Project, intervention_result
from coordination.models.organisations import Organisation, Person
from coordination.vocab import IndicatorAggregation, IndicatorMeasure, ResultLevel, UpdateStatus

if TYPE_CHECKING:
    from coordination.models.interventions import Intervention

__all__ = [
    "DimensionCategory",
    "Indicator",
    "IndicatorDimension",
    "IndicatorPeriod",
    "IndicatorUpdate",
    "PeriodTarget",
    "Result",
    "UpdateValue",
    "indicator_progress_cache",
    "mark_progress_stale",
]

VALUE = Numeric(18, 4)


def _number(value: Any) -> str:
    if value is None:
        return "-"
    return format(value.normalize(), "f") if isinstance(value, Decimal) else str(value)


class Result(ReprMixin, Timestamped, Versioned, Base):
    """One node of a project's results chain: goal, outcome, output or activity."""

    __tablename__ = "result"
    __label_attribute__ = "code"
    __table_args__ = (UniqueConstraint("project_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("result.id", ondelete="CASCADE"), index=True
    )
    level: Mapped[ResultLevel] = mapped_column(vocabulary(ResultLevel, "result_level"))
    code: Mapped[str] = mapped_column(String(40))
    title: Mapped[str]
    description: Mapped[str | None]
    assumptions: Mapped[str | None]
    position: Mapped[int] = mapped_column(default=0)

    project: Mapped[Project] = relationship()
    parent: Mapped[Result | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Result]] = relationship(
        back_populates="parent", order_by="Result.position", passive_deletes=True
    )
    indicators: Mapped[list[Indicator]] = relationship(
        back_populates="result", order_by="Indicator.code", passive_deletes=True
    )
    interventions: Mapped[list[Intervention]] = relationship(
        secondary=intervention_result, back_populates="results"
    )

    def __str__(self) -> str:
        return f"{self.code} {self.title}"


class Indicator(ReprMixin, Timestamped, Versioned, Base):
    __tablename__ = "indicator"
    __label_attribute__ = "code"
    __table_args__ = (UniqueConstraint("result_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    result_id: Mapped[int] = mapped_column(ForeignKey("result.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(40))
    title: Mapped[str]
    definition: Mapped[str | None]
    measure: Mapped[IndicatorMeasure] = mapped_column(
        vocabulary(IndicatorMeasure, "indicator_measure"), default=IndicatorMeasure.UNIT
    )
    ascending: Mapped[bool] = mapped_column(default=True)
    unit: Mapped[str | None] = mapped_column(String(60))
    baseline_value: Mapped[Decimal | None] = mapped_column(Numeric(18, 4))
    baseline_date: Mapped[date | None]
    baseline_comment: Mapped[str | None]
    aggregation: Mapped[IndicatorAggregation] = mapped_column(
        vocabulary(IndicatorAggregation, "indicator_aggregation"),
        default=IndicatorAggregation.CUMULATIVE,
    )
    means_of_verification: Mapped[str | None]
    data_source: Mapped[str | None]
    collection_frequency: Mapped[str | None] = mapped_column(String(40))
    # Partners report only on indicators their organisation is responsible for.
    responsible_organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="SET NULL"), index=True
    )
    responsible_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)

    result: Mapped[Result] = relationship(back_populates="indicators")
    periods: Mapped[list[IndicatorPeriod]] = relationship(
        back_populates="indicator", order_by="IndicatorPeriod.start_date", passive_deletes=True
    )
    dimensions: Mapped[list[IndicatorDimension]] = relationship(
        back_populates="indicator",
        order_by="IndicatorDimension.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    responsible_organisation: Mapped[Organisation | None] = relationship()
    responsible_person: Mapped[Person | None] = relationship()

    def __str__(self) -> str:
        return f"{self.code} {self.title}"


class IndicatorPeriod(ReprMixin, Timestamped, Versioned, Base):
    """A reporting period with its targets; actuals come from approved updates.

    ``actual_value`` predates the update workflow and is not read by progress or
    reports: an actual counts only once an :class:`IndicatorUpdate` is approved.
    """

    __tablename__ = "indicator_period"
    __label_attribute__ = "start_date"
    __table_args__ = (
        UniqueConstraint("indicator_id", "start_date"),
        CheckConstraint("end_date >= start_date", name="dates_in_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicator.id", ondelete="CASCADE"))
    start_date: Mapped[date]
    end_date: Mapped[date]
    target_value: Mapped[Decimal | None] = mapped_column(Numeric(18, 4))
    actual_value: Mapped[Decimal | None] = mapped_column(Numeric(18, 4))
    comment: Mapped[str | None]
    locked: Mapped[bool] = mapped_column(default=False)

    indicator: Mapped[Indicator] = relationship(back_populates="periods")
    targets: Mapped[list[PeriodTarget]] = relationship(
        back_populates="period", cascade="all, delete-orphan", passive_deletes=True
    )
    updates: Mapped[list[IndicatorUpdate]] = relationship(
        back_populates="period", order_by="IndicatorUpdate.id", passive_deletes=True
    )

    def __str__(self) -> str:
        return f"{self.start_date} – {self.end_date}"


class IndicatorDimension(ReprMixin, Timestamped, Versioned, Base):
    """A disaggregation dimension of one indicator ("sex", "country", "age group")."""

    __tablename__ = "indicator_dimension"
    __label_attribute__ = "name"
    __table_args__ = (UniqueConstraint("indicator_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicator.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(60))
    position: Mapped[int] = mapped_column(default=0)

    indicator: Mapped[Indicator] = relationship(back_populates="dimensions")
    categories: Mapped[list[DimensionCategory]] = relationship(
        back_populates="dimension",
        order_by="DimensionCategory.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class DimensionCategory(ReprMixin, Base):
    """One category of a dimension ("female"), with its own baseline if known."""

    __tablename__ = "dimension_category"
    __label_attribute__ = "name"
    __audit_parent__ = "dimension"
    __table_args__ = (UniqueConstraint("dimension_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dimension_id: Mapped[int] = mapped_column(
        ForeignKey("indicator_dimension.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(default=0)
    baseline_value: Mapped[Decimal | None] = mapped_column(VALUE)

    dimension: Mapped[IndicatorDimension] = relationship(back_populates="categories")


class PeriodTarget(ReprMixin, Base):
    """A period's target for one disaggregation category."""

    __tablename__ = "period_target"
    __label_attribute__ = "category_id"
    __audit_parent__ = "period"

    period_id: Mapped[int] = mapped_column(
        ForeignKey("indicator_period.id", ondelete="CASCADE"), primary_key=True
    )
    category_id: Mapped[int] = mapped_column(
        ForeignKey("dimension_category.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    target_value: Mapped[Decimal | None] = mapped_column(VALUE)

    period: Mapped[IndicatorPeriod] = relationship(back_populates="targets")
    category: Mapped[DimensionCategory] = relationship()

    def audit_text(self) -> str:
        category = self.__dict__.get("category")
        name = category.name if category is not None else f"#{self.category_id}"
        return f"{name}={_number(self.__dict__.get('target_value'))}"


class IndicatorUpdate(ReprMixin, Timestamped, Versioned, Base):
    """An actual reported for a period, moving through the approval workflow.

    Units and currency use ``value``; percentages use ``numerator`` over
    ``denominator``; qualitative indicators use ``narrative``.
    """

    __tablename__ = "indicator_update"
    __label_attribute__ = "status"
    __table_args__ = (
        CheckConstraint("denominator IS NULL OR denominator > 0", name="denominator_positive"),
        CheckConstraint(
            "numerator IS NULL OR denominator IS NULL OR numerator <= denominator",
            name="numerator_within_denominator",
        ),
        # Finds the approved update that counts for a period (the last one reviewed)
        # with one index seek and no sort: see coordination.services.results.
        Index("ix_indicator_update_counting", "period_id", "status", "reviewed_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(
        ForeignKey("indicator_period.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[UpdateStatus] = mapped_column(
        vocabulary(UpdateStatus, "update_status"), default=UpdateStatus.DRAFT, index=True
    )
    value: Mapped[Decimal | None] = mapped_column(VALUE)
    numerator: Mapped[Decimal | None] = mapped_column(VALUE)
    denominator: Mapped[Decimal | None] = mapped_column(VALUE)
    narrative: Mapped[str | None]
    comment: Mapped[str | None]
    evidence_links: Mapped[list[str]] = mapped_column(JSON, default=list)
    reported_by: Mapped[str] = mapped_column(String(254))
    reporting_organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="SET NULL"), index=True
    )
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by: Mapped[str | None] = mapped_column(String(254))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    return_reason: Mapped[str | None]

    period: Mapped[IndicatorPeriod] = relationship(back_populates="updates")
    reporting_organisation: Mapped[Organisation | None] = relationship()
    values: Mapped[list[UpdateValue]] = relationship(
        back_populates="update", cascade="all, delete-orphan", passive_deletes=True
    )

    def audit_text(self) -> str:
        return f"update #{self.__dict__.get('id', '?')} of period #{self.__dict__.get('period_id')}"


class UpdateValue(ReprMixin, Base):
    """A reported actual for one disaggregation category."""

    __tablename__ = "update_value"
    __label_attribute__ = "category_id"
    __audit_parent__ = "update"
    __table_args__ = (
        CheckConstraint("denominator IS NULL OR denominator > 0", name="denominator_positive"),
        CheckConstraint(
            "numerator IS NULL OR denominator IS NULL OR numerator <= denominator",
            name="numerator_within_denominator",
        ),
    )

    update_id: Mapped[int] = mapped_column(
        ForeignKey("indicator_update.id", ondelete="CASCADE"), primary_key=True
    )
    category_id: Mapped[int] = mapped_column(
        ForeignKey("dimension_category.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    value: Mapped[Decimal | None] = mapped_column(VALUE)
    numerator: Mapped[Decimal | None] = mapped_column(VALUE)
    denominator: Mapped[Decimal | None] = mapped_column(VALUE)

    update: Mapped[IndicatorUpdate] = relationship(back_populates="values")
    category: Mapped[DimensionCategory] = relationship()

    def audit_text(self) -> str:
        category = self.__dict__.get("category")
        name = category.name if category is not None else f"#{self.category_id}"
        if self.__dict__.get("denominator") is not None:
            numerator, denominator = self.__dict__.get("numerator"), self.__dict__["denominator"]
            return f"{name}={_number(numerator)}/{_number(denominator)}"
        return f"{name}={_number(self.__dict__.get('value'))}"


# Each indicator's figures reduced from its periods (coordination.services.progress_snapshot
# documents the payload), so that progress and the logframe need not reduce every period
# on every request. A cache, not data: a plain table written with Core (no audit trail);
# any row may be deleted at any time. ``revision`` is raised, and ``payload`` cleared,
# in the same transaction as any change the figures depend on (the listener below); a
# reader stores a payload only under the revision it read, so one computed before a
# concurrent change can never be stored as current.
indicator_progress_cache = Table(
    "indicator_progress_cache",
    Base.metadata,
    Column("indicator_id", ForeignKey("indicator.id", ondelete="CASCADE"), primary_key=True),
    Column("revision", Integer, nullable=False),
    Column("payload", Text),  # NULL: stale
    Column("points", Text),
)

# What the cached figures are computed from. A change to any of these objects makes
# their indicator's row stale.
_FIGURE_SOURCES = (
    Indicator,
    IndicatorPeriod,
    PeriodTarget,
    IndicatorUpdate,
    UpdateValue,
    IndicatorDimension,
    DimensionCategory,
)


@event.listens_for(Session, "after_flush")
def _mark_progress_stale(session: Session, _context: Any) -> None:
    indicators: set[int] = set()
    periods: set[int] = set()
    updates: set[int] = set()
    dimensions: set[int] = set()
    for obj in [*session.new, *session.dirty, *session.deleted]:
        if not isinstance(obj, _FIGURE_SOURCES):
            continue
        if isinstance(obj, Indicator):
            if obj not in session.new and obj not in session.deleted:
                indicators.add(obj.id)  # its measure decides which actuals count
        elif isinstance(obj, IndicatorPeriod | IndicatorDimension):
            indicators.add(obj.indicator_id)
        elif isinstance(obj, PeriodTarget | IndicatorUpdate):
            periods.add(obj.period_id)
        elif isinstance(obj, UpdateValue):
            updates.add(obj.update_id)
        else:
            dimensions.add(obj.dimension_id)
    if not (indicators or periods or updates or dimensions):
        return
    connection = session.connection()
    # Parents deleted in this flush are gone from these lookups; their indicator is
    # then either deleted too (its cache row with it) or named by the deleted parent.
    if updates:
        periods.update(
            connection.scalars(
                select(IndicatorUpdate.period_id).where(IndicatorUpdate.id.in_(updates))
            )
        )
    if periods:
        indicators.update(
            connection.scalars(
                select(IndicatorPeriod.indicator_id).where(IndicatorPeriod.id.in_(periods))
            )
        )
    if dimensions:
        indicators.update(
            connection.scalars(
                select(IndicatorDimension.indicator_id).where(IndicatorDimension.id.in_(dimensions))
            )
        )
    indicators.discard(None)  # type: ignore[arg-type]
    mark_progress_stale(connection, indicators)


def mark_progress_stale(connection: Connection, indicator_ids: Iterable[int]) -> None:
    """Make the stored figures of these indicators stale, in the caller's transaction.

    ORM flushes call it on their own; call it after changing results data with Core.
    Raises each row's revision and clears its payload, creating the rows that do not
    exist yet (a reader that saw no row must not store what it computed before this
    change), for the indicators that still exist.
    """
    ids = sorted(indicator_ids)
    if ids:
        connection.execute(_stale_statement(connection.dialect.name), {"ids": ids})


@lru_cache(maxsize=2)
def _stale_statement(dialect: str) -> Any:
    table = indicator_progress_cache
    module: Any = postgresql if dialect == "postgresql" else sqlite
    return (
        module.insert(table)
        .from_select(
            ["indicator_id", "revision"],
            select(Indicator.id, literal(1)).where(
                Indicator.id.in_(bindparam("ids", expanding=True))
            ),
        )
        .on_conflict_do_update(
            index_elements=[table.c.indicator_id],
            set_={"revision": table.c.revision + 1, "payload": None, "points": None},
        )
    )
