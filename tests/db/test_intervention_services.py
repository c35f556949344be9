from datetime import date

import pytest
from sqlalchemy import func, select

from coordination.errors import ValidationError
from coordination.models import Intervention, InterventionPlace
from coordination.services.interventions import (
    create_intervention,
    create_project,
    create_result,
    update_intervention,
    update_result,
)
from coordination.vocab import ActivityStatus, InterventionType, OrganisationRole, ResultLevel
from tests import factories


@pytest.fixture
def scenario(session):
    for acronym in ("ILO", "BGMEA", "CARE", "Sida"):
        factories.create_organisation(session, acronym=acronym)
    project = create_project(
        session,
        code="DW",
        title="Decent Work in the Garment Sector Supply Chains in Asia",
        currency="sek",
        start_date="2023-01-01",
        end_date="2027-06-30",
        organisations=[("Sida", "funding"), ("ILO", "implementing"), ("ILO", "accountable")],
        countries=["BD", "KH"],
        themes=["gender-equality"],
    )
    goal = create_result(session, project, code="G", title="Goal", level="goal")
    create_result(session, "DW", code="O2", title="Gender outcome", level="outcome", parent="G")
    return project, goal


def test_intervention_from_natural_keys(session, scenario):
    project, _goal = scenario
    intervention = create_intervention(
        session,
        code="BD-01",
        title="Women's leadership training",
        intervention_type="training",
        lead_organisation="bgmea",
        partners=["CARE", ("ILO", "extending")],
        funders=["Sida"],
        themes=["gender-equality"],
        target_groups=["women-workers"],
        places=["BD-C", {"country": "KH", "area": "Phnom Penh"}, ("BD", None)],
        start_date="2025-03-01",
        end_date=date(2025, 5, 31),
        project="DW",
        results=["O2"],
    )
    session.commit()
    assert intervention.lead_organisation.acronym == "BGMEA"
    assert intervention.intervention_type is InterventionType.TRAINING
    assert intervention.status is ActivityStatus.IMPLEMENTATION
    assert sorted(
        (o.acronym, r.value)
        for o, r in [(p.organisation, p.role) for p in intervention.participations]
    ) == [
        ("CARE", "implementing"),
        ("ILO", "extending"),
        ("Sida", "funding"),
    ]
    assert [o.acronym for o in intervention.funders] == ["Sida"]
    assert sorted((p.country_code, p.area.code if p.area else "") for p in intervention.places) == [
        ("BD", ""),
        ("BD", "BD-C"),
        ("KH", "KH-12"),
    ]
    assert [r.code for r in intervention.results] == ["O2"]
    assert project.donors[0].acronym == "Sida"
    assert project.currency == "SEK"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"themes": []}, "themes", "at least one theme"),
        ({"themes": ["knitting"]}, "themes", "unknown theme 'knitting'"),
        ({"places": [{"country": "KH", "area": "BD-C"}]}, "places[0].area", "is in BD, not in KH"),
        ({"places": ["BD-ZZ"]}, "places[0].area", "unknown area"),
        ({"places": ["XX"]}, "places[0].country", "unknown country"),
        ({"places": ["BD-C", "BD-C"]}, "places", "listed twice"),
        ({"end_date": "2024-12-31"}, "end_date", "before it starts"),
        ({"lead_organisation": "NOPE"}, "lead_organisation", "unknown organisation 'NOPE'"),
        ({"partners": ["BGMEA"]}, "partners", "already leads"),
        ({"results": ["O9"]}, "results", "has no result 'O9'"),
        ({"project": None, "results": ["O2"]}, "results", "set the project"),
        ({"intervention_type": "party"}, "intervention_type", "unknown value 'party'"),
    ],
)
def test_bad_interventions_are_refused_per_field(session, scenario, changes, field, message):
    values = {
        "code": "X-1",
        "title": "Training",
        "intervention_type": "training",
        "lead_organisation": "BGMEA",
        "themes": ["gender-equality"],
        "places": ["BD"],
        "start_date": "2025-01-01",
        "project": "DW",
        "results": [],
    } | changes
    with pytest.raises(ValidationError) as error:
        create_intervention(session, **values)
    assert message in error.value.errors[field]
    assert session.scalar(select(func.count()).select_from(Intervention)) == 0


def test_update_changes_only_what_is_given_and_keeps_unchanged_places(session, scenario):
    intervention = create_intervention(
        session,
        code="BD-02",
        title="Training",
        intervention_type="training",
        lead_organisation="CARE",
        themes=["gender-equality"],
        places=["BD-C", "BD-B"],
        funders=["Sida"],
        start_date="2025-04-01",
    )
    session.commit()
    kept = next(p for p in intervention.places if p.area.code == "BD-C")
    kept_id = kept.id
    update_intervention(
        session, intervention, places=["BD-C", "KH-12"], partners=["ILO"], end_date="2025-06-30"
    )
    session.commit()
    assert sorted(p.area.code for p in intervention.places) == ["BD-C", "KH-12"]
    assert kept_id in {p.id for p in intervention.places}
    assert session.scalar(select(func.count()).select_from(InterventionPlace)) == 2
    # funders were not named: they stay
    assert {(p.organisation.acronym, p.role) for p in intervention.participations} == {
        ("ILO", OrganisationRole.IMPLEMENTING),
        ("Sida", OrganisationRole.FUNDING),
    }
    assert intervention.end_date == date(2025, 6, 30)
    with pytest.raises(ValidationError, match="before it starts"):
        update_intervention(session, intervention, start_date="2026-01-01")
    with pytest.raises(ValidationError, match="already used"):
        create_intervention(
            session,
            code="BD-02",
            title="Copy",
            intervention_type="training",
            lead_organisation="CARE",
            themes=["gender-equality"],
            start_date="2025-04-01",
        )


def test_results_nest_downwards_within_their_project(session, scenario):
    project, goal = scenario
    outcome = session.scalars(select(type(goal)).where(type(goal).code == "O2")).one()
    assert outcome.parent is goal and outcome.level is ResultLevel.OUTCOME
    with pytest.raises(ValidationError, match="cannot sit under"):
        create_result(session, project, code="G2", title="Another goal", level="goal", parent="O2")
    with pytest.raises(ValidationError, match="already has a result 'G'"):
        create_result(session, project, code="G", title="Again", level="goal")
    with pytest.raises(ValidationError, match="cannot sit under itself"):
        update_result(session, goal, parent="O2", level="goal")
    other = factories.create_project(session, code="OTHER")
    with pytest.raises(ValidationError, match="has no result 'G'"):
        create_result(session, other, code="O1", title="Outcome", level="outcome", parent="G")


def test_project_rules(session, scenario):
    with pytest.raises(ValidationError) as error:
        create_project(
            session,
            code="DW",
            title="",
            currency="XYZ",
            budget="-5",
            start_date="2025-01-01",
            end_date="2024-01-01",
            organisations=[("ILO", "sponsoring")],
        )
    assert set(error.value.errors) == {
        "code",
        "title",
        "currency",
        "budget",
        "end_date",
        "organisations",
    }
