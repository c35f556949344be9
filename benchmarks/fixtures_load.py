"""Time loading the demo fixture set: first load (creates) and second load (matches).

    python benchmarks/fixtures_load.py [POSTGRES_URL]

Prints one row per backend: wall time and SQL statements for each load. The
PostgreSQL database named by the URL is emptied (schema dropped) first.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.orm import Session

from coordination.db import make_engine, upgrade_database
from coordination.services.fixtures import load_fixtures
from coordination.services.reference import sync_reference_data


def measure(url: str) -> list[tuple[float, int]]:
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    upgrade_database(engine)
    with Session(engine) as session, session.begin():
        sync_reference_data(session)
    statements = [0]

    @event.listens_for(engine, "before_cursor_execute")
    def count(*_args: object) -> None:
        statements[0] += 1

    rows = []
    for _ in range(2):
        statements[0] = 0
        started = time.perf_counter()
        with Session(engine) as session, session.begin():
            session.info["actor"] = "benchmark"
            load_fixtures(session, "demo")
        rows.append((time.perf_counter() - started, statements[0]))
    engine.dispose()
    return rows


def main() -> None:
    targets = {}
    with tempfile.TemporaryDirectory() as directory:
        targets["sqlite"] = measure(f"sqlite:///{Path(directory) / 'bench.sqlite'}")
    if len(sys.argv) > 1:
        targets["postgresql"] = measure(sys.argv[1])
    print(
        f"{'backend':<12}{'first load':>14}{'statements':>12}{'second load':>14}{'statements':>12}"
    )
    for backend, ((t1, n1), (t2, n2)) in targets.items():
        print(f"{backend:<12}{t1:>13.2f}s{n1:>12}{t2:>13.2f}s{n2:>12}")


if __name__ == "__main__":
    main()
