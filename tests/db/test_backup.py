"""Backup → change → restore → compare, on SQLite and PostgreSQL."""

import shutil

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from coordination.commands.maintenance import backup, restore
from coordination.models import AuditEntry, Organisation
from coordination.models.calendar_revision import read_revision
from tests import factories


def snapshot(session):
    organisations = sorted(session.scalars(select(Organisation.acronym)))
    audit = session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1))
    return organisations, audit


def test_backup_restore_cycle_gives_back_the_same_data(engine, session, db_url, tmp_path):
    if engine.dialect.name == "postgresql" and shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    factories.create_organisation(session, acronym="BGMEA")
    factories.create_organisation(session, acronym="VGCL")
    session.commit()
    before = snapshot(session)

    runner = CliRunner()
    target = tmp_path / "backup.db"
    result = runner.invoke(backup, ["--database", db_url, "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert target.stat().st_size > 0

    # Change the data after the backup: the restore must undo this.
    session.delete(
        session.scalars(select(Organisation).where(Organisation.acronym == "VGCL")).one()
    )
    factories.create_organisation(session, acronym="AFTER")
    session.commit()
    assert snapshot(session) != before
    session.close()

    epoch = read_revision(session.connection()).epoch
    session.close()
    result = runner.invoke(restore, ["--database", db_url, "--yes", str(target)])
    assert result.exit_code == 0, result.output
    session.expire_all()
    assert snapshot(session) == before
    # Feed states memoised before the restore are never taken for the restored data's.
    assert read_revision(session.connection()).epoch != epoch


def test_restore_refuses_a_file_that_is_not_a_backup(engine, db_url, session, tmp_path):
    factories.create_organisation(session, acronym="KEEP")
    session.commit()
    bogus = tmp_path / "bogus.db"
    bogus.write_bytes(b"this is not a database at all" * 100)
    result = CliRunner().invoke(restore, ["--database", db_url, "--yes", str(bogus)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    session.expire_all()
    assert session.scalars(select(Organisation.acronym)).all() == ["KEEP"]


def test_restore_asks_before_replacing_data(db_url, tmp_path):
    result = CliRunner().invoke(
        restore, ["--database", db_url, str(tmp_path / "x.db")], input="n\n"
    )
    assert result.exit_code == 1
    assert "Aborted" in result.output


def test_backup_of_missing_schema_is_a_clear_error(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    result = CliRunner().invoke(backup, ["--database", url, "-o", str(tmp_path / "b.db")])
    assert result.exit_code == 1
    assert "coordination init" in result.output
