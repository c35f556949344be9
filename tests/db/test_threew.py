"""3W import and export against real databases: matching, all-or-nothing, round trip, CLI."""

from __future__ import annotations

import io
from datetime import date

import openpyxl
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from coordination.cli import cli
from coordination.interop.hxl3w import ThreeWFileError, read_3w
from coordination.models import AuditEntry, Intervention, InterventionOrganisation, Organisation
from coordination.services.threew import export_3w, generated_code, import_3w, threew_rows
from coordination.vocab import ActivityStatus, InterventionType, OrganisationRole
from tests import factories

TAGS = (
    "#activity+code,#activity+name,#activity+type,#org+impl,#org+partner,#org+funder,"
    "#sector,#beneficiary,#country+code,#adm1+code,#date+start,#date+end,#status\n"
)


def csv_file(*rows: str, tags: str = TAGS) -> bytes:
    return (
        "Code,Name,Type,Lead,Partners,Funders,Themes,Groups,Country,Area,Start,End,Status\n"
        + tags
        + "".join(r + "\n" for r in rows)
    ).encode()


@pytest.fixture
def orgs(session: Session) -> dict[str, Organisation]:
    made = {
        "ILO": factories.create_organisation(
            session, acronym="ILO", name="International Labour Organization"
        ),
        "BGMEA": factories.create_organisation(
            session,
            acronym="BGMEA",
            name="Bangladesh Garment Manufacturers and Exporters Association",
        ),
        "SIDA": factories.create_organisation(
            session,
            acronym="Sida",
            name="Swedish International Development Cooperation Agency",
            iati_identifier="SE-0",
        ),
        "CDT": factories.create_organisation(session, acronym="CĐT", name="Công đoàn Dệt may"),
    }
    session.commit()
    return made


def count(session: Session, model) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_import_creates_interventions_matching_names_and_synonyms(session, orgs):
    data = csv_file(
        "BD-1,Anti-harassment training,Training / capacity building,bgmea,ilo,swedish international "
        "development cooperation agency,gender equality|16080,WOMEN WORKERS|Migrant workers,"
        "bgd,BD-C,2025-01-01,2025-06-30,closed",
        "VN-1,Union dialogue,social_dialogue,cong doan det may,,SE-0,Social-Dialogue,,Viet Nam,,"
        "2025-02-01,,2",
    )
    report = import_3w(session, data, "x.csv")
    assert report.ok, report.lines()
    assert report.created == ["BD-1", "VN-1"] and report.new_organisations == []
    session.commit()
    bd = session.scalars(select(Intervention).where(Intervention.code == "BD-1")).one()
    assert bd.lead_organisation is orgs["BGMEA"]
    assert bd.intervention_type is InterventionType.TRAINING
    assert bd.status is ActivityStatus.CLOSED
    assert sorted(t.code for t in bd.themes) == ["gender-equality", "social-dialogue"]
    assert sorted(g.code for g in bd.target_groups) == ["migrant-workers", "women-workers"]
    assert [(p.country_code, p.area.code) for p in bd.places] == [("BD", "BD-C")]
    assert {(p.organisation.acronym, p.role) for p in bd.participations} == {
        ("ILO", OrganisationRole.IMPLEMENTING),
        ("Sida", OrganisationRole.FUNDING),
    }
    vn = session.scalars(select(Intervention).where(Intervention.code == "VN-1")).one()
    assert vn.lead_organisation is orgs["CDT"] and vn.end_date is None
    assert vn.status is ActivityStatus.IMPLEMENTATION  # IATI code 2
    assert [p.country_code for p in vn.places] == ["VN"]
    entries = session.scalars(select(AuditEntry).where(AuditEntry.entity_type == "Intervention"))
    assert {e.entity_label for e in entries} == {"BD-1", "VN-1"}  # audited like any write


