"""Coordination decisions: what a coordinator concluded about a flagged overlap."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from coordination.db import Base, UTCDateTime, utcnow
from coordination.models._columns import ReprMixin, Timestamped, vocabulary
from coordination.vocab import OverlapDecisionKind

__all__ = ["OverlapDecision"]


class OverlapDecision(ReprMixin, Timestamped, Base):
    """A coordinator's verdict on one pair of interventions, kept until either one changes.

    The pair is stored in canonical order (``a_code < b_code`` as Python compares strings) so that one pair has one
    row. The version and content fingerprint of both interventions at decision time let
    the overlap analysis tell whether the verdict still applies: once either intervention
    is edited (a column, or its themes, places or target groups), the pair comes back.
    """

    __tablename__ = "overlap_decision"
    __label_attribute__ = "decision"
    __table_args__ = (
        UniqueConstraint("a_code", "b_code"),
        # Order is kept by the service (Python string order): a CHECK on "<" would follow
        # the database collation, which differs between SQLite and PostgreSQL locales.
        CheckConstraint("a_code <> b_code", name="two_interventions"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    a_code: Mapped[str] = mapped_column(
        String(80), ForeignKey("intervention.code", ondelete="CASCADE", onupdate="CASCADE")
    )
    b_code: Mapped[str] = mapped_column(
        String(80),
        ForeignKey("intervention.code", ondelete="CASCADE", onupdate="CASCADE"),
        index=True,
    )
    decision: Mapped[OverlapDecisionKind] = mapped_column(
        vocabulary(OverlapDecisionKind, "overlap_decision_kind")
    )
    note: Mapped[str | None]
    decided_by: Mapped[str] = mapped_column(String(254))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    a_version: Mapped[int]
    b_version: Mapped[int]
    a_fingerprint: Mapped[str] = mapped_column(String(64))
    b_fingerprint: Mapped[str] = mapped_column(String(64))

    def audit_text(self) -> str:
        return f"{self.__dict__.get('a_code', '?')} / {self.__dict__.get('b_code', '?')}"
