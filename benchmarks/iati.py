"""IATI export benchmark: 1,000 activities with 20,000 indicator periods.

Run: ``python benchmarks/iati.py [--projects 1000] [--periods 10] [--database URL] [--import]``
(default: a fresh SQLite file in a temporary directory).

Each project gets one outcome with two indicators (sex-disaggregated), each with
``--periods`` yearly-ish periods carrying a total and two category targets and an
approved actual with two category values: 1,000 projects x 2 x 10 = 20,000 periods.
The table shows the export (database to bytes), its parts, the schema validation,
and beside them the yardstick: a bare lxml parse and serialise of the same file.
With ``--import`` it also times importing that file into a second, empty database.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from lxml import etree
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from coordination.db import make_engine, upgrade_database  # noqa: E402
from coordination.interop import iati as x  # noqa: E402
from coordination.models import (  # noqa: E402
    DimensionCategory,
    Indicator,
    IndicatorDimension,
    IndicatorPeriod,
    IndicatorUpdate,
    Organisation,
    PeriodTarget,
    Project,
    ProjectOrganisation,
    Result,
    UpdateValue,
)
from coordination.services.iati import build_activities, export_iati, import_iati  # noqa: E402
from coordination.services.reference import sync_reference_data  # noqa: E402


def _ids(session: Session, column: Any) -> list[int]:
    return list(session.scalars(select(column).order_by(column)))


def populate(session: Session, projects: int, periods: int) -> int:
    """Bulk-insert the scenario; returns the number of indicator periods."""
    now = datetime.now(UTC)
    stamp = {"created_at": now, "updated_at": now, "version": 1}
    session.execute(
        insert(Organisation),
        [
            {
                "name": "International Labour Organization",
                "acronym": "ILO",
                "stakeholder_type": "un_agency",
                "constituency": "none",
                "iati_type": 40,
                "iati_identifier": "XM-DAC-41302",
                **stamp,
            }
        ],
    )
    ilo = session.scalar(select(Organisation.id))
    session.execute(
        insert(Project),
        [
            {
                "code": f"P{i:05d}",
                "title": f"Decent work project {i}",
                "description": f"Project {i}: social dialogue, gender equality, productivity.",
                "start_date": date(2000, 1, 1),
                "end_date": date(2000 + periods, 12, 31),
                "currency": "USD",
                "budget": 1_000_000 + i,
                "status": "implementation",
                **stamp,
            }
            for i in range(projects)
        ],
    )
    project_ids = _ids(session, Project.id)
    session.execute(
        insert(ProjectOrganisation),
        [{"project_id": p, "organisation_id": ilo, "role": "accountable"} for p in project_ids],
    )
    session.execute(
        insert(Result),
        [
            {
                "project_id": p,
                "level": "outcome",
                "code": "O1",
                "title": "Outcome",
                "position": 0,
                **stamp,
            }
            for p in project_ids
        ],
    )
    result_ids = _ids(session, Result.id)
    session.execute(
        insert(Indicator),
        [
            {
                "result_id": r,
                "code": f"I{k}",
                "title": f"Workers reached {k}",
                "measure": "unit",
                "ascending": True,
                "aggregation": "cumulative",
                "baseline_value": 0,
                "position": k,
                **stamp,
            }
            for r in result_ids
            for k in range(2)
        ],
    )
    indicator_ids = _ids(session, Indicator.id)
    session.execute(
        insert(IndicatorDimension),
        [{"indicator_id": i, "name": "sex", "position": 0, **stamp} for i in indicator_ids],
    )
    dimension_ids = _ids(session, IndicatorDimension.id)
    session.execute(
        insert(DimensionCategory),
        [
            {"dimension_id": d, "name": name, "position": k}
            for d in dimension_ids
            for k, name in enumerate(("female", "male"))
        ],
    )
    categories = session.execute(
        select(IndicatorDimension.indicator_id, DimensionCategory.id)
        .join(DimensionCategory.dimension)
        .order_by(DimensionCategory.id)
    ).all()
    by_indicator: dict[int, list[int]] = {}
    for indicator_id, category_id in categories:
        by_indicator.setdefault(indicator_id, []).append(category_id)
    session.execute(
        insert(IndicatorPeriod),
        [
            {
                "indicator_id": i,
                "start_date": date(2000 + y, 1, 1),
                "end_date": date(2000 + y, 12, 31),
                "target_value": 100 + y,
                "locked": False,
                **stamp,
            }
            for i in indicator_ids
            for y in range(periods)
        ],
    )
    period_rows = session.execute(
        select(IndicatorPeriod.id, IndicatorPeriod.indicator_id).order_by(IndicatorPeriod.id)
    ).all()
    session.execute(
        insert(PeriodTarget),
        [
            {"period_id": p, "category_id": c, "target_value": 50}
            for p, i in period_rows
            for c in by_indicator[i]
        ],
    )
    session.execute(
        insert(IndicatorUpdate),
        [
            {
                "period_id": p,
                "status": "approved",
                "value": 90,
                "comment": "on track",
                "evidence_links": ["https://example.org/evidence.pdf"],
                "reported_by": "bench@example.org",
                **stamp,
            }
            for p, _ in period_rows
        ],
    )
    updates = session.execute(
        select(IndicatorUpdate.id, IndicatorPeriod.indicator_id).join(IndicatorUpdate.period)
    ).all()
    session.execute(
        insert(UpdateValue),
        [
            {"update_id": u, "category_id": c, "value": 45}
            for u, i in updates
            for c in by_indicator[i]
        ],
    )
    return len(period_rows)


def timed(function: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    times, value = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        value = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), min(times), value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument("--periods", type=int, default=10, help="per indicator (2 indicators)")
    parser.add_argument("--database", help="SQLAlchemy URL of an EMPTY database")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--import", dest="do_import", action="store_true")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="iati-bench-"))
    url = args.database or f"sqlite:///{workdir / 'bench.sqlite'}"
    engine = make_engine(url)
    upgrade_database(engine)
    with Session(engine) as session, session.begin():
        sync_reference_data(session)
        started = time.perf_counter()
        periods = populate(session, args.projects, args.periods)
        print(
            f"populated {args.projects:,} projects, {periods:,} periods in {time.perf_counter() - started:.1f} s"
        )

    rows: list[tuple[str, float, float]] = []

    def export() -> bytes:
        with Session(engine) as session:
            return export_iati(session, interventions=False)

    median, best, document = timed(export, args.repeat)
    rows.append(("export: database -> IATI XML", median, best))

    def build() -> list[x.Activity]:
        with Session(engine) as session:
            return build_activities(session, interventions=False)

    median, best, activities = timed(build, args.repeat)
    rows.append(("  of which: load and map (build_activities)", median, best))
    median, best, _ = timed(lambda: x.render_activities(activities), args.repeat)
    rows.append(("  of which: write XML (render_activities)", median, best))
    if x.schema_path() is not None:
        median, best, errors = timed(lambda: x.validate(document), args.repeat)
        assert errors == [], errors[:3]
        rows.append(("validate against the XSD", median, best))
    median, best, _ = timed(lambda: etree.tostring(etree.fromstring(document)), args.repeat)
    rows.append(("yardstick: bare lxml parse + serialise", median, best))
    median, best, _ = timed(lambda: x.parse_activities(document), args.repeat)
    rows.append(("safe parse into plain activities", median, best))
    if args.do_import:
        target = make_engine(f"sqlite:///{workdir / 'import.sqlite'}")
        upgrade_database(target)
        with Session(target) as session, session.begin():
            sync_reference_data(session)
        started = time.perf_counter()
        with Session(target) as session, session.begin():
            report = import_iati(session, document)
        assert report.ok, report.lines()[:5]
        elapsed = time.perf_counter() - started
        rows.append(("import into an empty SQLite database (once)", elapsed, elapsed))

    print(
        f"{len(document):,} bytes, {document.count(b'<iati-activity '):,} activities, {document.count(b'<period>'):,} periods"
    )
    print("| operation | median s | best s |\n|---|---:|---:|")
    for label, median, best in rows:
        print(f"| {label} | {median:.3f} | {best:.3f} |")


if __name__ == "__main__":
    main()