def test_unknown_organisations_are_created_and_listed(session, orgs):
    data = csv_file(
        "X-1,Training,training,New Partner NGO,Another New One|ILO,,gender-equality,,BD,,2025-01-01,,",
        "X-2,Training 2,training,new partner ngo,,,gender-equality,,BD,,2025-01-01,,",
    )
    preview = import_3w(session, data, "x.csv", dry_run=True)
    assert preview.new_organisations == ["New Partner NGO", "Another New One"]
    assert count(session, Organisation) == 4  # a dry run creates nothing
    report = import_3w(session, data, "x.csv")
    session.commit()
    assert report.new_organisations == ["New Partner NGO", "Another New One"]
    created = session.scalars(
        select(Organisation).where(Organisation.name == "New Partner NGO")
    ).one()
    assert created.acronym == "New Partner NGO" and created.stakeholder_type.value == "other"
    assert count(session, Organisation) == 6


def test_any_row_error_writes_nothing_and_names_row_column_and_reason(session, orgs):
    data = csv_file(
        "OK-1,Fine row,training,ILO,,,gender-equality,,BD,,2025-01-01,,",
        "BAD-1,Bad row,juggling,Brand New Org,,,Gendr,,Atlantis,,2025-13-01,,",
        "BAD-2,Bad dates,training,ILO,,,gender-equality,Aliens,BD,BD-ZZ,2025-06-01,2025-01-01,unknown",
    )
    before = (
        count(session, Intervention),
        count(session, Organisation),
        count(session, AuditEntry),
    )
    report = import_3w(session, data, "x.csv")
    session.commit()
    assert not report.ok
    assert (
        count(session, Intervention),
        count(session, Organisation),
        count(session, AuditEntry),
    ) == before
    found = {
        (e.row, e.column.split()[1] if e.column else "", e.reason.split(" ")[0])
        for e in report.errors
    }
    assert (4, "#activity+type", "unknown") in found
    assert (4, "#sector", "unknown") in found
    assert (4, "#country+code", "unknown") in found
    assert (4, "#date+start", "'2025-13-01'") in found
    assert (5, "#date+end", "ends") in found
    assert (5, "#beneficiary", "unknown") in found
    assert (5, "#adm1+code", "unknown") in found
    assert (5, "#status", "unknown") in found
    assert "nothing was imported" in report.summary()
    assert all(str(e).startswith(f"row {e.row}, column ") for e in report.errors)


def test_duplicate_codes_in_one_file_are_row_errors(session, orgs):
    data = csv_file(
        "D-1,One,training,ILO,,,gender-equality,,BD,,2025-01-01,,",
        "D-1,Two,training,ILO,,,gender-equality,,BD,,2025-01-01,,",
    )
    report = import_3w(session, data, "x.csv")
    assert [(e.row, e.reason) for e in report.errors] == [
        (4, "has the same activity code as row 3 (D-1)")
    ]
    assert count(session, Intervention) == 0


def test_rows_without_code_get_a_deterministic_code_and_reimport_updates(session, orgs):
    tags = TAGS.replace("#activity+code", "#meta+id")
    rows = ["x,Workplace cooperation,training,ILO,,,gender-equality,,BD,,2024-01-01,,"]
    first = import_3w(session, csv_file(*rows, tags=tags), "x.csv")
    session.commit()
    code = generated_code("ILO", "Workplace cooperation", "2024-01-01", ["BD"])
    assert first.created == [code]
    again = import_3w(session, csv_file(*rows, tags=tags), "x.csv")
    assert again.created == [] and again.skipped == [code]
    changed = import_3w(
        session,
        csv_file(rows[0].replace(",,2024-01-01,,", ",,2024-01-01,2024-12-31,"), tags=tags),
        "x.csv",
    )
    session.commit()
    assert changed.updated == [code]
    assert count(session, Intervention) == 1
    same_twice = import_3w(session, csv_file(rows[0], rows[0], tags=tags), "x.csv")
    assert "same lead, title, start and places" in same_twice.errors[0].reason


def test_reimport_only_changes_the_columns_the_file_has(session, orgs):
    intervention = factories.create_intervention(
        session,
        code="K-1",
        lead_organisation=orgs["ILO"],
        target_groups=["brands"],
        description="Kept",
    )
    session.commit()
    tags = "#activity+code,#activity+name,#activity+type,#org+impl,#sector,#date+start\n"
    data = (tags + "K-1,New title,training,ILO,gender-equality,2025-01-01\n").encode()
    report = import_3w(session, data, "x.csv")
    session.commit()
    assert report.updated == ["K-1"]
    session.refresh(intervention)
    assert intervention.title == "New title"
    assert intervention.description == "Kept"
    assert [g.code for g in intervention.target_groups] == ["brands"]
    assert [p.country_code for p in intervention.places] == ["BD"]


