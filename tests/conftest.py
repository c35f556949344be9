"""Shared fixtures: a fresh, migrated database per test on SQLite and on PostgreSQL.

Every test that asks for ``db_url`` (or ``engine``/``session``) runs once per backend:
always on SQLite, and on PostgreSQL when ``COORDINATION_TEST_POSTGRES_URL`` is set
(``.ci/run`` sets it, so CI always covers both).

- SQLite: the schema is built once with the real migrations plus the reference data
  into a template file, which is copied for each test: real commits, full isolation.
- PostgreSQL: migrated once per run; after each test every table is emptied again
  (reference data excepted) with one TRUNCATE.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from coordination.db import Base, make_engine, upgrade_database
from coordination.models import Area
from coordination.models.calendar_revision import start_calendar_revision
from coordination.services.reference import sync_reference_data

POSTGRES_URL = os.environ.get("COORDINATION_TEST_POSTGRES_URL")
# Reference tables keep their rows between tests; everything else is emptied.
_KEPT_TABLES = {"alembic_version", "country", "area", "theme", "target_group"}


def _prepare(engine: Engine) -> None:
    upgrade_database(engine)
    with Session(engine) as session, session.begin():
        sync_reference_data(session)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    _prepare(engine)
    with engine.connect() as connection:  # fold the WAL into the file before copying it
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_state() -> Iterator[dict[str, object]]:
    if not POSTGRES_URL:
        pytest.skip("COORDINATION_TEST_POSTGRES_URL is not set")
    engine = make_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    _prepare(engine)
    with Session(engine) as session:
        max_area_id = session.scalar(select(func.max(Area.id)))
    yield {"engine": engine, "max_area_id": max_area_id}
    engine.dispose()


def _reset_postgres(engine: Engine, max_area_id: int) -> None:
    tables = [t.name for t in Base.metadata.sorted_tables if t.name not in _KEPT_TABLES]
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        connection.execute(text("DELETE FROM area WHERE id > :max"), {"max": max_area_id})
        start_calendar_revision(connection)  # emptied with the rest: a new epoch
    with Session(engine) as session, session.begin():
        sync_reference_data(session)  # restores seed themes/target groups a test removed


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a fresh database at schema head with ISO and seed reference data."""
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "test.sqlite"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    state = request.getfixturevalue("postgres_state")
    yield POSTGRES_URL  # type: ignore[misc]
    _reset_postgres(state["engine"], state["max_area_id"])  # type: ignore[arg-type]


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session whose writes are audited as the actor ``test``. Tests commit as needed."""
    with Session(engine, expire_on_commit=False) as session:
        session.info["actor"] = "test"
        yield session
        session.rollback()
