"""Test data factories: ``create_thing(session, **overrides)`` returns a flushed row.

Each factory fills every required field with a plausible value so a test names only
what it is about.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from coordination.models import (
    Area,
    Body,
    Country,
    Intervention,
    InterventionPlace,
    Meeting,
    Organisation,
    Partnership,
    Person,
    Project,
    TargetGroup,
    Theme,
)
from coordination.vocab import (
    BodyType,
    InterventionType,
    MeetingType,
    PartnershipType,
    StakeholderType,
)

_counter = itertools.count(1)


def _next() -> int:
    return next(_counter)


def theme(session: Session, code: str = "gender-equality") -> Theme:
    return session.scalars(select(Theme).where(Theme.code == code)).one()


def target_group(session: Session, code: str = "women-workers") -> TargetGroup:
    return session.scalars(select(TargetGroup).where(TargetGroup.code == code)).one()


def area(session: Session, code: str) -> Area:
    return session.scalars(select(Area).where(Area.code == code)).one()


def country(session: Session, code: str) -> Country:
    found = session.get(Country, code)
    assert found is not None, code
    return found


def create_organisation(session: Session, **overrides: Any) -> Organisation:
    n = _next()
    kind = StakeholderType(overrides.pop("stakeholder_type", StakeholderType.NGO))
    values: dict[str, Any] = {
        "name": f"Organisation {n}",
        "acronym": f"ORG{n}",
        "stakeholder_type": kind,
        "constituency": kind.default_constituency,
        "iati_type": kind.default_iati_type,
    }
    values.update(overrides)
    organisation = Organisation(**values)
    session.add(organisation)
    session.flush()
    return organisation


def create_person(session: Session, **overrides: Any) -> Person:
    n = _next()
    values: dict[str, Any] = {"name": f"Person {n}", "email": f"person{n}@example.org"}
    values.update(overrides)
    person = Person(**values)
    session.add(person)
    session.flush()
    return person


def create_project(session: Session, **overrides: Any) -> Project:
    n = _next()
    values: dict[str, Any] = {
        "code": f"PRJ-{n}",
        "title": f"Project {n}",
        "start_date": date(2024, 1, 1),
        "end_date": date(2026, 12, 31),
        "currency": "USD",
    }
    values.update(overrides)
    project = Project(**values)
    session.add(project)
    session.flush()
    return project


def create_intervention(
    session: Session,
    *,
    places: list[tuple[str, str | None]] | None = None,
    themes: list[str] | None = None,
    target_groups: list[str] | None = None,
    **overrides: Any,
) -> Intervention:
    """An intervention; ``places`` are (country code, ISO 3166-2 area code or None)."""
    n = _next()
    values: dict[str, Any] = {
        "code": f"INT-{n}",
        "title": f"Intervention {n}",
        "intervention_type": InterventionType.TRAINING,
        "start_date": date(2025, 1, 1),
        "end_date": date(2025, 6, 30),
    }
    values.update(overrides)
    if "lead_organisation" not in values and "lead_organisation_id" not in values:
        values["lead_organisation"] = create_organisation(session)
    intervention = Intervention(**values)
    intervention.themes = [theme(session, code) for code in (themes or ["gender-equality"])]
    intervention.target_groups = [target_group(session, c) for c in (target_groups or [])]
    for country_code, area_code in places or [("BD", None)]:
        place = InterventionPlace(country_code=country_code)
        if area_code is not None:
            place.area = area(session, area_code)
        intervention.places.append(place)
    session.add(intervention)
    session.flush()
    return intervention


def create_partnership(
    session: Session, members: list[Organisation], **overrides: Any
) -> Partnership:
    n = _next()
    values: dict[str, Any] = {"name": f"Partnership {n}", "partnership_type": PartnershipType.MOU}
    values.update(overrides)
    partnership = Partnership(**values)
    partnership.members = list(members)
    session.add(partnership)
    session.flush()
    return partnership


def create_body(session: Session, **overrides: Any) -> Body:
    n = _next()
    values: dict[str, Any] = {"name": f"Body {n}", "body_type": BodyType.TASKFORCE}
    values.update(overrides)
    body = Body(**values)
    session.add(body)
    session.flush()
    return body


def create_meeting(session: Session, **overrides: Any) -> Meeting:
    """A meeting through the service (so SEQUENCE, times and text rules apply)."""
    from coordination.services.meetings import create_meeting as create

    n = _next()
    values: dict[str, Any] = {
        "title": f"Meeting {n}",
        "meeting_type": MeetingType.TASKFORCE,
        "timezone": "Asia/Dhaka",
    }
    values.update(overrides)
    if not {"start", "start_date"} & set(values):
        values["start"] = datetime(2026, 3, 3, 10, 0)
        values["end"] = datetime(2026, 3, 3, 12, 0)
    return create(session, **values)


# --- coordination analysis: memberships, meetings and a small overlap scenario ------------


def create_membership(session: Session, body: Body, organisation: Organisation, **overrides: Any):
    from coordination.models import BodyMembership

    membership = BodyMembership(body=body, organisation=organisation, **overrides)
    session.add(membership)
    session.flush()
    return membership


def create_attended_meeting(session: Session, organisations: list[Organisation], **overrides: Any):
    """A held meeting attended by ``organisations``."""
    from datetime import UTC, datetime

    from coordination.models import Meeting, MeetingParticipant
    from coordination.vocab import MeetingStatus, MeetingType

    n = _next()
    values: dict[str, Any] = {
        "title": f"Meeting {n}",
        "meeting_type": MeetingType.TASKFORCE,
        "starts_at": datetime(2025, 3, 1, 9, tzinfo=UTC),
        "ends_at": datetime(2025, 3, 1, 12, tzinfo=UTC),
        "status": MeetingStatus.HELD,
    }
    values.update(overrides)
    meeting = Meeting(**values)
    meeting.participants = [
        MeetingParticipant(organisation=o, attended=True) for o in organisations
    ]
    session.add(meeting)
    session.flush()
    return meeting


def create_overlap_scenario(session: Session) -> dict[str, Any]:
    """Two NGOs training women workers on gender equality in Chattogram in the same months.

    Around them, things that must not be flagged as duplicates: the same NGO in another
    division, a country-level social-dialogue programme of the union overlapping a
    ministry's policy advice in Dhaka (an overlap, not a duplicate; the two sit on the
    same body, so no partnership gap), and an employers' research project elsewhere.
    Returns the organisations (by acronym) and interventions (by code).
    """
    from coordination.models import InterventionOrganisation
    from coordination.vocab import ActivityStatus, OrganisationRole

    org = {
        "CARE": create_organisation(session, acronym="CARE", name="CARE Bangladesh"),
        "FWF": create_organisation(session, acronym="FWF", name="Fair Wear Foundation"),
        "MOLE": create_organisation(
            session,
            acronym="MOLE",
            name="Ministry of Labour and Employment",
            stakeholder_type=StakeholderType.GOVERNMENT,
            country_code="BD",
        ),
        "BGMEA": create_organisation(
            session,
            acronym="BGMEA",
            name="Bangladesh Garment Manufacturers and Exporters Association",
            stakeholder_type=StakeholderType.EMPLOYERS_ORGANISATION,
            country_code="BD",
        ),
        "IBC": create_organisation(
            session,
            acronym="IBC",
            name="IndustriALL Bangladesh Council",
            stakeholder_type=StakeholderType.WORKERS_ORGANISATION,
            country_code="BD",
        ),
        "HM": create_organisation(
            session, acronym="HM", name="H&M Group", stakeholder_type=StakeholderType.BRAND
        ),
    }
    project = create_project(session, code="GARMENT", status=ActivityStatus.IMPLEMENTATION)
    project.countries = [country(session, "BD")]
    project.themes = [theme(session, "gender-equality"), theme(session, "social-dialogue")]
    body = create_body(session, name="Tripartite Consultative Council")
    create_membership(session, body, org["MOLE"])
    create_membership(session, body, org["IBC"])
    create_attended_meeting(session, [org["MOLE"], org["IBC"], org["BGMEA"]])

    spring = {"start_date": date(2025, 3, 1), "end_date": date(2025, 8, 31)}
    interventions = {
        "CARE-GE-CTG": create_intervention(
            session,
            code="CARE-GE-CTG",
            title="Gender equality training for women workers in Chattogram",
            lead_organisation=org["CARE"],
            places=[("BD", "BD-B")],
            themes=["gender-equality"],
            target_groups=["women-workers"],
            project_id=project.id,
            **spring,
        ),
        "FWF-GE-CTG": create_intervention(
            session,
            code="FWF-GE-CTG",
            title="Training women garment workers on gender equality, Chattogram",
            lead_organisation=org["FWF"],
            places=[("BD", "BD-B")],
            themes=["gender-equality"],
            target_groups=["women-workers", "female-leaders"],
            start_date=date(2025, 4, 1),
            end_date=date(2025, 9, 30),
        ),
        "CARE-GE-DHK": create_intervention(
            session,
            code="CARE-GE-DHK",
            title="Gender equality training for women workers in Dhaka",
            lead_organisation=org["CARE"],
            places=[("BD", "BD-C")],
            themes=["gender-equality"],
            target_groups=["women-workers"],
            **spring,
        ),
        "IBC-SD-BD": create_intervention(
            session,
            code="IBC-SD-BD",
            title="Workplace social dialogue committees",
            intervention_type=InterventionType.SOCIAL_DIALOGUE,
            lead_organisation=org["IBC"],
            places=[("BD", None)],
            themes=["social-dialogue"],
            target_groups=["workers-organisations"],
            start_date=date(2025, 1, 1),
            end_date=None,
        ),
        "MOLE-SD-DHK": create_intervention(
            session,
            code="MOLE-SD-DHK",
            title="Labour law reform consultations",
            intervention_type=InterventionType.POLICY_ADVICE,
            lead_organisation=org["MOLE"],
            places=[("BD", "BD-C")],
            themes=["social-dialogue"],
            target_groups=["policy-makers"],
            **spring,
        ),
        "BGMEA-PR-KHL": create_intervention(
            session,
            code="BGMEA-PR-KHL",
            title="Productivity study",
            intervention_type=InterventionType.RESEARCH,
            lead_organisation=org["BGMEA"],
            places=[("BD", "BD-D")],
            themes=["productivity"],
            target_groups=["factory-managers"],
            **spring,
        ),
        "HM-PR-CTG": create_intervention(
            session,
            code="HM-PR-CTG",
            title="Supplier productivity coaching",
            intervention_type=InterventionType.ENTERPRISE_SERVICE,
            lead_organisation=org["HM"],
            places=[("BD", "BD-B")],
            themes=["productivity"],
            target_groups=["factory-managers"],
            start_date=date(2026, 1, 1),
            end_date=date(2026, 3, 31),
        ),
    }
    interventions["FWF-GE-CTG"].participations.append(
        InterventionOrganisation(organisation=org["BGMEA"], role=OrganisationRole.IMPLEMENTING)
    )
    session.flush()
    return {"organisations": org, "interventions": interventions, "project": project}