def test_dry_run_reports_created_updated_skipped_and_writes_nothing(session, orgs):
    factories.create_intervention(session, code="U-1", lead_organisation=orgs["ILO"])
    factories.create_intervention(session, code="U-3", lead_organisation=orgs["ILO"])
    session.commit()
    rows = [*threew_rows(session)]
    rows[0] = {**rows[0], "title": "Changed"}
    data = export_3w(session, "csv", [*rows, {**rows[1], "code": "U-NEW"}])
    audit_before = count(session, AuditEntry)
    report = import_3w(session, data, "x.csv", dry_run=True)
    session.commit()
    assert report.created == ["U-NEW"] and report.updated == ["U-1"] and report.skipped == ["U-3"]
    assert report.summary() == "1 would be created, 1 would be updated, 1 skipped (unchanged)"
    assert count(session, Intervention) == 2 and count(session, AuditEntry) == audit_before
    assert (
        session.scalars(select(Intervention.title).where(Intervention.code == "U-1")).one()
        != "Changed"
    )


def test_partner_imports_only_rows_of_their_own_organisation(session, orgs):
    factories.create_intervention(session, code="THEIRS", lead_organisation=orgs["BGMEA"])
    session.commit()
    data = csv_file(
        "MINE,Mine,training,ILO,,,gender-equality,,BD,,2025-01-01,,",
        "OTHER,Not mine,training,BGMEA,,,gender-equality,,BD,,2025-01-01,,",
        "THEIRS,Taken over,training,ILO,,,gender-equality,,BD,,2025-01-01,,",
        "NEWORG,Mine,training,ILO,Unknown Org,,gender-equality,,BD,,2025-01-01,,",
    )
    report = import_3w(session, data, "x.csv", restrict_to=orgs["ILO"])
    reasons = {(e.row, e.reason.split(" ")[0]) for e in report.errors}
    assert reasons == {(4, "partners"), (5, "THEIRS"), (6, "unknown")}
    ok = import_3w(
        session,
        csv_file("MINE,Mine,training,ILO,,,gender-equality,,BD,,2025-01-01,,"),
        "x.csv",
        restrict_to=orgs["ILO"],
    )
    assert ok.created == ["MINE"]


def _snapshot(session: Session) -> list[dict]:
    return threew_rows(session)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_then_import_into_an_empty_database_is_lossless(session, orgs, fmt):
    factories.create_intervention(
        session,
        code="R-1",
        title="=cmd|' /C calc'!A0 @SUM(1) +1 -1",
        description='Line one\nline two, with "quotes"; and |pipes| no',
        lead_organisation=orgs["CDT"],
        themes=["gender-equality", "productivity"],
        target_groups=["women-workers", "smes"],
        places=[("BD", None), ("BD", "BD-C"), ("VN", "VN-SG")],
        end_date=None,
        status=ActivityStatus.SUSPENDED,
    )
    intervention = factories.create_intervention(
        session, code="-R-2", lead_organisation=orgs["ILO"]
    )
    intervention.participations = [
        _participation(orgs["SIDA"], OrganisationRole.FUNDING),
        _participation(orgs["BGMEA"], OrganisationRole.IMPLEMENTING),
        _participation(orgs["CDT"], OrganisationRole.ACCOUNTABLE),
        _participation(orgs["CDT"], OrganisationRole.EXTENDING),
    ]
    session.commit()
    before = _snapshot(session)
    data = export_3w(session, fmt)
    # an empty database: remove the interventions, keep the organisations the file names
    for row in session.scalars(select(Intervention)):
        session.delete(row)
    session.commit()
    report = import_3w(session, data, f"x.{fmt}")
    session.commit()
    assert report.ok, report.lines()
    assert sorted(report.created) == ["-R-2", "R-1"]
    assert _snapshot(session) == before
    again = import_3w(session, export_3w(session, fmt), f"x.{fmt}")
    assert again.skipped == ["-R-2", "R-1"] and not again.created and not again.updated


def _participation(organisation, role):
    return InterventionOrganisation(organisation=organisation, role=role)


