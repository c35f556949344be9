"""Demo logframe, the progress and report commands, and the exports' safety and typing."""

import csv
import io
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import func, select

from coordination.commands.results import COMMANDS, progress, report
from coordination.interop.safe_cells import TRIGGERS
from coordination.models import AuditEntry, Indicator, IndicatorUpdate, Result
from coordination.services import results as svc
from coordination.vocab import UpdateStatus
from tests import factories

LOGFRAME = Path(__file__).parents[2] / "fixtures" / "demo" / "logframe.yaml"
AS_OF = "2026-11-22"


@pytest.fixture
def demo(session):
    factories.create_organisation(session, acronym="ILO", name="International Labour Organization")
    data = yaml.safe_load(LOGFRAME.read_text(encoding="utf-8"))["logframe"]
    project = svc.load_logframe(session, data)
    session.commit()
    return project


def test_demo_logframe_is_complete_and_idempotent(session, demo):
    indicators = session.scalar(select(func.count()).select_from(Indicator))
    assert indicators >= 20
    codes = set(session.scalars(select(Result.code).where(Result.project_id == demo.id)))
    assert {"G", "O1", "O2", "O3", "O4"} <= codes
    levels = set(session.scalars(select(Result.level).where(Result.project_id == demo.id)))
    assert {"goal", "outcome", "output", "activity"} <= {str(level) for level in levels}
    pending = session.scalar(
        select(func.count()).where(IndicatorUpdate.status == UpdateStatus.SUBMITTED)
    )
    assert pending > 0
    audit_rows = session.scalar(select(func.count()).select_from(AuditEntry))

    svc.load_logframe(session, yaml.safe_load(LOGFRAME.read_text(encoding="utf-8"))["logframe"])
    session.commit()
    assert session.scalar(select(func.count()).select_from(Indicator)) == indicators
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == audit_rows

    (project,) = svc.load_progress_snapshot(session, ["DW-GARMENT-ASIA"])
    from coordination.analysis.progress import project_progress

    statuses = {p.status for p in project_progress(project, today=date(2026, 11, 22))}
    assert {"on track", "off track"} <= statuses


def test_loader_upserts_results_created_by_another_loader(session):
    project = factories.create_project(
        session, code="DW-GARMENT-ASIA", start_date=date(2024, 1, 1), end_date=date(2026, 12, 31)
    )
    svc.create_result(session, project, code="G", title="Seed objective", level="goal")
    session.commit()
    svc.load_logframe(session, yaml.safe_load(LOGFRAME.read_text(encoding="utf-8"))["logframe"])
    session.commit()
    goal = session.scalars(select(Result).where(Result.code == "G")).one()
    assert goal.title == "Seed objective"  # kept: the other loader owns it
    assert {r.code for r in goal.children} >= {"O1", "O2", "O3", "O4"}


def test_progress_json_has_the_documented_shape(db_url, demo):
    runner = CliRunner()
    outcome = runner.invoke(
        progress,
        [
            "--project",
            "DW-GARMENT-ASIA",
            "--format",
            "json",
            "--as-of",
            AS_OF,
            "--database",
            db_url,
        ],
    )
    assert outcome.exit_code == 0, outcome.output
    items = json.loads(outcome.output)["indicators"]
    assert len(items) >= 20
    expected_keys = {
        "code",
        "title",
        "result",
        "level",
        "measure",
        "ascending",
        "baseline",
        "target",
        "actual",
        "progress",
        "status",
        "disaggregations",
    }
    assert all(expected_keys <= set(item) for item in items)
    leaders = next(i for i in items if i["code"] == "2.1.1")
    # targets 36+4 per year; approved 2024 and 2025 only (2026 is still submitted)
    assert leaders["target"] == 120 and leaders["actual"] == 42 + 36
    assert leaders["disaggregations"]["sex"]["female"]["target"] == 108
    assert leaders["progress"] == pytest.approx(78 / 120, abs=1e-4)
    assert [c.name for c in COMMANDS] == ["progress", "report"]


