"""3W import benchmark: 100,000 rows from CSV into a fresh database, beside bare parses.

Run: ``python benchmarks/threew_import.py [--rows 100000] [--database URL]``
(default: a fresh SQLite file in a temporary directory; a PostgreSQL URL is emptied first).

Prints one table. The yardsticks parse the same file and do nothing else: Python's
``csv`` module, and libhxl finding the hashtag row and iterating the rows. The other
rows are what ``coordination 3w import`` costs: the dry run (read, resolve, check every
row, nothing written), the first import (100,000 interventions created with their
themes, places, partner roles, target groups and audit entries, in one transaction),
and a re-import of the same file (everything matched by code, nothing changed).
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import hxl.input
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from coordination.db import make_engine, upgrade_database  # noqa: E402
from coordination.interop.hxl3w import write_csv  # noqa: E402
from coordination.models import Area, Intervention, Organisation  # noqa: E402
from coordination.services.reference import sync_reference_data  # noqa: E402
from coordination.services.threew import import_3w  # noqa: E402
from coordination.vocab import TARGET_GROUPS, THEMES, InterventionType, StakeholderType  # noqa: E402

COUNTRIES = ["BD", "KH", "VN", "ID", "MM", "PK", "LK"]


def make_rows(
    n: int, organisations: list[str], areas: dict[str, list[str]]
) -> list[dict[str, Any]]:
    types = [t.value for t in InterventionType]
    start = date(2020, 1, 1)
    rows = []
    for i in range(n):
        country = COUNTRIES[i % len(COUNTRIES)]
        country_areas = areas[country]
        area = country_areas[i % len(country_areas)]
        rows.append(
            {
                "code": f"B-{i:06d}",
                "title": f"Intervention {i}: training on social dialogue",
                "type": types[i % len(types)],
                "description": f"Row {i} of the benchmark",
                "lead": organisations[i % len(organisations)],
                "partners": [organisations[(i + 7) % len(organisations)]],
                "funders": [organisations[(i + 13) % len(organisations)]],
                "themes": [THEMES[i % len(THEMES)]["name"]],
                "target_groups": [TARGET_GROUPS[i % len(TARGET_GROUPS)]["name"]],
                "country_code": [country],
                "adm1_code": [area],
                "start": start + timedelta(days=i % 1500),
                "end": start + timedelta(days=i % 1500 + 180),
                "status": "implementation",
            }
        )
    return rows


def timed(label: str, work: Callable[[], Any], results: list[tuple[str, float, float, str]]) -> Any:
    """Wall-clock and CPU seconds of this process (the machine may be shared)."""
    began, began_cpu = time.perf_counter(), time.process_time()
    value = work()
    seconds, cpu = time.perf_counter() - began, time.process_time() - began_cpu
    note = value if isinstance(value, str) else ""
    results.append((label, seconds, cpu, note))
    print(f"  {label}: {seconds:.2f} s ({cpu:.2f} s CPU) {note}", file=sys.stderr)
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database", default=None)
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory()
    url = args.database or f"sqlite:///{Path(tmp.name) / 'bench.sqlite'}"
    engine = make_engine(url)
    if url.startswith("postgresql"):
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public"))
    upgrade_database(engine)
    with Session(engine) as session, session.begin():
        sync_reference_data(session)
        for i in range(200):
            session.add(
                Organisation(
                    name=f"Organisation number {i}",
                    acronym=f"ORG{i}",
                    stakeholder_type=StakeholderType.NGO,
                    constituency=StakeholderType.NGO.default_constituency,
                    iati_type=21,
                )
            )
    with Session(engine) as session:
        areas = {
            c: list(
                session.scalars(
                    select(Area.code)
                    .where(Area.country_code == c, Area.code.is_not(None))
                    .order_by(Area.code)
                )
            )
            for c in COUNTRIES
        }
    data = write_csv(make_rows(args.rows, [f"ORG{i}" for i in range(200)], areas))
    print(
        f"{args.rows:,} rows, {len(data) / 1e6:.1f} MB of CSV, database {engine.url.get_backend_name()}",
        file=sys.stderr,
    )

    results: list[tuple[str, float, float, str]] = []

    def bare_csv() -> str:
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
        return f"{len(rows):,} lists"

    def bare_hxl() -> str:
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
        dataset = hxl.input.HXLReader(hxl.input.ArrayInput(rows))
        return f"{sum(1 for _ in dataset):,} rows"

    def run(dry_run: bool) -> str:
        with Session(engine) as session, session.begin():
            session.info["actor"] = "benchmark"
            report = import_3w(session, data, "bench.csv", dry_run=dry_run)
            assert report.ok, report.lines()[:5]
            if dry_run:
                session.rollback()
        return report.summary()

    timed("bare csv.reader", bare_csv, results)
    timed("bare libhxl (tag row + rows)", bare_hxl, results)
    timed("3w import --dry-run", lambda: run(True), results)
    timed("3w import (creates)", lambda: run(False), results)
    timed("3w import again (all unchanged)", lambda: run(False), results)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Intervention)) == args.rows

    backend = engine.url.get_backend_name()
    print(
        f"\n| operation ({args.rows:,} rows, {backend}) | wall s | CPU s (this process) | result |"
    )
    print("|---|---:|---:|---|")
    for label, seconds, cpu, note in results:
        print(f"| {label} | {seconds:.2f} | {cpu:.2f} | {note} |")
    engine.dispose()


if __name__ == "__main__":
    main()
