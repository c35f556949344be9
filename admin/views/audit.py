"""The audit trail: read-only, for administrators and managers."""

from __future__ import annotations

import json
from typing import Any

from markupsafe import Markup, escape

from admin.auth import MANAGERS
from admin.views.base import CoordinationModelView

__all__ = ["AuditView"]


def _changes(_view: Any, _context: Any, model: Any, _name: str) -> Markup:
    """``field: old → new`` lines; values are escaped (they are user input)."""
    lines = []
    for field, pair in sorted((model.changes or {}).items()):
        old, new = pair if isinstance(pair, list | tuple) and len(pair) == 2 else (None, pair)
        lines.append(
            Markup("<code>{}</code>: {} &rarr; {}").format(field, _short(old), _short(new))
        )
    return Markup("<br>").join(lines)


def _short(value: Any, limit: int = 120) -> str:
    text = "∅" if value is None else value if isinstance(value, str) else json.dumps(value)
    return escape(text if len(text) <= limit else text[: limit - 1] + "…")


class AuditView(CoordinationModelView):
    """Rows are only ever inserted by the audit listener: no create, edit or delete here."""

    read_roles = MANAGERS
    write_roles = frozenset()
    allow_create = allow_edit = allow_delete = False
    action_disallowed_list = ("delete",)

    column_list = ("occurred_at", "actor", "action", "entity_type", "entity_label", "changes")
    column_searchable_list = ("actor", "entity_label", "entity_id")
    column_filters = ("actor", "action", "entity_type")
    column_default_sort = ("occurred_at", True)
    column_labels = {"occurred_at": "When", "actor": "Who", "entity_type": "Record type"}
    column_formatters = {"changes": _changes}
    column_formatters_detail = {"changes": _changes}
