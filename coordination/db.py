"""Database plumbing: the declarative base, engines, sessions and schema upgrades.

SQLite is the embedded default; PostgreSQL (through psycopg 3) is the production
database. Both are reached through a URL; nothing else in the library cares which.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

__all__ = [
    "Base",
    "DEFAULT_DATABASE_URL",
    "UTCDateTime",
    "database_url",
    "make_engine",
    "make_sessionmaker",
    "session_scope",
    "upgrade_database",
    "utcnow",
]

DEFAULT_DATABASE_URL = "sqlite:///coordination.sqlite"

# Stable constraint names let Alembic create, compare and drop constraints the same
# way on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned time-zone aware.

    SQLite has no time-zone type and hands back naive datetimes; normalising here
    means every caller can compare and subtract timestamps without guessing.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC timestamp column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def database_url(explicit: str | None = None) -> str:
    """The URL to use: an explicit one, else ``COORDINATION_DATABASE_URL``, else SQLite."""
    url = explicit or os.environ.get("COORDINATION_DATABASE_URL") or DEFAULT_DATABASE_URL
    # Accept the URLs people copy from hosting dashboards and point them at psycopg 3.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@event.listens_for(Engine, "connect")
def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    """Every SQLite connection gets the settings a multi-user web app needs.

    Registered on the Engine class so that engines made by Flask extensions and by
    Alembic get them too. WAL lets readers proceed while one writer commits; the busy
    timeout makes a second writer wait instead of failing with "database is locked".
    """
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
    if mode not in ("memory", "wal"):  # in-memory databases cannot use WAL
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError:
            pass  # a read-only file: reads still work, a write gets a clear error
    cursor.close()


def engine_options(url: str) -> dict[str, Any]:
    """Engine keyword arguments suited to the database behind ``url``."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        # pre_ping lets the app survive a database restart without a restart of its own.
        return {"pool_pre_ping": True}
    return {}


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    url = database_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    return create_engine(url, **(engine_options(url) | kwargs))


def begin_writes(session: Session) -> None:
    """Open the session's database transaction now, ready to write.

    Call it before a unit of work that uses savepoints (``session.begin_nested()``) and
    must be all or nothing, such as an import. Python's sqlite3 module begins a
    transaction only before its first INSERT, UPDATE or DELETE; a SAVEPOINT issued
    before that starts a transaction of its own, and releasing it commits, so a later
    rollback would undo only part of the work. On SQLite this issues ``BEGIN
    IMMEDIATE`` (taking the write lock up front, waiting as long as the busy timeout
    allows), so every savepoint nests inside one transaction; PostgreSQL needs nothing.
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    raw = connection.connection.dbapi_connection
    if raw is not None and not raw.in_transaction:  # type: ignore[attr-defined]
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine, actor: str = "system") -> Iterator[Session]:
    """A session in a transaction that commits on success and rolls back on error.

    ``actor`` is recorded in the audit trail for every change made through it.
    """
    with Session(engine, expire_on_commit=False) as session, session.begin():
        session.info["actor"] = actor
        yield session


def alembic_config(engine_or_url: Engine | str) -> Any:
    from alembic.config import Config

    here = Path(__file__).parent / "migrations"
    config = Config(str(here / "alembic.ini"))
    config.set_main_option("script_location", str(here))
    if isinstance(engine_or_url, Engine):
        config.attributes["engine"] = engine_or_url
        url = engine_or_url.url.render_as_string(hide_password=False)
    else:
        url = database_url(engine_or_url)
    # Alembic's config is a ConfigParser: a literal "%" (URL-encoded passwords, options)
    # must be doubled or interpolation fails.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_database(engine: Engine, revision: str = "head") -> None:
    """Create the schema or bring it up to ``revision`` (Alembic)."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def downgrade_database(engine: Engine, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(engine), revision)