def test_exported_cells_never_start_a_formula(session, orgs):
    factories.create_intervention(
        session, code="=1+1", title="@SUM(A1)", lead_organisation=orgs["ILO"]
    )
    session.commit()
    workbook = openpyxl.load_workbook(io.BytesIO(export_3w(session, "xlsx")), read_only=True)
    values = [c for row in workbook.worksheets[0].iter_rows(values_only=True) for c in row]
    workbook.close()
    assert "'=1+1" in values and "'@SUM(A1)" in values
    assert not any(
        isinstance(v, str) and v.startswith(("=", "+", "-", "@", "\t", "\r")) for v in values
    )


def test_file_level_problems_raise_and_write_nothing(session, orgs):
    with pytest.raises(ThreeWFileError, match="required column"):
        import_3w(session, b"#org+impl,#sector\nILO,gender-equality\n", "x.csv")
    with pytest.raises(ThreeWFileError, match=".pdf file"):
        import_3w(session, b"%PDF-1.4", "x.pdf")
    assert count(session, Intervention) == 0


# --------------------------------------------------------------------------- fuzz

# valid values often enough that some rows import, junk often enough that others fail
valid = ["ILO", "BGMEA", "New Org", "training", "gender-equality", "BD", "BD-C", "2025-01-01", ""]
cell = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12
)

plausible = st.one_of(st.sampled_from(valid), cell)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.lists(plausible, min_size=13, max_size=13), min_size=1, max_size=4))
def test_fuzzed_rows_give_records_or_clear_errors_and_failures_write_nothing(session, orgs, rows):
    import csv

    out = io.StringIO()
    csv.writer(out).writerows([TAGS.strip().split(","), *rows])
    before = count(session, Intervention), count(session, Organisation)
    try:
        report = import_3w(session, out.getvalue().encode(), "x.csv")
    except ThreeWFileError:
        report = None
    if report is None or not report.ok:
        assert (count(session, Intervention), count(session, Organisation)) == before
    session.rollback()


# --------------------------------------------------------------------------- CLI


def run(args):
    result = CliRunner().invoke(cli, args)
    assert "Traceback" not in result.output + result.stderr, result.output
    return result


def test_cli_import_export_round_trip(db_url, tmp_path, session, orgs):
    factories.create_intervention(session, code="C-1", lead_organisation=orgs["ILO"])
    session.commit()
    out = tmp_path / "3w.xlsx"
    exported = run(["3w", "export", "-o", str(out), "--database", db_url])
    assert exported.exit_code == 0, exported.output
    assert exported.stderr.startswith(f"exported 1 intervention to {out} (")
    assert read_3w(out.read_bytes(), out.name).records[0].values["code"] == "C-1"
    csv_out = run(["3w", "export", "--format", "csv", "--database", db_url])
    assert csv_out.stdout.startswith("\ufeffActivity code,") or csv_out.stdout.startswith(
        "Activity code,"
    )

    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_file("N-1,New,training,ILO,,,Gendr,,BD,,2025-01-01,,"))
    failed = run(["3w", "import", str(bad), "--database", db_url])
    assert failed.exit_code == 1
    assert "row 3, column G #sector: unknown theme 'Gendr'" in failed.stderr
    assert failed.stdout.strip() == "1 error(s) in 1 row(s) of 1: nothing was imported"

    good = tmp_path / "good.csv"
    good.write_bytes(csv_file("N-1,New,training,ILO,,,gender-equality,,BD,,2025-01-01,,"))
    dry = run(["3w", "import", str(good), "--dry-run", "--database", db_url])
    assert (
        dry.exit_code == 0
        and dry.stdout.strip() == "1 would be created, 0 would be updated, 0 skipped (unchanged)"
    )
    done = run(["3w", "import", str(good), "--database", db_url])
    assert done.stdout.strip() == "1 created, 0 updated, 0 skipped (unchanged)"
    assert session.scalar(select(func.count()).select_from(Intervention)) == 2

    wrong = tmp_path / "notes.docx"
    wrong.write_bytes(b"PK\x03\x04")
    refused = run(["3w", "import", str(wrong), "--database", db_url])
    assert refused.exit_code == 1 and ".docx file" in refused.stderr


