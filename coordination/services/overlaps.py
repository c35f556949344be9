"""Recording a coordinator's verdict on an overlapping pair of interventions."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from coordination.analysis.snapshot import fingerprint, load_interventions
from coordination.db import utcnow
from coordination.errors import ValidationError
from coordination.models import OverlapDecision
from coordination.vocab import OverlapDecisionKind

__all__ = ["decide_overlap", "undo_overlap_decision"]


def decide_overlap(
    session: Session,
    a_code: str,
    b_code: str,
    decision: OverlapDecisionKind | str,
    note: str | None,
    actor: str,
) -> OverlapDecision:
    """Record (or replace) the verdict on a pair; it holds until either intervention changes.

    The pair is stored in canonical order, so ``(A, B)`` and ``(B, A)`` are one decision.
    The interventions' version and content fingerprint are taken now: the overlap
    analysis suppresses the pair only while both are unchanged.
    """
    a_code, b_code = (a_code or "").strip(), (b_code or "").strip()
    try:
        kind = OverlapDecisionKind(decision)
    except ValueError:
        known = ", ".join(k.value for k in OverlapDecisionKind)
        raise ValidationError(
            {"decision": f"unknown decision {decision!r}; use one of {known}"}
        ) from None
    if not actor or not actor.strip():
        raise ValidationError({"decided_by": "say who decides"})
    if a_code == b_code:
        raise ValidationError({"b_code": "a pair needs two different interventions"})
    if b_code < a_code:
        a_code, b_code = b_code, a_code

    session.flush()  # the fingerprint must see pending edits of either intervention
    records = {r.code: r for r in load_interventions(session.connection(), codes=[a_code, b_code])}
    missing = {
        field: f"unknown intervention {code!r}"
        for field, code in (("a_code", a_code), ("b_code", b_code))
        if code not in records
    }
    if missing:
        raise ValidationError(missing)

    existing = session.scalars(
        select(OverlapDecision).where(
            OverlapDecision.a_code == a_code, OverlapDecision.b_code == b_code
        )
    ).one_or_none()
    row = existing or OverlapDecision(a_code=a_code, b_code=b_code)
    a, b = records[a_code], records[b_code]
    row.decision = kind
    row.note = (note or "").strip() or None
    row.decided_by = actor.strip()
    row.decided_at = utcnow()
    row.a_version, row.b_version = a.version, b.version
    row.a_fingerprint, row.b_fingerprint = fingerprint(a), fingerprint(b)
    if existing is None:
        session.add(row)
    session.flush()
    return row


def undo_overlap_decision(session: Session, a_code: str, b_code: str) -> bool:
    """Forget the verdict on a pair (it is flagged again); False if there was none."""
    a_code, b_code = sorted(((a_code or "").strip(), (b_code or "").strip()))
    row = session.scalars(
        select(OverlapDecision).where(
            OverlapDecision.a_code == a_code, OverlapDecision.b_code == b_code
        )
    ).one_or_none()
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True
