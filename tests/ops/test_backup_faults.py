"""Backups that cannot be made or restored: clear refusals, data untouched.

Complements tests/db/test_backup.py (the backup → change → restore → compare cycle).
"""

from __future__ import annotations

import shutil
import sqlite3

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from coordination import backup as backup_module
from coordination.commands.maintenance import backup, restore
from coordination.models import Organisation
from tests import factories


def acronyms(session):
    session.expire_all()
    return sorted(session.scalars(select(Organisation.acronym)))


def test_postgres_backup_without_pg_dump_explains_what_to_run(
    engine, db_url, monkeypatch, tmp_path
):
    if engine.dialect.name != "postgresql":
        pytest.skip("guidance for PostgreSQL")
    monkeypatch.setattr(backup_module.shutil, "which", lambda _name: None)
    result = CliRunner().invoke(backup, ["--database", db_url, "-o", str(tmp_path / "b.dump")])
    assert result.exit_code == 1
    assert "pg_dump --format=custom --file=FILE DBNAME" in result.output
    assert "pg_restore --clean --if-exists --no-owner --dbname=DBNAME FILE" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "b.dump").exists()


def test_postgres_restore_without_pg_restore_explains_and_changes_nothing(
    engine, db_url, session, monkeypatch, tmp_path
):
    if engine.dialect.name != "postgresql":
        pytest.skip("guidance for PostgreSQL")
    factories.create_organisation(session, acronym="KEEP")
    session.commit()
    dump = tmp_path / "b.dump"
    dump.write_bytes(b"PGDMP" + b"\0" * 100)
    monkeypatch.setattr(backup_module.shutil, "which", lambda _name: None)
    result = CliRunner().invoke(restore, ["--database", db_url, "--yes", str(dump)])
    assert result.exit_code == 1 and "pg_restore" in result.output
    assert acronyms(session) == ["KEEP"]


@pytest.mark.parametrize("damage", ["truncated", "scrambled"])
def test_restore_of_a_damaged_backup_refuses_and_keeps_the_data(
    engine, db_url, session, tmp_path, damage
):
    if engine.dialect.name == "postgresql" and shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    factories.create_organisation(session, acronym="OLD")
    session.commit()
    good = tmp_path / "good.backup"
    runner = CliRunner()
    assert runner.invoke(backup, ["--database", db_url, "-o", str(good)]).exit_code == 0
    # After the backup, the data moves on; a failed restore must not lose this.
    factories.create_organisation(session, acronym="NEW")
    session.commit()

    data = bytearray(good.read_bytes())
    if damage == "truncated":
        data = data[: len(data) // 2]
    else:  # every 7th byte after the header flipped
        for index in range(120, len(data), 7):
            data[index] ^= 0x5A
    bad = tmp_path / "bad.backup"
    bad.write_bytes(bytes(data))
    session.close()

    result = runner.invoke(restore, ["--database", db_url, "--yes", str(bad)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.output.startswith("Error: ")
    assert acronyms(session) == ["NEW", "OLD"]


def test_restore_refuses_a_sqlite_file_that_is_not_ours(engine, db_url, session, tmp_path):
    if engine.dialect.name != "sqlite":
        pytest.skip("a SQLite file")
    factories.create_organisation(session, acronym="KEEP")
    session.commit()
    foreign = tmp_path / "other.sqlite"
    connection = sqlite3.connect(foreign)
    connection.execute("CREATE TABLE notes (text TEXT)")
    connection.commit()
    connection.close()
    result = CliRunner().invoke(restore, ["--database", db_url, "--yes", str(foreign)])
    assert result.exit_code == 1
    assert "not a coordination database backup" in result.output
    assert acronyms(session) == ["KEEP"]
