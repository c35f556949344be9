"""``coordination iati export`` and ``coordination iati import``."""

from __future__ import annotations

from datetime import date

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from coordination.cli import cli
from coordination.interop import iati as x
from coordination.models import Project, ProjectOrganisation
from coordination.services.results import create_indicator, create_period, create_result
from coordination.vocab import OrganisationRole
from tests import factories

needs_schema = pytest.mark.skipif(x.schema_path() is None, reason="IATI schema not found")


def _run(args):
    return CliRunner().invoke(cli, args, catch_exceptions=False)


@pytest.fixture
def seeded(engine, db_url):
    with Session(engine) as session, session.begin():
        session.info["actor"] = "test"
        ilo = factories.create_organisation(
            session,
            acronym="ILO",
            name="International Labour Organization",
            iati_identifier="XM-DAC-41302",
        )
        project = factories.create_project(session, code="P1", title="Decent work")
        project.participations = [
            ProjectOrganisation(organisation=ilo, role=OrganisationRole.ACCOUNTABLE)
        ]
        result = create_result(session, project, code="O1", title="Outcome", level="outcome")
        indicator = create_indicator(
            session, result, code="I1", title="Count", dimensions={"sex": ["female", "male"]}
        )
        create_period(
            session, indicator, start_date=date(2024, 1, 1), end_date=date(2024, 12, 31), target=5
        )
        factories.create_project(session, code="P2", title="Other")
    return db_url


@needs_schema
def test_export_to_file_records_the_identifier_and_validates(seeded, engine, tmp_path):
    out = tmp_path / "p1.xml"
    result = _run(["iati", "export", "--project", "P1", "-o", str(out), "--database", seeded])
    assert result.exit_code == 0, result.output
    assert "exported 1 activities" in result.output
    assert x.validate(out.read_bytes()) == []
    with Session(engine) as session:
        assert (
            session.scalars(select(Project.iati_identifier).where(Project.code == "P1")).one()
            == "XM-DAC-41302-P1"
        )


def test_export_of_a_project_without_reporting_organisation_fails_in_one_line(seeded):
    result = _run(["iati", "export", "--database", seeded])
    assert result.exit_code == 1
    assert "P2 has no organisation that could report it" in result.output
    assert "Traceback" not in result.output


def test_export_to_stdout(seeded):
    result = _run(["iati", "export", "--project", "P1", "--no-validate", "--database", seeded])
    assert result.exit_code == 0
    assert (
        result.stdout.startswith("<?xml") and "<iati-identifier>XM-DAC-41302-P1<" in result.stdout
    )


def test_import_dry_run_then_for_real(seeded, engine, tmp_path):
    out = tmp_path / "p1.xml"
    assert (
        _run(["iati", "export", "--project", "P1", "-o", str(out), "--database", seeded]).exit_code
        == 0
    )
    changed = tmp_path / "changed.xml"
    changed.write_bytes(out.read_bytes().replace(b'<target value="5"/>', b'<target value="7"/>'))

    preview = _run(["iati", "import", str(changed), "--dry-run", "--database", seeded])
    assert preview.exit_code == 0, preview.output
    assert (
        preview.output.strip()
        .splitlines()[-1]
        .startswith("dry run: would have 0 created, 1 updated")
    )

    done = _run(["iati", "import", str(changed), "--database", seeded])
    assert done.exit_code == 0
    assert done.output.strip().splitlines()[-1].startswith("0 created, 1 updated")
    with Session(engine) as session:
        from coordination.models import IndicatorPeriod

        assert session.scalars(select(IndicatorPeriod.target_value)).one() == 7


def test_import_with_errors_exits_1_and_writes_nothing(seeded, engine, tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_bytes(
        x.render_activities(
            [
                x.Activity(
                    identifier="AA-1",
                    reporting_org=x.Org(name="Agency", ref="AA"),
                    title="",
                    participating=[x.Org(name="Agency", ref="AA", role="2")],
                    dates=[("1", date(2020, 1, 1))],
                )
            ]
        )
    )
    result = _run(["iati", "import", str(bad), "--database", seeded])
    assert result.exit_code == 1
    assert "error: line 3: activity AA-1: an activity needs a title" in result.output
    assert result.output.strip().splitlines()[-1].startswith("nothing written")
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Project)) == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'<!DOCTYPE x [<!ENTITY a "b">]><iati-activities/>', "DTD"),
        (b"\xff\xfe garbage", "well-formed"),
    ],
)
def test_hostile_or_broken_files_are_one_line_errors(seeded, tmp_path, content, message):
    path = tmp_path / "in.xml"
    path.write_bytes(content)
    result = _run(["iati", "import", str(path), "--database", seeded])
    assert result.exit_code == 1 and message in result.output
    assert "Traceback" not in result.output


def test_size_limit(seeded, tmp_path):
    path = tmp_path / "big.xml"
    path.write_bytes(b" " * (1024 * 1024 + 1))
    result = _run(["iati", "import", str(path), "--max-size", "1", "--database", seeded])
    assert result.exit_code == 1 and "the limit is 1,048,576" in result.output