def test_progress_table_and_csv(db_url, demo):
    runner = CliRunner()
    table = runner.invoke(progress, ["--as-of", AS_OF, "--database", db_url])
    assert table.exit_code == 0 and "DW-GARMENT-ASIA" in table.output and "status" in table.output
    text = runner.invoke(progress, ["--format", "csv", "--as-of", AS_OF, "--database", db_url])
    rows = list(csv.DictReader(io.StringIO(text.output)))
    assert len(rows) >= 20 and "sex:female:actual" in rows[0]
    missing = runner.invoke(progress, ["--project", "NOPE", "--database", db_url])
    assert missing.exit_code == 1 and "no project with code NOPE" in missing.output


def test_xlsx_report_has_typed_cells_frozen_headers_and_sections(db_url, demo, tmp_path):
    target = tmp_path / "report.xlsx"
    outcome = CliRunner().invoke(
        report, ["--project", "DW-GARMENT-ASIA", "-o", str(target), "--database", db_url]
    )
    assert outcome.exit_code == 0, outcome.output
    workbook = load_workbook(target)
    assert workbook.sheetnames == [
        "Cover",
        "Summary by outcome",
        "IPTT",
        "Charts",
        "IPTT by period",
        "Comments",
        "Meetings",
        "Interventions",
    ]
    iptt = workbook["IPTT"]
    assert iptt.freeze_panes == "A2"
    header = [c.value for c in iptt[1]]
    assert {"Female target", "Female actual", "Male target", "Male actual"} <= set(header)
    target_column = header.index("Target")
    numbers = [row[target_column].value for row in iptt.iter_rows(min_row=2)]
    assert all(isinstance(v, int | float) for v in numbers if v is not None)
    progress_cell = iptt.cell(row=2, column=header.index("Progress") + 1)
    assert progress_cell.number_format == "0%"
    periods = workbook["IPTT by period"]
    assert isinstance(periods["C2"].value, datetime) and periods["C2"].number_format == "yyyy-mm-dd"
    assert workbook["Charts"]._charts  # a native chart
    assert workbook["Summary by outcome"].max_row >= 5  # goal and four outcomes


def test_pdf_and_html_reports(session, db_url, demo, tmp_path):
    pdf = tmp_path / "report.pdf"
    outcome = CliRunner().invoke(
        report, ["--project", "DW-GARMENT-ASIA", "-o", str(pdf), "--database", db_url]
    )
    assert outcome.exit_code == 0, outcome.output
    content = pdf.read_bytes()
    assert content.startswith(b"%PDF-") and content.rstrip().endswith(b"%%EOF")
    from weasyprint import HTML

    from coordination.interop.reports import build_report, render_html

    data = build_report(session, "DW-GARMENT-ASIA", today=date(2026, 11, 22))
    assert len(HTML(string=render_html(data)).render().pages) >= 3  # cover + body pages
    page = tmp_path / "report.html"
    CliRunner().invoke(
        report,
        ["--project", "DW-GARMENT-ASIA", "--format", "html", "-o", str(page), "--database", db_url],
    )
    text = page.read_text(encoding="utf-8")
    assert "<svg" in text and "Indicator performance tracking table" in text
    assert "No meetings in this period." in text


