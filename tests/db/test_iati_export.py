"""IATI export from the database: the demo scenario, identifiers, results, query count."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from lxml import etree
from sqlalchemy import event
from sqlalchemy.orm import Session

from coordination.errors import ValidationError
from coordination.interop import iati as x
from coordination.models import Project
from coordination.services.fixtures import load_fixtures
from coordination.services.iati import build_activities, export_iati
from coordination.services.results import (
    approve_update,
    create_indicator,
    create_period,
    create_result,
    report_update,
    submit_update,
)
from coordination.vocab import OrganisationRole, UserRole
from tests import factories

needs_schema = pytest.mark.skipif(x.schema_path() is None, reason="IATI schema not found")


def _manager(session: Session):
    from coordination.services.accounts import create_user

    return create_user(session, "manager@example.org", "correct horse battery", UserRole.MANAGER)


def _project(session: Session, **overrides) -> Project:
    ilo = factories.create_organisation(
        session,
        acronym="ILO",
        name="International Labour Organization",
        iati_identifier="XM-DAC-41302",
        iati_type=40,
    )
    sida = factories.create_organisation(
        session, acronym="Sida", name="Sida", iati_identifier="SE-0"
    )
    project = factories.create_project(session, code="P1", title="Decent work", **overrides)
    from coordination.models import ProjectOrganisation

    project.participations = [
        ProjectOrganisation(organisation=ilo, role=OrganisationRole.ACCOUNTABLE),
        ProjectOrganisation(organisation=sida, role=OrganisationRole.FUNDING),
    ]
    session.flush()
    return project


@needs_schema
def test_demo_scenario_exports_valid_iati(session):
    load_fixtures(session, "demo")
    document = export_iati(session)
    assert x.validate(document) == []
    root = etree.fromstring(document)
    [parent] = root.xpath("iati-activity[@hierarchy='1']")
    assert parent.findtext("iati-identifier") == "XM-DAC-41302-DW-GARMENT-ASIA"
    assert parent.find("reporting-org").get("ref") == "XM-DAC-41302"
    children = root.xpath("iati-activity[@hierarchy='2']")
    assert len(children) == len(parent.xpath("related-activity[@type='2']")) > 10
    assert {c.find("related-activity").get("ref") for c in children} == {
        "XM-DAC-41302-DW-GARMENT-ASIA"
    }
    # Gender equality is one of four themes: a significant objective.
    assert parent.find("policy-marker").attrib == {
        "vocabulary": "1",
        "code": "1",
        "significance": "1",
    }
    percentages = [Decimal(c.get("percentage")) for c in parent.findall("recipient-country")]
    assert sum(percentages) == 100
    assert parent.xpath(".//dimension[@name='sex']")
    measures = {i.get("measure") for i in parent.iter("indicator")}
    assert measures <= {"1", "2", "5"} and "2" in measures
    # Sectors: DAC codes where the theme is mapped.
    assert {s.get("vocabulary") for s in parent.findall("sector")} == {"1"}
    # The project's documents, at activity level (result evidence stays in the results).
    links = parent.findall("document-link")
    assert sorted(link.find("category").get("code") for link in links) == [
        "A02",
        "A07",
        "A08",
        "A12",
    ]
    assert all(c.find("document-link") is None for c in children)  # interventions have none


@needs_schema
def test_project_documents_become_activity_document_links_in_schema_order(session):
    from coordination.services.interventions import add_project_document

    project = _project(session, start_date=date(2024, 1, 1))
    add_project_document(
        session,
        project,
        title="Mid-term evaluation",
        url="https://www.ilo.org/eval/dw-midterm.pdf",
        category="A07",
        language="en",
        document_date="2025-09-30",
        description="Independent evaluation of the first half",
    )
    add_project_document(
        session, project, title="Project page", url="https://www.ilo.org/dw", category="A12"
    )
    document = export_iati(session, interventions=False)
    assert x.validate(document) == []
    activity = etree.fromstring(document).find("iati-activity")
    tags = [child.tag for child in activity]
    # after budget, before related-activity and result, as the schema's sequence wants
    assert tags.index("document-link") > tags.index("activity-date")
    links = activity.findall("document-link")
    assert [(link.get("url"), link.get("format")) for link in links] == [
        ("https://www.ilo.org/eval/dw-midterm.pdf", "application/pdf"),
        ("https://www.ilo.org/dw", "text/html"),
    ]
    evaluation = links[0]
    assert [child.tag for child in evaluation] == [
        "title",
        "description",
        "category",
        "language",
        "document-date",
    ]
    assert evaluation.findtext("title/narrative") == "Mid-term evaluation"
    assert (
        evaluation.findtext("description/narrative") == "Independent evaluation of the first half"
    )
    assert evaluation.find("category").get("code") == "A07"
    assert evaluation.find("language").get("code") == "en"
    assert evaluation.find("document-date").get("iso-date") == "2025-09-30"
    # optional parts are left out, not written empty
    assert [child.tag for child in links[1]] == ["title", "category"]


def test_identifier_is_reporting_org_prefix_plus_code_and_kept_once_published(session):
    project = _project(session)
    [activity] = build_activities(session, record_identifiers=True)
    assert activity.identifier == "XM-DAC-41302-P1"
    assert project.iati_identifier == "XM-DAC-41302-P1"
    project.code = "RENAMED"
    session.flush()
    [again] = build_activities(session)
    assert again.identifier == "XM-DAC-41302-P1"


def test_reporting_org_without_identifier_is_a_clear_error(session):
    project = factories.create_project(session, code="P2")
    ngo = factories.create_organisation(session, acronym="NGO1")
    from coordination.models import ProjectOrganisation

    project.participations = [
        ProjectOrganisation(organisation=ngo, role=OrganisationRole.IMPLEMENTING)
    ]
    session.flush()
    with pytest.raises(ValidationError, match="NGO1.*no IATI organisation identifier"):
        export_iati(session)
    with pytest.raises(ValidationError, match="no project with code NOPE"):
        export_iati(session, project_codes=["NOPE"])


@needs_schema
def test_results_indicators_periods_with_sex_disaggregation(session):
    project = _project(session, start_date=date(2024, 1, 1), end_date=date(2026, 12, 31))
    manager = _manager(session)
    outcome = create_result(session, project, code="O1", title="Outcome", level="outcome")
    output = create_result(
        session, project, code="O1.1", title="Output", level="output", parent=outcome
    )
    indicator = create_indicator(
        session,
        output,
        code="I1",
        title="Workers trained",
        ascending=False,
        baseline_value=5,
        baseline_comment="survey",
        dimensions={"sex": ["female", "male"]},
    )
    indicator.dimensions[0].categories[0].baseline_value = Decimal(3)
    period = create_period(
        session,
        indicator,
        start_date=date(2024, 1, 1),
        end_date=date(2024, 12, 31),
        target=10,
        targets={"sex": {"female": 6, "male": 4}},
        comment="first year",
    )
    update = report_update(
        session,
        period,
        manager,
        value=9,
        comment="good",
        evidence_links=["https://example.org/list.pdf"],
        disaggregations={"sex": {"female": 5, "male": 4}},
    )
    submit_update(session, update, manager)
    approve_update(session, update, manager)
    share = create_indicator(session, outcome, code="S1", title="Share", measure="percentage")
    p2 = create_period(
        session, share, start_date=date(2024, 1, 1), end_date=date(2024, 12, 31), target=50
    )
    u2 = report_update(session, p2, manager, numerator=27, denominator=102)
    submit_update(session, u2, manager)
    approve_update(session, u2, manager)
    session.flush()

    document = export_iati(session, project_codes=["P1"])
    assert x.validate(document) == []
    root = etree.fromstring(document)
    results = root.findall(".//result")
    assert [r.get("type") for r in results] == ["2", "1"]
    assert results[1].xpath("reference[contains(@vocabulary-uri, 'result-parents')]/@code") == [
        "O1"
    ]
    [i1] = results[1].findall("indicator")
    assert i1.attrib == {"measure": "1", "ascending": "0"}
    baselines = i1.findall("baseline")
    assert [(b.get("value"), b.findtext("comment/narrative")) for b in baselines] == [
        ("5", "survey"),
        ("3", None),
    ]
    assert baselines[1].find("dimension").attrib == {"name": "sex", "value": "female"}
    [p] = i1.findall("period")
    targets = [
        (
            t.get("value"),
            t.find("dimension").get("value") if t.find("dimension") is not None else None,
        )
        for t in p.findall("target")
    ]
    assert targets == [("10", None), ("6", "female"), ("4", "male")]
    actuals = p.findall("actual")
    assert [a.get("value") for a in actuals] == ["9", "5", "4"]
    assert actuals[0].findtext("comment/narrative") == "good"
    assert actuals[0].find("document-link").get("url") == "https://example.org/list.pdf"
    assert actuals[0].find("document-link").get("format") == "application/pdf"
    [s1] = results[0].findall("indicator")
    assert s1.get("measure") == "2"
    assert s1.find("period/actual").get("value") == "26.4706"


def test_only_approved_actuals_are_exported(session):
    project = _project(session)
    manager = _manager(session)
    result = create_result(session, project, code="O1", title="Outcome", level="outcome")
    indicator = create_indicator(session, result, code="I1", title="Count")
    period = create_period(
        session, indicator, start_date=date(2024, 1, 1), end_date=date(2024, 12, 31), target=3
    )
    report_update(session, period, manager, value=2)  # a draft
    root = etree.fromstring(export_iati(session))
    assert root.find(".//period/actual") is None
    assert root.find(".//period/target").get("value") == "3"


def test_export_uses_a_constant_number_of_queries(session, engine):
    def queries() -> int:
        session.expire_all()
        statements: list[str] = []

        def record(_conn, _cursor, statement, *_args):
            statements.append(statement)

        event.listen(engine, "before_cursor_execute", record)
        try:
            build_activities(session)
        finally:
            event.remove(engine, "before_cursor_execute", record)
        return len(statements)

    def add(result, first: int, last: int) -> None:
        for n in range(first, last):
            indicator = create_indicator(
                session, result, code=f"I{n}", title="Count", dimensions={"sex": ["female", "male"]}
            )
            create_period(
                session,
                indicator,
                start_date=date(2024, 1, 1),
                end_date=date(2024, 12, 31),
                target=3,
            )

    project = _project(session)
    result = create_result(session, project, code="O1", title="Outcome", level="outcome")
    add(result, 0, 3)
    factories.create_intervention(session, project_id=project.id, places=[("BD", "BD-C")])
    session.flush()
    small = queries()
    add(result, 3, 30)
    for _ in range(10):
        factories.create_intervention(session, project_id=project.id, places=[("KH", None)])
    session.flush()
    assert queries() == small
