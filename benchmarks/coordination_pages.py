"""The Coordination pages on generated data: time, queries and size of each response.

Each page is requested through the Flask test client (no network, no browser), logged in
as an admin, on a database made by :mod:`benchmarks.generate`; the best of ``--repeat``
runs is kept. Every page reads one snapshot and runs the analyses on each request, so the
time is load + analysis + rendering.

    python -m benchmarks.generate --database sqlite:///pages.sqlite --interventions 10000
    python -m benchmarks.coordination_pages --database sqlite:///pages.sqlite
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

PAGES = (
    ("overlap review", "/admin/overlaps/"),
    ("overlap review, duplicates", "/admin/overlaps/?kind=duplicate"),
    ("overlap review, page 50", "/admin/overlaps/?page=50"),
    ("overlap review, cluster 1", "/admin/overlaps/?cluster=1"),
    ("gaps", "/admin/gaps/"),
    ("coverage matrix", "/admin/coverage/"),
    ("network page", "/admin/network/"),
    ("network data (JSON)", "/admin/network/data.json"),
    ("network GraphML", "/admin/network/network.graphml"),
)
EMAIL, PASSWORD = "bench-admin@example.org", "benchmark password 2026"


def _account(url: str) -> None:
    from coordination.db import make_engine
    from coordination.models import User
    from coordination.services.accounts import create_user
    from coordination.vocab import UserRole

    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        session.info["actor"] = "benchmark"
        if not session.scalar(select(func.count()).select_from(User).where(User.email == EMAIL)):
            create_user(session, EMAIL, PASSWORD, UserRole.ADMIN)
    engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="database URL (see benchmarks.generate)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per page (best kept)")
    parser.add_argument("--today", default="2026-01-01", help="ANALYSIS_TODAY for the pages")
    args = parser.parse_args(argv)

    from admin import create_app
    from admin.extensions import db
    from coordination.models import Intervention

    _account(args.database)
    app = create_app(
        {
            "DATABASE_URL": args.database,
            "TESTING": True,
            "WTF_CSRF_ENABLED": False,
            "ANALYSIS_TODAY": args.today,
        }
    )
    client = app.test_client()
    response = client.post("/login", data={"email": EMAIL, "password": PASSWORD})
    assert response.status_code == 302, "benchmark login failed"
    with app.app_context():
        engine = db.engine
        with Session(engine) as session:
            count = session.scalar(select(func.count()).select_from(Intervention)) or 0

    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    rows = []
    for label, path in PAGES:
        best = float("inf")
        for _ in range(args.repeat):
            statements.clear()
            began = time.perf_counter()
            response = client.get(path)
            best = min(best, time.perf_counter() - began)
            if response.status_code != 200:
                raise SystemExit(f"{path}: HTTP {response.status_code}")
        rows.append((label, path, best, len(statements), len(response.data)))

    load = os.getloadavg()[0]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    backend = args.database.split(":", 1)[0]
    print(
        f"Coordination pages, {count:,} interventions, {backend}; {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, load average {load:.1f}; "
        f"best of {args.repeat}; peak RSS {peak:.0f} MB"
    )
    print()
    print("| page | path | time (s) | queries | response (KB) |")
    print("|---|---|---:|---:|---:|")
    for label, path, seconds, queries, size in rows:
        print(f"| {label} | `{path}` | {seconds:.2f} | {queries} | {size / 1024:.0f} |")


if __name__ == "__main__":
    main()