def test_cli_import_reads_the_demo_like_xlsx_with_dates(db_url, tmp_path, session, orgs):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(
        ["#org+impl", "#activity+name", "#activity+type", "#sector", "#date+start", "#country+name"]
    )
    sheet.append(
        [
            "ILO",
            "Typed dates",
            "research",
            "Environmental sustainability",
            date(2025, 3, 4),
            "Cambodia",
        ]
    )
    path = tmp_path / "typed.xlsx"
    workbook.save(path)
    result = run(["3w", "import", str(path), "--database", db_url])
    assert result.exit_code == 0, result.output
    session.expire_all()
    row = session.scalars(select(Intervention)).one()
    assert row.start_date == date(2025, 3, 4) and row.places[0].country_code == "KH"


def test_bulk_created_rows_are_audited_like_service_created_ones(session, orgs):
    from coordination.services.interventions import create_intervention

    create_intervention(
        session,
        code="SVC-1",
        title="Same",
        intervention_type="training",
        lead_organisation="ILO",
        start_date="2025-01-01",
        end_date="2025-06-30",
        themes=["gender-equality"],
        target_groups=["smes"],
        places=[("BD", "BD-C")],
        partners=["BGMEA"],
        funders=["Sida"],
        description="Text",
    )
    session.commit()
    data = (
        csv_file(
            "IMP-1,Same,training,ILO,BGMEA,Sida,gender-equality,SMEs,BD,BD-C,2025-01-01,2025-06-30,"
        )
        .replace(b"#status\n", b"#status,#description\n")
        .replace(b",\n", b",,Text\n")
    )
    report = import_3w(session, data, "x.csv")
    assert report.ok, report.lines()
    session.commit()
    entries = {
        e.entity_label: e
        for e in session.scalars(select(AuditEntry).where(AuditEntry.entity_type == "Intervention"))
    }
    service, imported = entries["SVC-1"], entries["IMP-1"]
    assert imported.action == "create" and imported.actor == "test"
    ignore = {"id", "code"}
    assert {k: v for k, v in imported.changes.items() if k not in ignore} == {
        k: v for k, v in service.changes.items() if k not in ignore
    }


def test_export_runs_a_constant_number_of_queries(session, orgs, engine):
    from sqlalchemy import event

    def statements(n: int) -> int:
        for _ in range(n):
            intervention = factories.create_intervention(
                session, lead_organisation=orgs["ILO"], places=[("BD", "BD-C"), ("KH", None)]
            )
            intervention.participations = [_participation(orgs["SIDA"], OrganisationRole.FUNDING)]
        session.commit()
        session.expunge_all()
        seen: list[str] = []

        def count_statement(*args):
            seen.append(args[2])

        event.listen(engine, "before_cursor_execute", count_statement)
        try:
            threew_rows(session)
        finally:
            event.remove(engine, "before_cursor_execute", count_statement)
        return len(seen)

    few = statements(3)
    many = statements(30)
    assert few == many, (few, many)


def test_cli_refuses_an_oversize_file_before_reading_it(db_url, tmp_path, monkeypatch):
    from coordination.commands import threew as threew_commands

    monkeypatch.setattr(threew_commands, "MAX_FILE_BYTES", 100)
    big = tmp_path / "big.csv"
    big.write_bytes(b"#org+impl\n" + b"x" * 200)
    result = run(["3w", "import", str(big), "--database", db_url])
    assert result.exit_code == 1
    assert "the limit is" in result.stderr


words = (
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")),
        min_size=1,
        max_size=40,
    )
    .map(str.strip)
    .filter(bool)
)


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(st.tuples(words, words, words), min_size=1, max_size=3, unique_by=lambda t: t[0]),
    st.sampled_from(["csv", "xlsx"]),
)
def test_any_text_round_trips_through_export_and_import(session, orgs, rows, fmt):
    for code, title, description in rows:
        factories.create_intervention(
            session,
            code=code,
            title=title,
            description=description,
            lead_organisation=orgs["CDT"],
        )
    session.commit()
    try:
        before = threew_rows(session)
        data = export_3w(session, fmt)
        for row in session.scalars(select(Intervention)):
            session.delete(row)
        session.commit()
        report = import_3w(session, data, f"x.{fmt}")
        session.commit()
        assert report.ok, report.lines()
        assert threew_rows(session) == before
    finally:
        for row in session.scalars(select(Intervention)):
            session.delete(row)
        session.commit()
