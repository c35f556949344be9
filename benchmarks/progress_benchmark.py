"""Progress benchmark: 2,000 indicators x 20 periods x sex disaggregation.

Times the path behind ``coordination progress --format json`` (snapshot with a fixed
number of queries, pure progress functions, JSON) next to the floor: one plain SQL
aggregate over the same approved rows. Prints a side-by-side table.

    python benchmarks/progress_benchmark.py                      # SQLite in a temp dir
    python benchmarks/progress_benchmark.py --database postgresql+psycopg://...  # emptied first!
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import event, func, insert, select, text
from sqlalchemy.orm import Session

from coordination.analysis.progress import project_progress
from coordination.db import make_engine, upgrade_database
from coordination.models import (
    DimensionCategory,
    Indicator,
    IndicatorDimension,
    IndicatorPeriod,
    IndicatorUpdate,
    PeriodTarget,
    Project,
    Result,
    UpdateValue,
)
from coordination.models.results import mark_progress_stale
from coordination.services.results import load_progress_snapshot

CODE = "BENCH"


def quarter(index: int) -> tuple[date, date]:
    year, q = 2021 + index // 4, index % 4
    start = date(year, 3 * q + 1, 1)
    end = date(year + (q == 3), (3 * q + 3) % 12 + 1, 1)
    return start, date.fromordinal(end.toordinal() - 1)


def populate(session: Session, indicators: int, periods: int) -> None:
    now = datetime.now(UTC)
    stamp = {"created_at": now, "updated_at": now, "version": 1}
    project = Project(
        code=CODE, title="Benchmark", start_date=date(2021, 1, 1), end_date=date(2025, 12, 31)
    )
    session.add(project)
    session.flush()
    outcomes = []
    for o in range(20):
        result = Result(
            project=project, code=f"O{o}", title=f"Outcome {o}", level="outcome", position=o
        )
        session.add(result)
        outcomes.append(result)
    session.flush()
    rows = [
        {
            "id": i + 1,
            "result_id": outcomes[i % 20].id,
            "code": f"I{i}",
            "title": f"Indicator {i}",
            "measure": "unit",
            "ascending": True,
            "aggregation": "cumulative",
            "position": i,
            "baseline_value": 0,
            **stamp,
        }
        for i in range(indicators)
    ]
    session.execute(insert(Indicator), rows)
    session.execute(
        insert(IndicatorDimension),
        [
            {"id": i + 1, "indicator_id": i + 1, "name": "sex", "position": 0, **stamp}
            for i in range(indicators)
        ],
    )
    session.execute(
        insert(DimensionCategory),
        [
            {"id": 2 * i + k + 1, "dimension_id": i + 1, "name": name, "position": k}
            for i in range(indicators)
            for k, name in enumerate(("female", "male"))
        ],
    )
    period_rows, target_rows, update_rows, value_rows = [], [], [], []
    for i in range(indicators):
        for p in range(periods):
            pid = i * periods + p + 1
            start, end = quarter(p)
            period_rows.append(
                {
                    "id": pid,
                    "indicator_id": i + 1,
                    "start_date": start,
                    "end_date": end,
                    "target_value": 100,
                    "locked": False,
                    **stamp,
                }
            )
            target_rows += [
                {"period_id": pid, "category_id": 2 * i + 1, "target_value": 60},
                {"period_id": pid, "category_id": 2 * i + 2, "target_value": 40},
            ]
            update_rows.append(
                {
                    "id": pid,
                    "period_id": pid,
                    "status": "approved",
                    "value": 80 + (i + p) % 30,
                    "evidence_links": [],
                    "reported_by": "bench",
                    "reviewed_at": now,
                    **stamp,
                }
            )
            value_rows += [
                {"update_id": pid, "category_id": 2 * i + 1, "value": 45},
                {"update_id": pid, "category_id": 2 * i + 2, "value": 30},
            ]
    for model, data in (
        (IndicatorPeriod, period_rows),
        (PeriodTarget, target_rows),
        (IndicatorUpdate, update_rows),
        (UpdateValue, value_rows),
    ):
        for offset in range(0, len(data), 10_000):
            session.execute(insert(model), data[offset : offset + 10_000])


def timed(function, repeat: int, before=None) -> tuple[float, float]:
    """Median and best of ``repeat`` runs (the best is the least disturbed by neighbours);
    ``before`` runs ahead of each, untimed."""
    times = []
    for _ in range(repeat):
        if before is not None:
            before()
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), min(times)


def make_stale(engine, how_many: int | None) -> None:
    """What a change does to the stored figures: ``how_many`` indicators (all: None)
    become stale, as if their periods had changed."""
    with engine.begin() as connection:
        ids = connection.scalars(select(Indicator.id).order_by(Indicator.id)).all()
        mark_progress_stale(connection, ids if how_many is None else ids[:how_many])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", help="URL of a scratch database (its tables are emptied)")
    parser.add_argument("--indicators", type=int, default=2000)
    parser.add_argument("--periods", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        url = args.database or f"sqlite:///{Path(folder) / 'bench.sqlite'}"
        engine = make_engine(url)
        if engine.dialect.name == "postgresql":
            with engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade_database(engine)
        started = time.perf_counter()
        with Session(engine) as session, session.begin():
            session.info["audit"] = False  # bulk benchmark data, not a user's change
            populate(session, args.indicators, args.periods)
        load_seconds = time.perf_counter() - started
        if engine.dialect.name == "postgresql":
            # What autovacuum does to a live database: statistics, and the visibility map
            # that lets index-only scans skip the table.
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM ANALYZE"))

        statements: list[str] = []
        event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))

        def progress_json() -> str:
            with Session(engine) as session:
                (project,) = load_progress_snapshot(session, [CODE], detail="figures")
            items = [p.as_dict() for p in project_progress(project, today=date(2024, 6, 30))]
            return json.dumps({"indicators": items})

        def floor() -> list:
            with Session(engine) as session:
                return session.execute(
                    select(IndicatorPeriod.indicator_id, func.sum(IndicatorUpdate.value))
                    .join(IndicatorUpdate, IndicatorUpdate.period_id == IndicatorPeriod.id)
                    .where(IndicatorUpdate.status == "approved")
                    .group_by(IndicatorPeriod.indicator_id)
                ).all()

        rows = []
        for label, stale in (
            ("progress --format json, figures stored", 0),
            ("  the same, one indicator changed since", 1),
            ("  the same, every indicator changed since", None),
        ):
            progress_json()  # warm caches once (and store the figures)

            def setup(n=stale):
                make_stale(engine, n)
                statements.clear()  # count the timed run's statements only

            median, best = timed(progress_json, args.repeat, setup)
            queries = len(statements)
            rows.append((label, median, best, queries))
        floor_seconds, floor_best = timed(floor, args.repeat)
        rows.append(("floor: one SQL SUM ... GROUP BY indicator", floor_seconds, floor_best, 1))
        engine.dispose()

    n = args.indicators
    print(
        f"database: {engine.dialect.name}; {n} indicators x {args.periods} periods x 2 sexes "
        f"({n * args.periods:,} approved updates, {2 * n * args.periods:,} category values); "
        f"loaded in {load_seconds:.1f} s; median of {args.repeat} runs"
    )
    print()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} cores, load average {load} (shared: times vary with it)")
    print()
    print(f"| {'operation':<46} | {'median s':>8} | {'best s':>8} | {'SQL statements':>14} |")
    print(f"|{'-' * 48}|{'-' * 10}|{'-' * 10}|{'-' * 16}|")
    for label, median, best, queries in rows:
        print(f"| {label:<46} | {median:>8.3f} | {best:>8.3f} | {queries:>14} |")


if __name__ == "__main__":
    main()
