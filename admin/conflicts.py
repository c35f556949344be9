"""Edit conflicts: who changed a record while someone else was editing it, and what.

Every editable record carries a ``version`` (SQLAlchemy's ``version_id_col``). Forms
carry the version they were rendered from (a hidden ``row_version`` field; the list's
inline editor appends it to the row key as ``id~version``). A save whose version is not
the record's current one is refused, and the person is told who changed the record,
when, and what changed, from the audit trail.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from coordination.models import AuditEntry

__all__ = ["EditConflict", "conflict_message", "split_row_key"]

#: separates a row's key from its version in the inline editor's ``list_form_pk``
VERSION_SEPARATOR = "~"


class EditConflict(Exception):
    """A save based on an outdated version of a record; ``str()`` is the message."""


def split_row_key(value: str) -> tuple[str, int | None]:
    """``"12~3"`` -> ``("12", 3)``; a key without a version -> ``(key, None)``."""
    key, separator, version = value.rpartition(VERSION_SEPARATOR)
    if not separator:
        return value, None
    try:
        return key, int(version)
    except ValueError:
        return value, None


def _short(value: Any, limit: int = 80) -> str:
    text = (
        "(empty)"
        if value in (None, "", [])
        else value
        if isinstance(value, str)
        else json.dumps(value)
    )
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _entries(session: Session, model: Any, entity_id: str, steps: int) -> list[AuditEntry]:
    return list(
        session.scalars(
            select(AuditEntry)
            .where(
                AuditEntry.entity_type == type(model).__name__,
                AuditEntry.entity_id == entity_id,
            )
            .order_by(AuditEntry.id.desc())
            .limit(steps)
        )
    )


def conflict_message(session: Session, model: Any, loaded_version: int | None) -> str:
    """Who changed ``model`` since ``loaded_version``, when, and what (from the audit trail)."""
    current = getattr(model, "version", None)
    state = inspect(model)
    entity_id = ":".join(str(part) for part in state.identity or ())
    steps = max(1, (current or 0) - (loaded_version or 0)) if current else 1
    with session.no_autoflush:  # the rejected form's values must never reach the database
        entries = _entries(session, model, entity_id, steps)
    lines = ["Not saved: this record was changed by someone else while you were editing it."]
    if entries:
        latest = entries[0]
        actors = sorted({entry.actor for entry in entries})
        when = latest.occurred_at.strftime("%Y-%m-%d %H:%M UTC")
        lines.append(f"Changed by {', '.join(actors)} at {when}.")
        changes: dict[str, list[Any]] = {}
        for entry in reversed(entries):
            for field, pair in (entry.changes or {}).items():
                old, new = pair if isinstance(pair, list) and len(pair) == 2 else (None, pair)
                changes[field] = [changes[field][0] if field in changes else old, new]
        if changes:
            described = "; ".join(
                f"{field}: {_short(old)} → {_short(new)}"
                for field, (old, new) in sorted(changes.items())
            )
            lines.append(f"What changed: {described}.")
    lines.append(
        "Your changes were not saved. Reload the page to see the current version, "
        "then make your changes again."
    )
    return " ".join(lines)
