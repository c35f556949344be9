"""Backups and restores of a whole database.

SQLite uses its online backup API: a consistent copy taken while the app keeps serving
(readers and writers are not stopped). PostgreSQL uses the server's own tools,
``pg_dump``/``pg_restore`` in custom format, which are the right way to copy a live
PostgreSQL database; we only call them with the right arguments.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from coordination.db import upgrade_database
from coordination.errors import CoordinationError
from coordination.models.calendar_revision import renew_calendar_epoch

__all__ = ["backup_database", "restore_database"]

POSTGRES_GUIDANCE = (
    "pg_dump was not found; back up PostgreSQL with "
    "'pg_dump --format=custom --file=FILE DBNAME' and restore with "
    "'pg_restore --clean --if-exists --no-owner --dbname=DBNAME FILE'"
)


def backup_database(engine: Engine, target: Path) -> Path:
    """Write a consistent copy of the database behind ``engine`` to ``target``."""
    target = Path(target)
    if target.exists() and target.is_dir():
        raise CoordinationError(f"{target} is a directory; give a file name")
    target.parent.mkdir(parents=True, exist_ok=True)
    backend = engine.url.get_backend_name()
    if backend == "sqlite":
        _sqlite_backup(_sqlite_path(engine), target)
    elif backend == "postgresql":
        _run_pg_tool("pg_dump", "--format=custom", f"--file={target}", _libpq_url(engine))
    else:
        raise CoordinationError(f"backups of {backend} databases are not supported")
    return target


def restore_database(engine: Engine, source: Path) -> None:
    """Replace the database behind ``engine`` with the backup in ``source``, then upgrade it.

    The backup is checked before anything is overwritten; an older backup is migrated
    to the current schema after the restore.
    """
    source = Path(source)
    if not source.is_file():
        raise CoordinationError(f"no backup file at {source}")
    backend = engine.url.get_backend_name()
    if backend == "sqlite":
        _check_sqlite_backup(source)
        engine.dispose()  # no pooled connection may hold the old file open
        _sqlite_backup(source, _sqlite_path(engine))
    elif backend == "postgresql":
        _check_postgres_backup(source)
        engine.dispose()
        _run_pg_tool(
            "pg_restore",
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            f"--dbname={_libpq_url(engine)}",
            str(source),
        )
    else:
        raise CoordinationError(f"restores of {backend} databases are not supported")
    upgrade_database(engine)
    with engine.begin() as connection:
        # Running processes keep feed states by calendar revision; the restored database
        # counts on from an older one and could reach the same numbers with other data.
        renew_calendar_epoch(connection)


def _sqlite_path(engine: Engine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:":
        raise CoordinationError("an in-memory SQLite database cannot be backed up or restored")
    return Path(database)


def _sqlite_backup(source: Path, target: Path) -> None:
    source_connection = sqlite3.connect(source)
    try:
        target_connection = sqlite3.connect(target)
        try:
            source_connection.backup(target_connection)
        finally:
            target_connection.close()
    except sqlite3.DatabaseError as error:
        raise CoordinationError(f"cannot copy {source}: {error}") from None
    finally:
        source_connection.close()


def _check_sqlite_backup(source: Path) -> None:
    try:
        connection = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            integrity = connection.execute("PRAGMA quick_check").fetchone()[0]
            tables = {
                row[0]
                for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
        finally:
            connection.close()
    except sqlite3.DatabaseError as error:
        raise CoordinationError(f"{source} is not a SQLite backup: {error}") from None
    if integrity != "ok":
        raise CoordinationError(f"{source} is damaged: {integrity}")
    if "alembic_version" not in tables:
        raise CoordinationError(f"{source} is not a coordination database backup")


def _check_postgres_backup(source: Path) -> None:
    """Refuse a file pg_restore cannot read, or one without our schema in it.

    pg_restore reads a damaged table of contents (say, a negative entry count) as an
    empty archive and "restores" nothing with exit status 0: list the archive first.
    """
    if shutil.which("pg_restore") is None:
        raise CoordinationError(POSTGRES_GUIDANCE)
    listing = subprocess.run(
        ["pg_restore", "--list", str(source)],
        capture_output=True,
        text=True,
        errors="replace",
        check=False,
    )
    if listing.returncode != 0:
        message = listing.stderr.strip().splitlines()
        reason = message[-1] if message else f"exit status {listing.returncode}"
        raise CoordinationError(f"{source} is not a readable pg_dump backup: {reason}")
    if not re.search(r"^\d+; .* TABLE DATA \S+ alembic_version ", listing.stdout, re.M):
        raise CoordinationError(f"{source} is damaged or not a coordination database backup")


def _libpq_url(engine: Engine) -> str:
    # pg_dump speaks libpq URLs: drop SQLAlchemy's "+psycopg" driver suffix.
    url = make_url(engine.url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _run_pg_tool(tool: str, *arguments: str) -> None:
    if shutil.which(tool) is None:
        raise CoordinationError(POSTGRES_GUIDANCE)
    result = subprocess.run([tool, *arguments], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        message = result.stderr.strip().splitlines()
        raise CoordinationError(f"{tool} failed: {message[-1] if message else result.returncode}")
