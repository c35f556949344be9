"""Fixtures for operations tests: a whole database of its own for each test.

The load and fault tests run the real server or CLI in another process, which needs a
database it may reset freely. On PostgreSQL that is a scratch database created next
to the test database (the test database itself is shared by the other test modules).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

POSTGRES_URL = os.environ.get("COORDINATION_TEST_POSTGRES_URL")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def scratch_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of an empty database that the test may reset, serve and kill at will."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'scratch.sqlite'}"
        return
    if not POSTGRES_URL:
        pytest.skip("COORDINATION_TEST_POSTGRES_URL is not set")
    base = make_url(POSTGRES_URL)
    name = f"{base.database}_ops_{uuid.uuid4().hex[:8]}"
    # No pool: a test may restart the server, and a pooled connection would be dead.
    admin = create_engine(base, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield base.set(database=name).render_as_string(hide_password=False)
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
