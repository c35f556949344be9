"""Logframe page benchmark: 2,000 indicators x 20 periods x sex disaggregation.

Times the whole request for the logframe page (and the IPTT page) as a logged-in
manager through Flask's test client: snapshot queries, progress, roll-up,
sparklines and template rendering. Beside it, the floor: one plain SQL aggregate
over the same approved rows. Data come from :mod:`benchmarks.progress_benchmark`.

    python -m benchmarks.logframe_page                        # SQLite in a temp dir
    python -m benchmarks.logframe_page --database postgresql+psycopg://...  # emptied first!
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
from datetime import date
from pathlib import Path

from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session

from benchmarks.progress_benchmark import CODE, make_stale, populate, timed
from coordination.analysis.progress import project_progress
from coordination.db import make_engine, upgrade_database
from coordination.models import IndicatorPeriod, IndicatorUpdate, Project
from coordination.services.accounts import create_user
from coordination.services.results import load_progress_snapshot
from coordination.vocab import UserRole

EMAIL, PASSWORD = "bench-manager@example.org", "benchmark password 2026"
_TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


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
        with Session(engine) as session, session.begin():
            session.info["audit"] = False  # bulk benchmark data, not a user's change
            populate(session, args.indicators, args.periods)
            create_user(session, EMAIL, PASSWORD, UserRole.MANAGER)
        with Session(engine) as session:
            project_id = session.scalar(select(Project.id).where(Project.code == CODE))
        if engine.dialect.name == "postgresql":
            # What autovacuum does to a live database: statistics, and the visibility map
            # that lets index-only scans skip the table.
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM ANALYZE"))

        from admin import create_app
        from admin.extensions import db

        app = create_app({"DATABASE_URL": url, "TESTING": True})
        client = app.test_client()
        token = _TOKEN.search(client.get("/login").text)
        assert token, "no CSRF token on the login page"
        response = client.post(
            "/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": token.group(1)}
        )
        assert response.status_code == 302, "benchmark manager could not log in"
        with app.app_context():
            app_engine = db.engine
        statements: list[str] = []
        event.listen(app_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))

        def page(path: str) -> int:
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            return len(response.data)

        figures = []
        logframe = f"/admin/logframe/{project_id}/"
        for label, path, stale in (
            ("logframe page (GET), figures stored", logframe, 0),
            ("  the same, one indicator changed since", logframe, 1),
            ("  the same, every indicator changed since", logframe, None),
            ("IPTT page (GET, every period, no store)", f"{logframe}iptt", 0),
        ):
            size = page(path)  # warm caches and templates once (and store the figures)

            def setup(n=stale):
                make_stale(engine, n)
                statements.clear()  # count the timed run's statements only

            median, best = timed(lambda path=path: page(path), args.repeat, setup)
            figures.append((label, median, best, len(statements), size))

        snapshot_statements: list[str] = []
        event.listen(engine, "before_cursor_execute", lambda *a: snapshot_statements.append(a[2]))

        def snapshot_and_progress() -> int:
            with Session(engine) as session:
                (project,) = load_progress_snapshot(session, [CODE], detail="series")
            return len(project_progress(project, today=date(2024, 6, 30)))

        median, best = timed(snapshot_and_progress, args.repeat)
        queries = len(snapshot_statements) // args.repeat
        figures.append(("snapshot + progress, figures stored (no HTML)", median, best, queries, 0))

        def floor() -> list:
            with Session(engine) as session:
                return session.execute(
                    select(IndicatorPeriod.indicator_id, func.sum(IndicatorUpdate.value))
                    .join(IndicatorUpdate, IndicatorUpdate.period_id == IndicatorPeriod.id)
                    .where(IndicatorUpdate.status == "approved")
                    .group_by(IndicatorPeriod.indicator_id)
                ).all()

        floor_median, floor_best = timed(floor, args.repeat)
        with app.app_context():
            for bound in db.engines.values():
                bound.dispose()
        engine.dispose()

    n = args.indicators
    print(
        f"database: {engine.dialect.name}; {n} indicators x {args.periods} periods x 2 sexes "
        f"({n * args.periods:,} approved updates); median of {args.repeat} runs"
    )
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} cores, load average {load} (shared: times vary with it)")
    print()
    print(f"| {'operation':<42} | {'median s':>8} | {'best s':>8} | {'SQL':>4} | {'HTML':>9} |")
    print(f"|{'-' * 44}|{'-' * 10}|{'-' * 10}|{'-' * 6}|{'-' * 11}|")
    for label, median, best, queries, size in figures:
        print(
            f"| {label:<42} | {median:>8.3f} | {best:>8.3f} | {queries:>4} | "
            + (f"{size / 1e6:>6.1f} MB |" if size else f"{'':>9} |")
        )
    label = "floor: one SQL SUM ... GROUP BY indicator"
    print(f"| {label:<42} | {floor_median:>8.3f} | {floor_best:>8.3f} | {1:>4} | {'':>9} |")


if __name__ == "__main__":
    main()
