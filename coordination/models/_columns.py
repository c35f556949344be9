"""Column helpers shared by the model modules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Enum, Integer
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from coordination.db import UTCDateTime, utcnow
from coordination.vocab import Vocabulary


def vocabulary(enum: type[Vocabulary], name: str, **kwargs: Any) -> Enum:
    """A portable enum column: VARCHAR plus a named CHECK constraint, never a native type.

    Native PostgreSQL enums need migrations for every new term; a CHECK does not.
    """
    return Enum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        validate_strings=True,
        values_callable=lambda members: [m.value for m in members],
        **kwargs,
    )


class ReprMixin:
    """``<Organisation 3 'ILO'>`` style reprs from one attribute per model."""

    __label_attribute__ = "id"

    def __repr__(self) -> str:
        label = getattr(self, self.__label_attribute__, None)
        return f"<{type(self).__name__} {getattr(self, 'id', None)} {label!r}>"

    def __str__(self) -> str:
        return str(getattr(self, self.__label_attribute__, "") or "")

    def audit_text(self) -> str:
        """A label built from loaded columns only: safe to call while a flush runs."""
        value = self.__dict__.get(self.__label_attribute__)
        return str(value if value is not None else self.__dict__.get("id", "?"))


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Versioned:
    """Optimistic locking: every UPDATE checks and bumps ``version``.

    A stale write (someone else saved first) raises ``StaleDataError`` instead of
    silently overwriting the other person's edit.
    """

    version: Mapped[int] = mapped_column(Integer, nullable=False)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.__table__.c.version}  # type: ignore[attr-defined]
