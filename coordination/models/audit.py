"""The audit trail: one row per changed record, written in the same transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from coordination.db import Base, UTCDateTime, utcnow
from coordination.models._columns import ReprMixin

__all__ = ["AuditEntry"]


class AuditEntry(ReprMixin, Base):
    """Who changed what, when, from which value to which, and why.

    ``changes`` maps each changed attribute to ``[old, new]`` (JSON-safe values).
    Rows are only ever inserted; no service or view updates or deletes them.
    """

    __tablename__ = "audit_entry"
    __label_attribute__ = "action"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(16))  # create / update / delete
    entity_type: Mapped[str] = mapped_column(String(60), index=True)
    entity_id: Mapped[str] = mapped_column(String(120), index=True)
    entity_label: Mapped[str | None] = mapped_column(String(300))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reason: Mapped[str | None]
