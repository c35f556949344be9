"""Login accounts and their roles."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from coordination.db import Base, UTCDateTime
from coordination.models._columns import ReprMixin, Timestamped, vocabulary
from coordination.models.organisations import Organisation, Person
from coordination.vocab import UserRole

__all__ = ["User"]


class User(ReprMixin, Timestamped, Base):
    """Someone who can log in.

    Partners belong to an organisation and may edit only its records; the database
    refuses a partner without one.
    """

    __tablename__ = "app_user"  # "user" is reserved in PostgreSQL
    __label_attribute__ = "email"
    __table_args__ = (
        CheckConstraint(
            "role <> 'partner' OR organisation_id IS NOT NULL", name="partner_has_organisation"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[UserRole] = mapped_column(vocabulary(UserRole, "user_role"))
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="RESTRICT"), index=True
    )
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    active: Mapped[bool] = mapped_column(default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Part of every calendar-feed token: raising it revokes the user's old feed URLs.
    feed_token_generation: Mapped[int] = mapped_column(default=0, server_default="0")

    organisation: Mapped[Organisation | None] = relationship()
    person: Mapped[Person | None] = relationship()

    @validates("email")
    def _normalise_email(self, _key: str, value: str) -> str:
        return value.strip().lower()
