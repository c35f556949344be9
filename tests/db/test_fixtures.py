"""The fixture loader and the demo scenario."""

import itertools
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from coordination.errors import ValidationError
from coordination.models import (
    AuditEntry,
    Body,
    BodyMembership,
    Intervention,
    InterventionPlace,
    Organisation,
    Partnership,
    Person,
    Project,
    ProjectDocument,
    Result,
    User,
)
from coordination.services.accounts import authenticate
from coordination.services.fixtures import (
    DEMO_ACCOUNTS,
    FixtureError,
    create_demo_accounts,
    fixtures_root,
    load_fixtures,
)
from coordination.vocab import UserRole

COUNTED = (
    Organisation,
    Person,
    Project,
    ProjectDocument,
    Result,
    Partnership,
    Body,
    BodyMembership,
    Intervention,
    InterventionPlace,
)

# The duplicates the scenario contains on purpose (fixtures/demo/README.md).
DELIBERATE_DUPLICATES = {
    ("BD-01", "BD-02"),
    ("KH-01", "KH-02"),
    ("VN-01", "VN-02"),
    ("ID-01", "ID-02"),
}
# Organisations whose interventions overlap, with no partnership and no shared body.
SIDE_BY_SIDE = {
    ("BD-03", "BD-09"),
    ("VN-03", "VN-05"),
    ("PK-04", "PK-06"),
    ("LK-01", "LK-02"),
    ("MM-01", "MM-02"),
}


CORE_TYPES = {  # audited entity type -> fixture summary kind
    "Organisation": "organisations",
    "Person": "people",
    "Project": "projects",
    "ProjectDocument": "documents",
    "Partnership": "partnerships",
    "Body": "bodies",
    "Intervention": "interventions",
}


def counts(session):
    return {
        model.__name__: session.scalar(select(func.count()).select_from(model)) for model in COUNTED
    }


def test_loading_the_demo_twice_creates_nothing_the_second_time(engine):
    with Session(engine) as session, session.begin():
        session.info["actor"] = "test"
        first = load_fixtures(session, "demo")
    with Session(engine) as session:
        after_first = counts(session)
        audited = session.scalar(select(func.count()).select_from(AuditEntry))
        # Extension sections (logframe, calendar) write other record types through
        # their own services; count the entries of the types the core sections create.
        audited_core = session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.entity_type.in_(list(CORE_TYPES)))
        )
    with Session(engine) as session, session.begin():
        second = load_fixtures(session, fixtures_root() / "demo")
    with Session(engine) as session:
        assert counts(session) == after_first
        # nothing changed, so nothing was audited either
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == audited
    assert sum(second.created.values()) == 0
    assert second.existing == first.created
    assert after_first["Intervention"] == first.created["interventions"] >= 60
    # one audit entry per created record (each intervention is its own entry)
    assert audited_core == sum(after_first[name] for name in CORE_TYPES)
    assert all(after_first[name] >= first.created[kind] for name, kind in CORE_TYPES.items())


def _snapshot(session):
    interventions = session.scalars(
        select(Intervention).options(
            selectinload(Intervention.themes),
            selectinload(Intervention.target_groups),
            selectinload(Intervention.places).selectinload(InterventionPlace.area),
            selectinload(Intervention.lead_organisation),
        )
    ).all()
    return {i.code: i for i in interventions}


def _places_overlap(a, b):
    return any(
        p.country_code == q.country_code
        and (p.area_id is None or q.area_id is None or p.area_id == q.area_id)
        for p in a.places
        for q in b.places
    )


def _dates_intersect(a, b):
    return a.start_date <= (b.end_date or date.max) and b.start_date <= (a.end_date or date.max)


def _overlap(a, b):
    return (
        bool({t.code for t in a.themes} & {t.code for t in b.themes})
        and _places_overlap(a, b)
        and _dates_intersect(a, b)
    )


def _likely_duplicate(a, b):
    return (
        _overlap(a, b)
        and bool({g.code for g in a.target_groups} & {g.code for g in b.target_groups})
        and a.intervention_type == b.intervention_type
    )


@pytest.fixture
def demo(engine):
    with Session(engine) as session, session.begin():
        load_fixtures(session, "demo")
    with Session(engine) as session:
        yield session


