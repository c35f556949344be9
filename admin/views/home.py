"""The home page: what is in the database and what changed recently."""

from __future__ import annotations

from dataclasses import dataclass

from flask import url_for
from flask_admin import AdminIndexView, expose
from sqlalchemy import select

from admin.auth import RoleRules, current_role
from admin.extensions import db
from coordination.models import AuditEntry
from coordination.vocab import UserRole

__all__ = ["HomeView"]

RECENT_CHANGES = 15
# Record types whose changes a partner or donor may not read in full.
_PRIVATE_TYPES = ("User", "Person", "AuditEntry")


@dataclass(frozen=True)
class Count:
    label: str
    count: int
    url: str | None


class HomeView(RoleRules, AdminIndexView):
    """Counts per entity the user may read, and the latest audit entries."""

    allow_create = allow_edit = allow_delete = False

    @expose()
    def index(self) -> str:
        return self.render(
            "coordination/home.html", counts=self._counts(), recent=self._recent_changes()
        )

    def _counts(self) -> list[Count]:
        counts = []
        for view in self.admin._views:
            model = getattr(view, "model", None)
            if model is None or not view.is_accessible() or model.__name__ == "AuditEntry":
                continue
            query = view.get_count_query()
            counts.append(
                Count(str(view.name), query.scalar() or 0, url_for(f"{view.endpoint}.index_view"))
            )
        return counts

    def _recent_changes(self) -> list[AuditEntry]:
        query = select(AuditEntry).order_by(AuditEntry.occurred_at.desc(), AuditEntry.id.desc())
        if current_role() not in (UserRole.ADMIN, UserRole.MANAGER):
            query = query.where(AuditEntry.entity_type.not_in(_PRIVATE_TYPES))
        return list(db.session.scalars(query.limit(RECENT_CHANGES)))

    def is_visible(self) -> bool:
        return True
