"""After a load run: every acknowledged write is in the database, audited once.

Each writer edits only its own periods, one request at a time, so the order of its
lines in the acknowledgement log is the order of its saves: the last value it saw
acknowledged for a period must be the value stored, and every acknowledged save must
have left exactly one ``update`` row in the audit trail under the writer's name.

    python -m benchmarks.load.verify --database URL --acks acks.jsonl
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from coordination.db import make_engine
from coordination.models import AuditEntry, IndicatorPeriod

__all__ = ["acknowledged", "read_acks", "verify"]


def read_acks(path: Path) -> list[dict[str, str]]:
    """The write log: ``attempt`` and ``ack`` events in the order they happened."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def acknowledged(events: list[dict[str, str]]) -> list[dict[str, str]]:
    return [event for event in events if event.get("event", "ack") == "ack"]


def verify(url: str, events: list[dict[str, str]]) -> list[str]:
    """Problems found (empty when every acknowledged write is present).

    A write that was sent but never acknowledged (the client stopped waiting, the run
    ended) may or may not have been saved; both are correct. So the stored value must
    be the last acknowledged one or one sent after it, and the audit rows must number
    at least the acknowledged saves and at most the attempted ones.
    """
    allowed: dict[int, set[Decimal]] = {}
    acks: Counter[tuple[str, str]] = Counter()
    attempts: Counter[tuple[str, str]] = Counter()
    for event in events:
        period, value = int(event["period"]), Decimal(event["value"])
        key = (event["writer"], str(event["period"]))
        if event.get("event", "ack") == "ack":
            allowed[period] = {value}  # earlier values are now overwritten
            acks[key] += 1
        else:
            allowed.setdefault(period, set()).add(value)
            attempts[key] += 1
    problems = []
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            stored = dict(
                session.execute(
                    select(IndicatorPeriod.id, IndicatorPeriod.actual_value).where(
                        IndicatorPeriod.id.in_(allowed)
                    )
                ).all()
            )
            audited = Counter(
                {
                    (actor, entity_id): n
                    for actor, entity_id, n in session.execute(
                        select(AuditEntry.actor, AuditEntry.entity_id, func.count())
                        .where(
                            AuditEntry.entity_type == "IndicatorPeriod",
                            AuditEntry.action == "update",
                            AuditEntry.actor.like("writer%@load.example"),
                        )
                        .group_by(AuditEntry.actor, AuditEntry.entity_id)
                    )
                }
            )
    finally:
        engine.dispose()
    acked_periods = {int(key[1]) for key in acks}
    for period, values in sorted(allowed.items()):
        if period not in acked_periods:
            continue  # only unacknowledged attempts: either outcome is correct
        value = stored.get(period)
        if value is None or Decimal(value) not in values:
            problems.append(f"period {period}: stored {value}, expected one of {sorted(values)}")
    for key in sorted(set(acks) | set(attempts) | set(audited)):
        if not acks[key] <= audited[key] <= max(attempts[key], acks[key]):
            problems.append(
                f"{key[0]} on period {key[1]}: {acks[key]} acknowledged of "
                f"{attempts[key]} sent, {audited[key]} audit rows"
            )
    return problems


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--acks", required=True, type=Path)
    args = parser.parse_args(argv)
    events = read_acks(args.acks)
    problems = verify(args.database, events)
    for problem in problems:
        print(problem)
    print(f"{len(acknowledged(events))} acknowledged writes, {len(problems)} problems")
    raise SystemExit(1 if problems else 0)


if __name__ == "__main__":
    main()
