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
