"""Automatic audit trail for every ORM write.

Listeners on SQLAlchemy's ``Session`` class collect every created, changed or
deleted record at each flush and write one :class:`AuditEntry` per record when the
transaction commits, inside that transaction: the audit row commits or rolls back
with the change itself, whatever the write path (admin form, inline edit, import,
CLI, service call).

Who and why come from the session: ``session.info["actor"]`` (an e-mail address,
``"cli"``...) and an optional ``session.info["audit_reason"]``. Parts of a record
that live in their own table (an intervention's places and partner roles) name
their owner in ``__audit_parent__``; their changes are folded into the owner's
entry so that one edit of an intervention gives one row.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import Session
from sqlalchemy.orm.properties import ColumnProperty
from sqlalchemy.orm.relationships import RelationshipProperty

from coordination.models.audit import AuditEntry

__all__ = ["audit_label", "suspend_audit"]

# Bookkeeping columns that change on every write and say nothing to a reader.
_SKIPPED_ATTRIBUTES = {"created_at", "updated_at", "version"}
_SECRET_ATTRIBUTES = {"password_hash"}
MASK = "********"


def suspend_audit(session: Session) -> None:
    """Stop auditing in this session: only for bulk loads of ISO reference data."""
    session.info["audit"] = False


def audit_label(obj: Any) -> str:
    """A short, human label for a record that needs no further database query."""
    label = getattr(obj, "audit_text", None)
    if callable(label):
        return str(label())
    attribute = getattr(type(obj), "__label_attribute__", "id")
    return str(obj.__dict__.get(attribute, getattr(obj, "id", "?")))


def _plain(value: Any) -> Any:
    """A JSON-safe rendering of an attribute value."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        # format(..., "f"): str() would turn an integral 40.0000 into "4E+1".
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if hasattr(value, "__table__"):
        return audit_label(value)
    return str(value)


def _identity(obj: Any) -> str:
    state = inspect(obj)
    identity = state.identity
    if identity is None:
        # Rows inserted by this flush get their identity key only after it, but their
        # primary key is already set; without it every new row would share the key "?"
        # and a transaction creating several rows of one type would log only one.
        identity = tuple(state.mapper.primary_key_from_instance(obj))
    if not identity or any(part is None for part in identity):
        return "?"
    return ":".join(str(part) for part in identity)


def _column_changes(obj: Any, *, created: bool, deleted: bool) -> dict[str, list[Any]]:
    state = inspect(obj)
    changes: dict[str, list[Any]] = {}
    for prop in state.mapper.iterate_properties:
        if not isinstance(prop, ColumnProperty) or prop.key in _SKIPPED_ATTRIBUTES:
            continue
        key = prop.key
        if created or deleted:
            value = state.dict.get(key)
            if value is None:
                continue
            pair = [None, _plain(value)] if created else [_plain(value), None]
        else:
            history = state.attrs[key].history
            if not history.has_changes():
                continue
            old = history.deleted[0] if history.deleted else None
            new = history.added[0] if history.added else None
            if old == new:
                continue
            pair = [_plain(old), _plain(new)]
        if key in _SECRET_ATTRIBUTES:
            pair = [MASK if pair[0] is not None else None, MASK if pair[1] is not None else None]
        changes[key] = pair
    return changes


def _collection_changes(obj: Any) -> dict[str, list[Any]]:
    """Changes to to-many relationships, as sorted label lists before and after."""
    state = inspect(obj)
    changes: dict[str, list[Any]] = {}
    for prop in state.mapper.iterate_properties:
        if not isinstance(prop, RelationshipProperty) or not prop.uselist or prop.viewonly:
            continue
        history = state.attrs[prop.key].load_history()
        if not (history.added or history.deleted):
            continue
        before = sorted(audit_label(o) for o in [*history.unchanged, *history.deleted])
        after = sorted(audit_label(o) for o in [*history.unchanged, *history.added])
        if before != after:
            changes[prop.key] = [before, after]
    return changes


def _is_audited(obj: Any) -> bool:
    return not isinstance(obj, AuditEntry) and getattr(type(obj), "__audited__", True)


