"""IATI import: the official examples, the round trip, matching, preview, all or nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from coordination.interop import iati as x
from coordination.models import (
    AuditEntry,
    Indicator,
    IndicatorPeriod,
    IndicatorUpdate,
    Intervention,
    Organisation,
    Project,
    ProjectDocument,
    ProjectOrganisation,
    Result,
)
from coordination.services.fixtures import load_fixtures
from coordination.services.iati import export_iati, import_iati
from coordination.services.interventions import add_project_document
from coordination.services.results import create_indicator, create_period, create_result
from coordination.vocab import DocumentCategory, IndicatorMeasure, OrganisationRole
from tests import factories

SCHEMA = x.schema_path()
EXAMPLES = SCHEMA.parent if SCHEMA is not None else Path("/nonexistent")
needs_schema = pytest.mark.skipif(SCHEMA is None, reason="IATI schema and examples not found")
IGNORE = ("generated-datetime", "last-updated-datetime")
BRIEF = "https://www.ilo.org/dw/brief.pdf"


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def _small_project(session: Session) -> Project:
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
    add_project_document(
        session,
        project,
        title="Project brief",
        url=BRIEF,
        category="A02",
        language="en",
        document_date=date(2023, 6, 15),
        description="Objectives and outcomes",
    )
    result = create_result(session, project, code="O1", title="Outcome", level="outcome")
    indicator = create_indicator(
        session, result, code="I1", title="Women trained", dimensions={"sex": ["female", "male"]}
    )
    create_period(
        session,
        indicator,
        start_date=date(2024, 1, 1),
        end_date=date(2024, 12, 31),
        target=10,
        targets={"sex": {"female": 6, "male": 4}},
    )
    session.flush()
    return project


@needs_schema
def test_demo_round_trips_element_by_element_through_an_empty_database(session):
    load_fixtures(session, "demo")
    first = export_iati(session, record_identifiers=True)
    same = import_iati(session, first)  # our own export, back where it came from
    assert same.ok and sum(same.created.values()) == sum(same.updated.values()) == 0
    assert same.skipped == []
    session.rollback()  # the database is empty again (reference data only)
    assert _count(session, Project) == 0

    report = import_iati(session, first)
    assert report.ok, report.lines()
    assert report.created["project"] == 1 and report.created["intervention"] > 10
    assert report.created["actual"] > 10
    assert report.created["document"] == 4  # the demo project's documents come back too
    session.flush()
    second = export_iati(session)
    assert x.validate(second) == []
    assert x.compare(first, second, ignore=IGNORE) == []

    again = import_iati(session, second)
    assert again.ok and sum(again.created.values()) == 0 and sum(again.updated.values()) == 0


@needs_schema
@pytest.mark.parametrize("name", ["example-activity-annotated.xml", "example-results.xml"])
def test_official_examples_import_and_re_export_valid(session, name):
    report = import_iati(session, (EXAMPLES / name).read_bytes())
    assert report.ok, report.lines()
    assert report.created["project"] == 1
    assert report.skipped  # placeholders and unmapped codes are reported, not hidden
    assert all(p.line for p in report.skipped if "version" not in p.message)
    document = export_iati(session)
    assert x.validate(document) == []
    assert import_iati(session, (EXAMPLES / name).read_bytes()).created["project"] == 0


@needs_schema
def test_annotated_example_maps_organisations_results_and_periods(session):
    existing = factories.create_organisation(session, acronym="AGB", name="Name of Agency B")
    report = import_iati(session, (EXAMPLES / "example-activity-annotated.xml").read_bytes())
    assert report.ok
    project = session.scalars(select(Project)).one()
    assert project.iati_identifier == "AA-AAA-123456789-ABC123"
    assert project.code == "ABC123"  # the reporting org's prefix taken off
    roles = {(p.organisation.name, p.role) for p in project.participations}
    assert ("Name of Agency B", OrganisationRole.FUNDING) in roles
    assert existing in [p.organisation for p in project.participations]  # matched by name
    assert {c.code for c in project.countries} == {"AF", "AG"}
    assert (project.start_date, project.end_date) == (date(2012, 4, 28), date(2015, 12, 31))
    assert (project.budget, project.currency) == (Decimal(3000), "EUR")
    indicator = session.scalars(select(Indicator)).one()
    assert indicator.baseline_value is None  # its only baseline is for two dimensions
    assert indicator.dimensions == []  # sex x age cross-disaggregations cannot be stored
    period = session.scalars(select(IndicatorPeriod)).one()
    assert period.start_date == date(2013, 1, 1)
    assert any("sex" in str(p) and "age" in str(p) for p in report.skipped)
    # The activity's document-link becomes a project document; the address in the
    # example lacks its "//" and is repaired, with a note. Result-level links are not
    # project documents.
    [document] = project.documents
    assert (document.url, document.title, document.category, document.format) == (
        "http://www.example.org/docs/report_en.odt",
        "Project Report 2013",
        DocumentCategory.PROJECT_APPRAISAL,
        "application/vnd.oasis.opendocument.text",
    )
    assert (document.language, document.document_date) == ("en", date(2014, 2, 5))
    assert document.description.startswith("Description of the content of the project report")
    assert report.created["document"] == 1
    assert any("read as 'http://www.example.org" in p.message for p in report.skipped)


def test_organisations_match_by_identifier_then_name_else_are_created(session):
    by_ref = factories.create_organisation(
        session, acronym="ILO", name="ILO (old name)", iati_identifier="XM-DAC-41302"
    )
    by_name = factories.create_organisation(
        session, acronym="VTA", name="Vietnam Textile and Apparel Association"
    )
    document = x.render_activities(
        [
            x.Activity(
                identifier="XM-DAC-41302-NEW",
                reporting_org=x.Org(
                    name="International Labour Organization", ref="XM-DAC-41302", type="40"
                ),
                title="New project",
                participating=[
                    x.Org(
                        name="International Labour Organization",
                        ref="XM-DAC-41302",
                        type="40",
                        role="2",
                    ),
                    x.Org(name="VIETNAM textile and apparel ASSOCIATION", type="22", role="4"),
                    x.Org(name="Fair Wear Foundation", ref="NL-KVK-1", type="21", role="4"),
                ],
                status="2",
                dates=[("1", date(2024, 1, 1))],
            )
        ]
    )
    report = import_iati(session, document)
    assert report.ok, report.lines()
    assert report.created["organisation"] == 1
    assert report.new_organisations == ["FWF (Fair Wear Foundation)"]
    project = session.scalars(select(Project).where(Project.code == "NEW")).one()
    organisations = {p.organisation for p in project.participations}
    assert {by_ref, by_name} <= organisations
    created = session.scalars(select(Organisation).where(Organisation.acronym == "FWF")).one()
    assert (created.iati_identifier, created.iati_type) == ("NL-KVK-1", 21)


def test_dry_run_previews_and_writes_nothing(session):
    _small_project(session)
    document = export_iati(session)
    session.rollback()
    audit_before = _count(session, AuditEntry)
    report = import_iati(session, document, dry_run=True)
    assert report.ok and report.dry_run and not report.written
    assert report.created["project"] == 1 and report.created["period"] == 1
    assert report.created["document"] == 1
    assert ("document", 1, 0, 0) in report.table()
    assert report.summary().startswith("dry run: would have ")
    session.commit()
    assert _count(session, Project) == 0 and _count(session, Organisation) == 0
    assert _count(session, ProjectDocument) == 0
    assert _count(session, AuditEntry) == audit_before


def test_reimport_updates_matched_records_and_reports_what_changed(session):
    _small_project(session)
    session.commit()
    document = export_iati(session, record_identifiers=True)
    session.commit()
    changed = document.replace(
        b"<narrative>Decent work</narrative>", b"<narrative>Decent work 2</narrative>"
    )
    changed = changed.replace(b'<target value="10"/>', b'<target value="12"/>')
    report = import_iati(session, changed)
    assert report.ok, report.lines()
    assert report.updated["project"] == 1 and report.updated["period"] == 1
    assert report.unchanged["indicator"] == 1 and report.created["project"] == 0
    session.commit()
    project = session.scalars(select(Project)).one()
    assert project.title == "Decent work 2"
    assert session.scalars(select(IndicatorPeriod)).one().target_value == 12
    entries = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "update", AuditEntry.changes.is_not(None))
    ).all()
    assert any("Decent work 2" in str(e.changes) for e in entries)  # audited like any change


def test_reimport_makes_stored_progress_figures_follow(session):
    """Progress read before an import (figures stored) shows the imported target after."""
    from coordination.services.results import load_progress_snapshot

    _small_project(session)
    session.commit()
    document = export_iati(session, record_identifiers=True)
    (before,) = load_progress_snapshot(session, ["P1"], detail="figures")
    session.commit()
    assert before.indicators[0].series.target_sum == 10
    report = import_iati(
        session, document.replace(b'<target value="10"/>', b'<target value="12"/>')
    )
    assert report.ok, report.lines()
    session.commit()
    (after,) = load_progress_snapshot(session, ["P1"], detail="figures")
    assert after.indicators[0].series.target_sum == 12


def test_reimport_updates_documents_by_address_without_duplicating(session):
    _small_project(session)
    session.commit()
    document = export_iati(session, record_identifiers=True)
    session.commit()
    again = import_iati(session, document)
    assert again.unchanged["document"] == 1 and again.created["document"] == 0
    changed = document.replace(
        b"<narrative>Project brief</narrative>", b"<narrative>Brief</narrative>"
    )
    changed = changed.replace(b'<category code="A02"/>', b'<category code="A07"/>')
    report = import_iati(session, changed)
    assert report.ok, report.lines()
    assert report.updated["document"] == 1 and report.created["document"] == 0
    session.commit()
    [stored] = session.scalars(select(ProjectDocument)).all()
    assert (stored.url, stored.title, stored.category.value) == (BRIEF, "Brief", "A07")
    # A link the file no longer lists is kept: the import adds and updates, never deletes.
    without = changed.replace(BRIEF.encode(), b"https://www.ilo.org/dw/other.pdf")
    assert import_iati(session, without).created["document"] == 1
    session.commit()
    assert _count(session, ProjectDocument) == 2


def test_document_links_that_cannot_be_stored_are_skipped_with_their_line(session):
    activity = x.Activity(
        identifier="XM-1",
        reporting_org=x.Org(name="Agency", ref="XM"),
        title="Activity",
        dates=[("1", date(2024, 1, 1))],
        documents=[
            x.Document(url="ftp://files.example.org/a.pdf", title="FTP", format="application/pdf"),
            x.Document(url="https://example.org/b", title="Unknown", category="Z99"),
            x.Document(url="https://example.org/c", title="Odd", format="PDF", languages=["xx"]),
            x.Document(url="https://example.org/c", title="Again", category="A01"),
        ],
    )
    report = import_iati(session, x.render_activities([activity]))
    assert report.ok, report.lines()
    assert report.created["document"] == 1
    messages = [p.message for p in report.skipped]
    assert any("is not a web address" in m for m in messages)
    assert any("Z99 is not a DocumentCategory code" in m for m in messages)
    assert any("format 'PDF' is not a media type" in m for m in messages)
    assert any("language 'xx' is not ISO 639-1" in m for m in messages)
    assert any("listed twice" in m for m in messages)
    assert all(p.line for p in report.skipped)
    [stored] = session.scalars(select(ProjectDocument)).all()
    assert (stored.url, stored.format, stored.language) == (
        "https://example.org/c",
        "text/html",
        None,
    )


def test_any_error_writes_nothing_and_names_the_line(session):
    _small_project(session)
    document = export_iati(session)
    session.rollback()
    broken = document.replace(
        b'<period-end iso-date="2024-12-31"/>', b'<period-end iso-date="2023-12-31"/>'
    )
    report = import_iati(session, broken)
    assert not report.ok and not report.written
    [error] = report.errors
    assert error.line and "period 2024-01-01" in error.where and "before it starts" in error.message
    assert report.summary().startswith("nothing written")
    session.commit()
    assert _count(session, Project) == 0 and _count(session, Organisation) == 0


def test_locked_period_is_not_overwritten(session):
    _small_project(session)
    document = export_iati(session, record_identifiers=True)
    period = session.scalars(select(IndicatorPeriod)).one()
    period.locked = True
    session.flush()
    report = import_iati(
        session, document.replace(b'<target value="10"/>', b'<target value="99"/>')
    )
    assert report.ok
    assert any("locked" in p.message for p in report.skipped)
    assert period.target_value == 10


def test_percentage_and_qualitative_actuals_import(session):
    document = x.render_activities(
        [
            x.Activity(
                identifier="AA-1",
                reporting_org=x.Org(name="Agency", ref="AA", type="10"),
                title="A",
                participating=[x.Org(name="Agency", ref="AA", type="10", role="2")],
                status="2",
                dates=[("1", date(2020, 1, 1))],
                results=[
                    x.Result(
                        title="R",
                        type="2",
                        indicators=[
                            x.Indicator(
                                title="Share",
                                measure="2",
                                periods=[
                                    x.Period(
                                        start=date(2020, 1, 1),
                                        end=date(2020, 12, 31),
                                        actuals=[x.Point(value="40.5")],
                                    )
                                ],
                            ),
                            x.Indicator(
                                title="Story",
                                measure="5",
                                periods=[
                                    x.Period(
                                        start=date(2020, 1, 1),
                                        end=date(2020, 12, 31),
                                        actuals=[x.Point(comment="Went well")],
                                    )
                                ],
                            ),
                        ],
                    )
                ],
            )
        ]
    )
    report = import_iati(session, document)
    assert report.ok, report.lines()
    updates = {u.period.indicator.measure: u for u in session.scalars(select(IndicatorUpdate))}
    share = updates[IndicatorMeasure.PERCENTAGE]
    assert (share.numerator, share.denominator) == (Decimal("40.5"), Decimal(100))
    assert updates[IndicatorMeasure.QUALITATIVE].narrative == "Went well"
    assert session.scalars(select(Result)).one().code == "R1"


def test_hostile_file_raises_before_anything_is_written(session):
    evil = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><iati-activities><iati-activity><iati-identifier>&e;</iati-identifier></iati-activity></iati-activities>'
    with pytest.raises(x.IatiFormatError):
        import_iati(session, evil)
    assert _count(session, Project) == 0


def test_duplicate_identifiers_in_one_file_are_an_error(session):
    activity = x.Activity(
        identifier="AA-1",
        reporting_org=x.Org(name="Agency", ref="AA"),
        title="A",
        participating=[x.Org(name="Agency", ref="AA", role="2")],
        dates=[("1", date(2020, 1, 1))],
    )
    report = import_iati(session, x.render_activities([activity, activity]))
    assert [e.message for e in report.errors] == [
        "the same iati-identifier appears twice in the file"
    ]
    assert _count(session, Project) == 0


# ---------------------------------------------------------------- generated data

_values = st.integers(0, 500)


@needs_schema
@settings(
    max_examples=12,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # shrinking a database test is slow
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    plan=st.lists(
        st.tuples(
            st.sampled_from(["unit", "percentage", "qualitative"]),
            st.booleans(),  # ascending
            st.lists(st.tuples(_values, _values, st.booleans()), min_size=0, max_size=3),
        ),
        min_size=1,
        max_size=4,
    ),
    with_intervention=st.booleans(),
)
def test_generated_logframes_export_valid_and_round_trip(session, plan, with_intervention):
    from coordination.models import IndicatorUpdate as Update

    session.rollback()
    project = _small_project(session)
    result = session.scalars(select(Result)).one()
    for n, (measure, ascending, periods) in enumerate(plan):
        dims = {"sex": ["female", "male"]} if measure != "qualitative" else None
        indicator = create_indicator(
            session,
            result,
            code=f"G{n}",
            title=f"Generated {n}",
            measure=measure,
            ascending=ascending,
            dimensions=dims,
        )
        for year, (female, male, with_actual) in enumerate(periods, start=2024):
            if year > 2026:
                break
            if measure == "percentage":
                female, male = min(female, 100), min(male, 100)
            total = (
                None
                if measure == "qualitative"
                else (female + male if measure == "unit" else max(female, male))
            )
            period = create_period(
                session,
                indicator,
                start_date=date(year, 1, 1),
                end_date=date(year, 12, 31),
                target=total,
                targets={"sex": {"female": female, "male": male}} if measure == "unit" else None,
            )
            if with_actual:
                fields = {
                    "unit": {"value": female + male},
                    "percentage": {
                        "numerator": Decimal(female),
                        "denominator": Decimal(max(female, 1) + male),
                    },
                    "qualitative": {"narrative": f"story {female}"},
                }[measure]
                session.add(Update(period=period, status="approved", reported_by="t", **fields))
    if with_intervention:
        factories.create_intervention(
            session,
            project_id=project.id,
            places=[("BD", "BD-C"), ("KH", None)],
            target_groups=["women-workers"],
        )
    session.flush()
    first = export_iati(session)
    assert x.validate(first) == []
    session.rollback()
    report = import_iati(session, first)
    assert report.ok, report.lines()
    assert report.created["intervention"] == int(with_intervention)
    second = export_iati(session)
    assert x.compare(first, second, ignore=IGNORE) == []
    session.rollback()
    assert _count(session, Intervention) == 0


def test_an_intervention_of_another_project_is_not_moved(session):
    project = _small_project(session)
    other = factories.create_project(session, code="P2", title="Other")
    lead = factories.create_organisation(session, acronym="LEAD", name="Lead org")
    factories.create_intervention(session, code="X1", project_id=other.id, lead_organisation=lead)
    parent = x.parse_activities(export_iati(session, project_codes=["P1"])).activities[0]
    child = x.Activity(
        identifier="XM-DAC-41302-P1-X1",
        hierarchy=2,
        reporting_org=parent.reporting_org,
        title="Moved?",
        participating=[x.Org(name="Lead org", role="4")],
        dates=[("1", date(2025, 1, 1))],
        related=[("1", "XM-DAC-41302-P1")],
    )
    report = import_iati(session, x.render_activities([parent, child]))
    assert [e.message for e in report.errors] == [
        f"intervention X1 belongs to another project (#{other.id})"
    ]
    session.expire_all()
    moved = session.scalars(select(Intervention).where(Intervention.code == "X1")).one()
    assert moved.project_id == other.id and project.iati_identifier is None