def test_exports_neutralise_formula_text(session, db_url, tmp_path):
    project = factories.create_project(session, code="EVIL", start_date=date(2024, 1, 1))
    goal = svc.create_result(session, project, code="G", title="=cmd|' /C calc'!A0", level="goal")
    indicator = svc.create_indicator(
        session, goal, code="1", title="+1+1", dimensions={"sex": ["@female", "-male"]}
    )
    svc.create_period(
        session,
        indicator,
        start_date=date(2024, 1, 1),
        end_date=date(2024, 12, 31),
        target=5,
        comment="\t=1",
    )
    session.commit()
    xlsx = tmp_path / "evil.xlsx"
    assert (
        CliRunner()
        .invoke(
            report,
            ["--project", "EVIL", "-o", str(xlsx), "--to", "2024-12-31", "--database", db_url],
        )
        .exit_code
        == 0
    )
    for sheet in load_workbook(xlsx):
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(TRIGGERS), (sheet.title, cell.value)
    text = (
        CliRunner()
        .invoke(progress, ["--project", "EVIL", "--format", "csv", "--database", db_url])
        .output
    )
    for row in csv.reader(io.StringIO(text)):
        for cell in row:
            assert not cell.startswith(TRIGGERS) or _is_number(cell), cell


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_report_lists_meetings_and_interventions_in_the_period(session, demo):
    from coordination.interop.reports import build_report, render_html
    from coordination.models import Meeting

    goal = session.scalars(select(Result).where(Result.code == "O2")).one()
    factories.create_intervention(
        session,
        code="LEAD-2025",
        title="Female leaders cohort 2",
        project_id=demo.id,
        start_date=date(2025, 3, 1),
        end_date=date(2025, 9, 30),
    ).results.append(goal)
    factories.create_intervention(
        session,
        code="OLD",
        project_id=demo.id,
        start_date=date(2024, 1, 1),
        end_date=date(2024, 6, 30),
    )
    session.add(
        Meeting(
            title="Regional tripartite-plus meeting",
            meeting_type="regional_tripartite",
            starts_at=datetime(2025, 5, 6, 2, 0, tzinfo=UTC),
            ends_at=datetime(2025, 5, 7, 10, 0, tzinfo=UTC),
            city="Bangkok",
            country_code="TH",
        )
    )
    session.commit()
    data = build_report(session, "DW-GARMENT-ASIA", start=date(2025, 1, 1), end=date(2025, 12, 31))
    assert [m["title"] for m in data.meetings] == ["Regional tripartite-plus meeting"]
    assert [i["code"] for i in data.interventions] == ["LEAD-2025"]
    assert data.interventions[0]["results"] == "O2"
    # cumulative to the end of 2025: the 2026 periods do not count yet
    leaders = next(p for p in data.progress if p.indicator.code == "2.1.1")
    assert leaders.figures.target == 80 and leaders.figures.actual == 78
    assert "Bangkok, TH" in render_html(data)
    with pytest.raises(Exception, match="before it starts"):
        build_report(session, "DW-GARMENT-ASIA", start=date(2025, 1, 1), end=date(2024, 1, 1))


def test_progress_rollup_of_country_projects(session, db_url):
    manager = factories.create_organisation(session, acronym="MGR")
    from coordination.models import User
    from coordination.vocab import UserRole

    user = User(
        email="m@example.org", password_hash="x", role=UserRole.MANAGER, organisation=manager
    )
    session.add(user)
    for code, trained, (numerator, denominator) in (("KH", 30, (10, 100)), ("BD", 60, (270, 300))):
        project = factories.create_project(
            session, code=code, start_date=date(2024, 1, 1), end_date=date(2025, 12, 31)
        )
        outcome = svc.create_result(session, project, code="O1", title="Outcome", level="outcome")
        people = svc.create_indicator(session, outcome, code="T", title="Trained", baseline_value=0)
        share = svc.create_indicator(
            session, outcome, code="P", title="Share", measure="percentage", aggregation="latest"
        )
        for indicator, values in (
            (people, {"value": trained}),
            (share, {"numerator": numerator, "denominator": denominator}),
        ):
            period = svc.create_period(
                session,
                indicator,
                start_date=date(2024, 1, 1),
                end_date=date(2024, 12, 31),
                target=50,
            )
            update = svc.report_update(session, period, user, **values)
            svc.submit_update(session, update, user)
            svc.approve_update(session, update, user)
    session.commit()
    outcome = CliRunner().invoke(
        progress,
        [
            "--project",
            "KH",
            "--project",
            "BD",
            "--rollup",
            "--format",
            "json",
            "--as-of",
            "2024-12-31",
            "--database",
            db_url,
        ],
    )
    assert outcome.exit_code == 0, outcome.output
    items = {i["code"]: i for i in json.loads(outcome.output)["indicators"]}
    assert items["T"]["actual"] == 90 and items["T"]["target"] == 100
    assert items["P"]["actual"] == pytest.approx(70.0)  # 280 / 400, not the mean of 10 % and 90 %