def _entry(session: Session, obj: Any, action: str, changes: dict[str, Any]) -> dict[str, Any]:
    return {
        "actor": session.info.get("actor", "system"),
        "action": action,
        "entity_type": type(obj).__name__,
        "entity_id": _identity(obj),
        "entity_label": audit_label(obj)[:300],
        "changes": changes,
        "reason": session.info.get("audit_reason"),
    }


def _owner(obj: Any) -> Any | None:
    parent_attribute = getattr(type(obj), "__audit_parent__", None)
    if parent_attribute is None:
        return None
    return obj.__dict__.get(parent_attribute) or getattr(obj, parent_attribute, None)


def _collect(session: Session) -> Iterable[dict[str, Any]]:
    entries: dict[int, dict[str, Any]] = {}
    owners: dict[int, Any] = {}

    def record(obj: Any, action: str, changes: dict[str, Any]) -> None:
        key = id(obj)
        if key in entries:
            entries[key]["changes"].update(changes)
        else:
            entries[key] = _entry(session, obj, action, changes)
            owners[key] = obj

    parts: list[tuple[Any, str]] = []
    for action, objects in (
        ("create", session.new),
        ("update", session.dirty),
        ("delete", session.deleted),
    ):
        for obj in objects:
            if not _is_audited(obj):
                continue
            if getattr(type(obj), "__audit_parent__", None):
                parts.append((obj, action))
                continue
            if action == "update" and not session.is_modified(obj, include_collections=True):
                continue
            changes = _column_changes(obj, created=action == "create", deleted=action == "delete")
            if action != "delete":
                changes.update(_collection_changes(obj))
            if action == "update" and not changes:
                continue
            record(obj, action, changes)

    # A part changed in place (a place's area, a participant's attendance) is reported
    # on its owner. Parts added or removed show up in the owner's collection history.
    for part, action in parts:
        owner = _owner(part)
        if owner is None or action != "update" or owner in session.deleted:
            continue
        changes = {
            f"{type(part).__name__}[{_identity(part)}].{k}": v
            for k, v in _column_changes(part, created=False, deleted=False).items()
        }
        if changes:
            record(owner, "create" if owner in session.new else "update", changes)
    return entries.values()


def _merge(pending: dict[tuple[str, str], dict[str, Any]], entry: dict[str, Any]) -> None:
    """Fold a flush's entry into the transaction's entry for the same record.

    Autoflush can split one edit across several flushes; the reader wants one row with
    the value before the transaction and the value after it.
    """
    key = (entry["entity_type"], entry["entity_id"])
    earlier = pending.get(key)
    if earlier is None:
        pending[key] = entry
        return
    if earlier["action"] == "create" and entry["action"] == "delete":
        del pending[key]  # born and gone inside one transaction: nothing to report
        return
    if entry["action"] == "delete":
        earlier["action"] = "delete"
    for attribute, (old, new) in entry["changes"].items():
        if attribute in earlier["changes"]:
            old = earlier["changes"][attribute][0]
        if old == new and earlier["action"] != "create":
            earlier["changes"].pop(attribute, None)
        else:
            earlier["changes"][attribute] = [old, new]
    earlier["entity_label"] = entry["entity_label"]
    earlier["actor"], earlier["reason"] = entry["actor"], entry["reason"]


@event.listens_for(Session, "after_flush")
def _collect_audit_entries(session: Session, _flush_context: Any) -> None:
    if session.info.get("audit") is False:
        return
    pending = session.info.setdefault("_audit_pending", {})
    for entry in _collect(session):
        _merge(pending, entry)


@event.listens_for(Session, "before_commit")
def _write_audit_entries(session: Session) -> None:
    # before_commit runs ahead of the commit's own final flush: flush here so that the
    # last changes are collected, then insert the rows inside the same transaction.
    session.flush()
    pending = session.info.pop("_audit_pending", None)
    rows = [row for row in (pending or {}).values() if row["changes"] or row["action"] != "update"]
    if rows:
        session.connection().execute(insert(AuditEntry), rows)


@event.listens_for(Session, "after_rollback")
def _forget_audit_entries(session: Session) -> None:
    session.info.pop("_audit_pending", None)