def test_demo_scenario_is_broad_enough(demo):
    interventions = _snapshot(demo)
    assert len(interventions) >= 60
    countries = {p.country_code for i in interventions.values() for p in i.places}
    assert {"BD", "KH", "VN", "ID", "PK", "LK", "MM"} <= countries
    assert {t.code for i in interventions.values() for t in i.themes} == {
        "social-dialogue",
        "gender-equality",
        "productivity",
        "environment",
    }
    project = demo.scalars(select(Project).where(Project.code == "DW-GARMENT-ASIA")).one()
    assert [o.acronym for o in project.donors] == ["Sida"]
    # its published documents: project page, brief, progress report, evaluation
    assert sorted((d.category.value, d.format) for d in project.documents) == [
        ("A02", "application/pdf"),
        ("A07", "application/pdf"),
        ("A08", "application/pdf"),
        ("A12", "text/html"),
    ]
    assert all(d.url.startswith("https://www.ilo.org/") for d in project.documents)
    results = {
        r.code: r for r in demo.scalars(select(Result).where(Result.project_id == project.id))
    }
    assert {"G", "O1", "O2", "O3", "O4"} <= set(results)
    # the logframe section adds outputs and activities under the four outcomes
    assert {r.level.value for r in results.values()} == {"goal", "outcome", "output", "activity"}
    assert all(results[c].parent is results["G"] for c in ("O1", "O2", "O3", "O4"))
    assert results["O2"].title == (
        "Increased availability of and advocacy for evidence-based policy recommendations "
        "for gender equality in the garment sector."
    )
    taskforce = demo.scalars(select(Body).where(Body.name.like("Regional Gender Taskforce%"))).one()
    assert any(m.person is not None for m in taskforce.memberships)
    people = demo.scalars(select(Person)).all()
    assert {p.sex.value for p in people} == {"female", "male"}


def test_demo_has_exactly_the_deliberate_duplicates(demo):
    interventions = _snapshot(demo)
    found = {
        tuple(sorted((a.code, b.code)))
        for a, b in itertools.combinations(interventions.values(), 2)
        if _likely_duplicate(a, b)
    }
    assert found == DELIBERATE_DUPLICATES
    for first, second in DELIBERATE_DUPLICATES:
        a, b = interventions[first], interventions[second]
        assert a.lead_organisation is not b.lead_organisation
        assert a.intervention_type.value == b.intervention_type.value == "training"
        assert [t.code for t in a.themes] == [t.code for t in b.themes]
        assert [p.area.code for p in a.places] == [p.area.code for p in b.places]
        assert {g.code for g in a.target_groups} == {g.code for g in b.target_groups}
        assert _dates_intersect(a, b)
        lead_a, lead_b = a.lead_organisation, b.lead_organisation
        assert not set(lead_a.partnerships) & set(lead_b.partnerships)


def test_demo_has_unconnected_organisations_working_side_by_side(demo):
    interventions = _snapshot(demo)
    for first, second in SIDE_BY_SIDE:
        a, b = interventions[first], interventions[second]
        assert _overlap(a, b) and not _likely_duplicate(a, b), (first, second)
        lead_a, lead_b = a.lead_organisation, b.lead_organisation
        assert not set(lead_a.partnerships) & set(lead_b.partnerships)
        assert not {m.body_id for m in lead_a.memberships} & {m.body_id for m in lead_b.memberships}


BROKEN = """
organisations:
  - acronym: NEWORG
    name: A new organisation
    type: ngo
interventions:
  - code: BAD-1
    title: Unknown lead
    type: training
    lead: NOBODY
    themes: [gender-equality]
    places: [BD-C]
    start_date: 2025-01-01
  - code: BAD-2
    title: Unknown area
    type: training
    lead: NEWORG
    themes: [gender-equality]
    places: [BD-ZZ]
    start_date: 2025-01-01
  - code: BAD-3
    title: Area of another country
    type: training
    lead: NEWORG
    themes: [gender-equality]
    places: [{country: KH, area: BD-C}]
    start_date: 2025-01-01
  - code: BAD-4
    title: Ends before it starts
    type: training
    lead: NEWORG
    themes: [gender-equality]
    places: [BD]
    start_date: 2025-06-01
    end_date: 2025-01-31
"""


