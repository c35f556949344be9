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

__all__ = ["read_acks", "verify"]


def read_acks(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def verify(url: str, acks: list[dict[str, str]]) -> list[str]:
    """Problems found (empty when every acknowledged write is present)."""
    last: dict[int, Decimal] = {}
    count: Counter[tuple[str, str]] = Counter()
    for ack in acks:
        last[int(ack["period"])] = Decimal(ack["value"])
        count[(ack["writer"], str(ack["period"]))] += 1
    problems = []
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            stored = dict(
                session.execute(
                    select(IndicatorPeriod.id, IndicatorPeriod.actual_value).where(
                        IndicatorPeriod.id.in_(last)
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
    for period, value in sorted(last.items()):
        if stored.get(period) is None or Decimal(stored[period]) != value:
            problems.append(f"period {period}: acknowledged {value}, stored {stored.get(period)}")
    for key in sorted(set(count) | set(audited)):
        if count[key] != audited[key]:
            problems.append(
                f"{key[0]} on period {key[1]}: {count[key]} acknowledged saves, "
                f"{audited[key]} audit rows"
            )
    return problems


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--acks", required=True, type=Path)
    args = parser.parse_args(argv)
    acks = read_acks(args.acks)
    problems = verify(args.database, acks)
    for problem in problems:
        print(problem)
    print(f"{len(acks)} acknowledged writes, {len(problems)} problems")
    raise SystemExit(1 if problems else 0)


if __name__ == "__main__":
    main()
