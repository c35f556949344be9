"""The results chain (logframe): results at any depth, their indicators and periods.

The foundation keeps this to the structure; the results-framework work adds
disaggregations, the update workflow and progress on top of these tables.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coordination.db import Base
from coordination.models._columns import ReprMixin, Timestamped, Versioned, vocabulary
from coordination.models.interventions import Project, intervention_result
from coordination.vocab import IndicatorMeasure, ResultLevel

if TYPE_CHECKING:
    from coordination.models.interventions import Intervention

__all__ = ["Indicator", "IndicatorPeriod", "Result"]


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

    result: Mapped[Result] = relationship(back_populates="indicators")
    periods: Mapped[list[IndicatorPeriod]] = relationship(
        back_populates="indicator", order_by="IndicatorPeriod.start_date", passive_deletes=True
    )

    def __str__(self) -> str:
        return f"{self.code} {self.title}"


class IndicatorPeriod(ReprMixin, Timestamped, Versioned, Base):
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

    indicator: Mapped[Indicator] = relationship(back_populates="periods")

    def __str__(self) -> str:
        return f"{self.start_date} – {self.end_date}"