def test_broken_fixture_is_refused_with_every_problem_and_writes_nothing(session, tmp_path):
    (tmp_path / "broken.yaml").write_text(BROKEN)
    with pytest.raises(FixtureError) as error:
        load_fixtures(session, tmp_path)
    problems = {(p.file, p.item, p.field): p.message for p in error.value.problems}
    assert problems == {
        ("broken.yaml", "interventions[0] (BAD-1)", "lead"): "unknown organisation 'NOBODY'",
        ("broken.yaml", "interventions[1] (BAD-2)", "places[0]"): "unknown area 'BD-ZZ' in BD",
        (
            "broken.yaml",
            "interventions[2] (BAD-3)",
            "places[0].area",
        ): "area 'BD-C' is in BD, not in KH",
        (
            "broken.yaml",
            "interventions[3] (BAD-4)",
            "end_date",
        ): "ends on 2025-01-31, before it starts (2025-06-01)",
    }
    message = str(error.value)
    assert message.startswith("4 problems in fixtures")
    assert "nothing was loaded" in message
    assert "broken.yaml: interventions[0] (BAD-1): lead: unknown organisation 'NOBODY'" in message
    assert not session.new
    session.commit()
    assert counts(session)["Organisation"] == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("organisations: [\n", "not valid YAML"),
        ("- just a list\n", "must be a mapping of sections"),
        ("organizations: []\n", "unknown section"),
        (
            "organisations:\n  - {acronym: A, name: A, type: ngo, colour: red}\n",
            "colour: unknown key",
        ),
        ("organisations:\n  - {acronym: A, name: A}\n", "type: is required"),
        ("organisations:\n  - {acronym: A, name: A, type: guild}\n", "unknown value 'guild'"),
        (
            "organisations:\n  - {acronym: A, name: A, type: ngo}\n  - {acronym: a, name: B, type: ngo}\n",
            "'a' is also used by x.yaml: organisations[0] (A)",
        ),
        ("partnerships:\n  - {name: P, type: mou, members: [ILO]}\n", "unknown organisation 'ILO'"),
        (
            "people:\n  - {name: P, email: p@nowhere}\n",
            "email: 'p@nowhere' is not an e-mail address",
        ),
        ("bodies:\n  - {name: B, type: network, members: [{}]}\n", "not both or neither"),
        (
            "interventions:\n  - {code: I, title: T, type: training, lead: X, start_date: 2025-13-01, themes: [x]}\n",
            "cannot read a value: month must be in 1..12",
        ),
        (
            "interventions:\n  - {code: I, title: T, type: training, lead: X, start_date: 2025-01-01, themes: [x]}\n",
            "unknown theme 'x'",
        ),
        (
            "projects:\n  - {code: P, title: T, results: [{code: O1, level: outcome, title: T, parent: G}]}\n",
            "unknown parent 'G'",
        ),
    ],
)
def test_fixture_problems_are_named(session, tmp_path, text, expected):
    (tmp_path / "x.yaml").write_text(text)
    with pytest.raises(FixtureError) as error:
        load_fixtures(session, tmp_path / "x.yaml")
    assert expected in str(error.value)
    assert not session.new


def test_unknown_fixture_set_names_the_known_ones(session):
    with pytest.raises(FixtureError, match="known sets: demo"):
        load_fixtures(session, "no-such-set")


def test_demo_accounts_need_the_demo_organisations_and_can_log_in(session):
    with pytest.raises(ValidationError, match="load the demo fixtures first"):
        create_demo_accounts(session)
    session.rollback()
    load_fixtures(session, "demo")
    accounts = create_demo_accounts(session)
    session.commit()
    assert [role for role, _, _ in accounts] == [
        UserRole.ADMIN,
        UserRole.MANAGER,
        UserRole.PARTNER,
        UserRole.DONOR,
    ]
    for role, email, password in accounts:
        user = authenticate(session, email, password)
        assert user is not None and user.role is role
    partner = session.scalars(select(User).where(User.role == UserRole.PARTNER)).one()
    assert partner.organisation.acronym == "BGMEA"
    assert session.scalar(
        select(func.count())
        .select_from(Intervention)
        .where(Intervention.lead_organisation_id == partner.organisation_id)
    )
    # running it again resets the passwords instead of failing
    assert create_demo_accounts(session) == accounts
    assert session.scalar(select(func.count()).select_from(User)) == len(DEMO_ACCOUNTS)
