"""Build the load-test database: demo scenario, one reader account per role, N writers.

Each writer (a manager) is given its own unlocked indicator periods, so that every
write it makes is expected to succeed and its last acknowledged value per period is
exactly what the database must hold afterwards. The plan (accounts, periods, ids to
open) is written as JSON for the locustfile and for :mod:`benchmarks.load.verify`.

    python -m benchmarks.load.prepare --database sqlite:///load.sqlite --plan plan.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from coordination.commands import transaction
from coordination.commands.database import prepare_database
from coordination.db import make_engine
from coordination.models import Indicator, IndicatorPeriod, Intervention, Organisation
from coordination.services.accounts import create_user
from coordination.services.fixtures import load_fixtures
from coordination.vocab import UserRole

__all__ = ["PASSWORD", "prepare"]

PASSWORD = "load-test-password-2026"
READER_ROLES = (UserRole.DONOR, UserRole.PARTNER, UserRole.MANAGER, UserRole.ADMIN)


def _reset(url: str) -> None:
    """Start from nothing: delete the SQLite file, or empty the PostgreSQL schema."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "")
        for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            stale.unlink(missing_ok=True)
        return
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


def prepare(url: str, writers: int = 5) -> dict[str, Any]:
    """Reset the database behind ``url``, fill it, and return the plan."""
    _reset(url)
    engine = make_engine(url)
    try:
        prepare_database(engine)
        with transaction(engine, actor="load:prepare") as session:
            load_fixtures(session, "demo")
            partner_org = session.scalars(
                select(Organisation).order_by(Organisation.id).limit(1)
            ).one()
            readers = {}
            for role in READER_ROLES:
                email = f"reader-{role.value}@load.example"
                create_user(
                    session,
                    email,
                    PASSWORD,
                    role,
                    organisation=partner_org if role is UserRole.PARTNER else None,
                )
                readers[role.value] = email
            periods = session.scalars(
                select(IndicatorPeriod)
                .where(IndicatorPeriod.locked.is_(False))
                .order_by(IndicatorPeriod.id)
            ).all()
            if len(periods) < writers:
                raise SystemExit(f"only {len(periods)} unlocked periods for {writers} writers")
            writer_plans = []
            for number in range(writers):
                email = f"writer{number}@load.example"
                create_user(session, email, PASSWORD, UserRole.MANAGER)
                writer_plans.append(
                    {
                        "email": email,
                        "periods": [
                            {
                                "id": period.id,
                                "indicator_id": period.indicator_id,
                                "start_date": period.start_date.isoformat(),
                                "end_date": period.end_date.isoformat(),
                                "target_value": _plain(period.target_value),
                                "actual_value": _plain(period.actual_value),
                            }
                            for period in periods[number::writers]
                        ],
                    }
                )
            plan = {
                "password": PASSWORD,
                "readers": readers,
                "writers": writer_plans,
                "ids": {
                    "organisation": list(session.scalars(select(Organisation.id))),
                    "intervention": list(session.scalars(select(Intervention.id))),
                    "indicator": list(session.scalars(select(Indicator.id))),
                    "indicatorperiod": [period.id for period in periods],
                },
            }
    finally:
        engine.dispose()
    return plan


def _plain(value: Any) -> str:
    return "" if value is None else format(value.normalize(), "f")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="SQLAlchemy URL (reset first!)")
    parser.add_argument("--plan", required=True, type=Path, help="JSON file to write")
    parser.add_argument("--writers", type=int, default=5)
    args = parser.parse_args(argv)
    plan = prepare(args.database, args.writers)
    args.plan.write_text(json.dumps(plan, indent=1))
    print(f"prepared {args.database}: plan in {args.plan}")


if __name__ == "__main__":
    main()
