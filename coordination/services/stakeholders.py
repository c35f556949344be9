"""Stakeholders: organisations, their contact people, partnerships and standing bodies.

Every function validates its input, adds and flushes; the caller commits. References
may be given as rows or as natural keys (an acronym, an e-mail, a theme code, an
ISO country code), so forms, imports and fixture files share these rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from coordination.errors import ValidationError
from coordination.models import Body, BodyMembership, Organisation, Partnership, Person
from coordination.services._lookup import (
    UNSET,
    Problems,
    set_collection,
    set_if_changed,
    to_country,
    to_date,
    to_organisation,
    to_person,
    to_text,
    to_theme,
    to_vocabulary,
    unique,
)
from coordination.validation import check_acronym_available, check_date_range
from coordination.vocab import (
    IATI_ORGANISATION_TYPES,
    BodyRole,
    BodyType,
    Constituency,
    PartnershipType,
    Sex,
    StakeholderType,
)

__all__ = [
    "add_body_membership",
    "create_body",
    "create_organisation",
    "create_partnership",
    "create_person",
    "remove_body_membership",
    "update_body",
    "update_body_membership",
    "update_organisation",
    "update_partnership",
    "update_person",
]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def looks_like_email(text: str) -> bool:
    """A plausible address: something@domain.tld, no spaces (delivery is the real test).

    >>> looks_like_email("a.mehra@ilo.example.org"), looks_like_email("a.mehra@ilo")
    (True, False)
    """
    return bool(_EMAIL.match(text))


# --------------------------------------------------------------------------- organisations


def create_organisation(
    session: Session,
    *,
    name: str,
    acronym: str,
    stakeholder_type: StakeholderType | str,
    constituency: Constituency | str | None = None,
    iati_type: int | None = None,
    country: Any = None,
    iati_identifier: str | None = None,
    website: str | None = None,
    description: str | None = None,
    parent: Any = None,
) -> Organisation:
    """A new organisation.

    ``constituency`` and ``iati_type`` follow from the stakeholder type unless given
    (a workers' organisation is a workers' constituent, IATI type 22...).
    """
    organisation = Organisation()
    _apply_organisation(
        session,
        organisation,
        {
            "name": name,
            "acronym": acronym,
            "stakeholder_type": stakeholder_type,
            "constituency": constituency,
            "iati_type": iati_type,
            "country": country,
            "iati_identifier": iati_identifier,
            "website": website,
            "description": description,
            "parent": parent,
        },
        creating=True,
    )
    session.add(organisation)
    session.flush()
    return organisation


def _iati_type_code(value: Any) -> int:
    """The IATI organisation-type code given as a number or digits; -1 when it is not one
    (a fraction, infinity, NaN or text would otherwise be cut, or crash ``int``)."""
    try:
        code = int(value)
    except (TypeError, ValueError, OverflowError):
        return -1
    return code if isinstance(value, str) or code == value else -1


def update_organisation(
    session: Session, organisation: Organisation, **changes: Any
) -> Organisation:
    """Change the given fields only. Same keywords as :func:`create_organisation`.

    Changing the stakeholder type re-derives the constituency and IATI type when they
    still hold the old type's defaults; values someone chose on purpose are kept.
    """
    _apply_organisation(session, organisation, changes, creating=False)
    session.flush()
    return organisation


_ORGANISATION_FIELDS = {
    "name",
    "acronym",
    "stakeholder_type",
    "constituency",
    "iati_type",
    "country",
    "iati_identifier",
    "website",
    "description",
    "parent",
}


def _apply_organisation(
    session: Session, organisation: Organisation, values: dict[str, Any], *, creating: bool
) -> None:
    unknown = set(values) - _ORGANISATION_FIELDS
    if unknown:
        raise TypeError(f"unknown organisation fields: {', '.join(sorted(unknown))}")
    problems = Problems()

    def get(key: str) -> Any:
        return values.get(key, None if creating else UNSET)

    name = acronym = kind = UNSET
    try:
        if get("name") is not UNSET:
            name = to_text(get("name"), "name", required=True, max_length=200)
    except ValidationError as error:
        problems.collect(error)
    try:
        if get("acronym") is not UNSET:
            acronym = to_text(get("acronym"), "acronym", required=True, max_length=40)
            check_acronym_available(session, acronym or "", organisation_id=organisation.id)
    except ValidationError as error:
        problems.collect(error)
    old_kind = organisation.stakeholder_type
    try:
        if get("stakeholder_type") is not UNSET:
            kind = to_vocabulary(StakeholderType, get("stakeholder_type"), "stakeholder_type")
    except ValidationError as error:
        problems.collect(error)

    effective_kind = kind if kind is not UNSET else old_kind
    constituency: Any = get("constituency")
    iati_type: Any = get("iati_type")
    if isinstance(effective_kind, StakeholderType):
        type_changed = kind is not UNSET and kind != old_kind
        if constituency is None or (
            constituency is UNSET
            and type_changed
            and (old_kind is None or organisation.constituency == old_kind.default_constituency)
        ):
            constituency = effective_kind.default_constituency
        if iati_type is None or (
            iati_type is UNSET
            and type_changed
            and (old_kind is None or organisation.iati_type == old_kind.default_iati_type)
        ):
            iati_type = effective_kind.default_iati_type
    try:
        if constituency is not UNSET and constituency is not None:
            constituency = to_vocabulary(Constituency, constituency, "constituency")
    except ValidationError as error:
        problems.collect(error)
    if iati_type is not UNSET and iati_type is not None:
        iati_type = _iati_type_code(iati_type)
        if iati_type not in IATI_ORGANISATION_TYPES:
            known = ", ".join(str(code) for code in IATI_ORGANISATION_TYPES)
            problems.add("iati_type", f"unknown IATI organisation type; use one of {known}")

    country: Any = get("country")
    if country is not UNSET and country is not None and country != "":
        try:
            country = to_country(session, country, "country")
        except ValidationError as error:
            problems.collect(error)
    elif country == "":
        country = None

    parent: Any = get("parent")
    if parent is not UNSET and parent is not None and parent != "":
        try:
            parent = to_organisation(session, parent, "parent")
            _check_not_own_ancestor(organisation, parent)
        except ValidationError as error:
            problems.collect(error)
    elif parent == "":
        parent = None

    texts: dict[str, Any] = {}
    for key, limit in (("iati_identifier", 100), ("website", 300), ("description", None)):
        if get(key) is UNSET:
            continue
        try:
            texts[key] = to_text(get(key), key, max_length=limit)
        except ValidationError as error:
            problems.collect(error)
    website = texts.get("website")
    if website and not website.lower().startswith(("http://", "https://")):
        problems.add("website", "use a full address starting with https://")
    if texts.get("iati_identifier"):
        clash = session.scalars(
            select(Organisation).where(Organisation.iati_identifier == texts["iati_identifier"])
        ).first()
        if clash is not None and clash is not organisation:
            problems.add("iati_identifier", f"already used by {clash.name}")
    problems.check()

    for key, value in (
        ("name", name),
        ("acronym", acronym),
        ("stakeholder_type", kind),
        ("constituency", constituency),
        ("iati_type", iati_type),
        *texts.items(),
    ):
        if value is not UNSET:
            set_if_changed(organisation, key, value)
    if country is not UNSET:
        set_if_changed(organisation, "country", country)
    if parent is not UNSET:
        set_if_changed(organisation, "parent", parent)


def _check_not_own_ancestor(organisation: Organisation, parent: Organisation) -> None:
    seen = set()
    node: Organisation | None = parent
    while node is not None and id(node) not in seen:
        if node is organisation:
            raise ValidationError(
                {"parent": f"{parent.acronym} cannot be its own parent or descendant"}
            )
        seen.add(id(node))
        node = node.parent


# --------------------------------------------------------------------------- people


def create_person(
    session: Session,
    *,
    name: str,
    email: str | None = None,
    organisation: Any = None,
    job_title: str | None = None,
    sex: Sex | str = Sex.NOT_STATED,
    active: bool = True,
) -> Person:
    """A contact person. The e-mail address, when given, identifies them (unique)."""
    person = Person()
    _apply_person(
        session,
        person,
        {
            "name": name,
            "email": email,
            "organisation": organisation,
            "job_title": job_title,
            "sex": sex,
            "active": active,
        },
    )
    session.add(person)
    session.flush()
    return person


def update_person(session: Session, person: Person, **changes: Any) -> Person:
    """Change the given fields only. Same keywords as :func:`create_person`."""
    _apply_person(session, person, changes)
    session.flush()
    return person


def _apply_person(session: Session, person: Person, values: dict[str, Any]) -> None:
    unknown = set(values) - {"name", "email", "organisation", "job_title", "sex", "active"}
    if unknown:
        raise TypeError(f"unknown person fields: {', '.join(sorted(unknown))}")
    problems = Problems()
    resolved: dict[str, Any] = {}
    if "name" in values:
        try:
            resolved["name"] = to_text(values["name"], "name", required=True, max_length=200)
        except ValidationError as error:
            problems.collect(error)
    if "email" in values:
        try:
            email = to_text(values["email"], "email", max_length=254)
            email = email.lower() if email else None
            if email and not looks_like_email(email):
                problems.add("email", f"{email!r} is not an e-mail address")
            elif email:
                clash = session.scalars(select(Person).where(Person.email == email)).first()
                if clash is not None and clash is not person:
                    problems.add("email", f"{email} is already the address of {clash.name}")
            resolved["email"] = email
        except ValidationError as error:
            problems.collect(error)
    if "organisation" in values:
        try:
            value = values["organisation"]
            resolved["organisation"] = (
                None if value in (None, "") else to_organisation(session, value, "organisation")
            )
        except ValidationError as error:
            problems.collect(error)
    if "job_title" in values:
        try:
            resolved["job_title"] = to_text(values["job_title"], "job_title", max_length=200)
        except ValidationError as error:
            problems.collect(error)
    if "sex" in values:
        try:
            resolved["sex"] = to_vocabulary(Sex, values["sex"] or Sex.NOT_STATED, "sex")
        except ValidationError as error:
            problems.collect(error)
    if "active" in values:
        resolved["active"] = bool(values["active"])
    problems.check()
    for key, value in resolved.items():
        set_if_changed(person, key, value)


# --------------------------------------------------------------------------- partnerships


def create_partnership(
    session: Session,
    *,
    name: str,
    partnership_type: PartnershipType | str,
    members: Iterable[Any],
    themes: Iterable[Any] = (),
    countries: Iterable[Any] = (),
    start_date: date | str | None = None,
    end_date: date | str | None = None,
    description: str | None = None,
) -> Partnership:
    """A recorded relationship between two or more different organisations."""
    partnership = Partnership()
    _apply_partnership(
        session,
        partnership,
        {
            "name": name,
            "partnership_type": partnership_type,
            "members": members,
            "themes": themes,
            "countries": countries,
            "start_date": start_date,
            "end_date": end_date,
            "description": description,
        },
    )
    session.add(partnership)
    session.flush()
    return partnership


def update_partnership(session: Session, partnership: Partnership, **changes: Any) -> Partnership:
    """Change the given fields only. Same keywords as :func:`create_partnership`."""
    _apply_partnership(session, partnership, changes)
    session.flush()
    return partnership


def _apply_partnership(session: Session, partnership: Partnership, values: dict[str, Any]) -> None:
    allowed = {
        "name",
        "partnership_type",
        "members",
        "themes",
        "countries",
        "start_date",
        "end_date",
        "description",
    }
    unknown = set(values) - allowed
    if unknown:
        raise TypeError(f"unknown partnership fields: {', '.join(sorted(unknown))}")
    problems = Problems()
    resolved: dict[str, Any] = {}
    collections: dict[str, list[Any]] = {}
    if "name" in values:
        try:
            resolved["name"] = to_text(values["name"], "name", required=True, max_length=200)
        except ValidationError as error:
            problems.collect(error)
    if "partnership_type" in values:
        try:
            resolved["partnership_type"] = to_vocabulary(
                PartnershipType, values["partnership_type"], "partnership_type"
            )
        except ValidationError as error:
            problems.collect(error)
    if "description" in values:
        resolved["description"] = to_text(values["description"], "description")
    if "members" in values:
        members = []
        for value in values["members"] or ():
            try:
                members.append(to_organisation(session, value, "members"))
            except ValidationError as error:
                problems.collect(error)
        members = unique(members)
        if not problems.errors.get("members") and len(members) < 2:
            problems.add("members", "a partnership needs at least two different organisations")
        collections["members"] = members
    if "themes" in values:
        themes = []
        for value in values["themes"] or ():
            try:
                themes.append(to_theme(session, value, "themes"))
            except ValidationError as error:
                problems.collect(error)
        collections["themes"] = unique(themes)
    if "countries" in values:
        countries = []
        for value in values["countries"] or ():
            try:
                countries.append(to_country(session, value, "countries"))
            except ValidationError as error:
                problems.collect(error)
        collections["countries"] = unique(countries)
    for key in ("start_date", "end_date"):
        if key in values:
            try:
                resolved[key] = to_date(values[key], key)
            except ValidationError as error:
                problems.collect(error)
    start = resolved.get("start_date", partnership.start_date)
    end = resolved.get("end_date", partnership.end_date)
    if "start_date" not in problems.errors and "end_date" not in problems.errors:
        try:
            check_date_range(start, end)
        except ValidationError as error:
            problems.collect(error)
    problems.check()
    for key, value in resolved.items():
        set_if_changed(partnership, key, value)
    for key, rows in collections.items():
        set_collection(partnership, key, rows)


# --------------------------------------------------------------------------- bodies


def create_body(
    session: Session,
    *,
    name: str,
    body_type: BodyType | str,
    acronym: str | None = None,
    description: str | None = None,
    convener: Any = None,
    themes: Iterable[Any] = (),
    established: date | str | None = None,
) -> Body:
    """A standing body (taskforce, network, committee). Names are unique."""
    body = Body()
    _apply_body(
        session,
        body,
        {
            "name": name,
            "body_type": body_type,
            "acronym": acronym,
            "description": description,
            "convener": convener,
            "themes": themes,
            "established": established,
        },
    )
    session.add(body)
    session.flush()
    return body


def update_body(session: Session, body: Body, **changes: Any) -> Body:
    """Change the given fields only. Same keywords as :func:`create_body`."""
    _apply_body(session, body, changes)
    session.flush()
    return body


def _apply_body(session: Session, body: Body, values: dict[str, Any]) -> None:
    allowed = {"name", "body_type", "acronym", "description", "convener", "themes", "established"}
    unknown = set(values) - allowed
    if unknown:
        raise TypeError(f"unknown body fields: {', '.join(sorted(unknown))}")
    problems = Problems()
    resolved: dict[str, Any] = {}
    if "name" in values:
        try:
            name = to_text(values["name"], "name", required=True, max_length=200)
            clash = session.scalars(select(Body).where(Body.name == name)).first()
            if clash is not None and clash is not body:
                problems.add("name", f"a body named {name!r} already exists")
            resolved["name"] = name
        except ValidationError as error:
            problems.collect(error)
    if "body_type" in values:
        try:
            resolved["body_type"] = to_vocabulary(BodyType, values["body_type"], "body_type")
        except ValidationError as error:
            problems.collect(error)
    for key, limit in (("acronym", 40), ("description", None)):
        if key in values:
            try:
                resolved[key] = to_text(values[key], key, max_length=limit)
            except ValidationError as error:
                problems.collect(error)
    if "convener" in values:
        try:
            value = values["convener"]
            resolved["convener"] = (
                None if value in (None, "") else to_organisation(session, value, "convener")
            )
        except ValidationError as error:
            problems.collect(error)
    if "established" in values:
        try:
            resolved["established"] = to_date(values["established"], "established")
        except ValidationError as error:
            problems.collect(error)
    themes = None
    if "themes" in values:
        themes = []
        for value in values["themes"] or ():
            try:
                themes.append(to_theme(session, value, "themes"))
            except ValidationError as error:
                problems.collect(error)
    problems.check()
    for key, value in resolved.items():
        set_if_changed(body, key, value)
    if themes is not None:
        set_collection(body, "themes", unique(themes))


def add_body_membership(
    session: Session,
    body: Body,
    *,
    organisation: Any = None,
    person: Any = None,
    role: BodyRole | str = BodyRole.MEMBER,
    since: date | str | None = None,
    until: date | str | None = None,
) -> BodyMembership:
    """Seat an organisation or a person (exactly one of them) on ``body``."""
    problems = Problems()
    if (organisation in (None, "")) == (person in (None, "")):
        problems.add("organisation", "name either an organisation or a person, not both or neither")
        problems.check()
    who_org = who_person = None
    try:
        if organisation not in (None, ""):
            who_org = to_organisation(session, organisation, "organisation")
        else:
            who_person = to_person(session, person, "person")
    except ValidationError as error:
        problems.collect(error)
    try:
        role = to_vocabulary(BodyRole, role or BodyRole.MEMBER, "role")
    except ValidationError as error:
        problems.collect(error)
    start = end = None
    try:
        start = to_date(since, "since")
        end = to_date(until, "until")
        check_date_range(start, end, end_field="until")
    except ValidationError as error:
        problems.collect(error)
    problems.check()
    for existing in body.memberships:
        if (
            existing.organisation is who_org
            and existing.person is who_person
            and existing.since == start
        ):
            who = who_org.acronym if who_org else who_person.name  # type: ignore[union-attr]
            raise ValidationError(
                {"organisation" if who_org else "person": f"{who} is already on {body.name}"}
            )
    membership = BodyMembership(
        organisation=who_org, person=who_person, role=role, since=start, until=end
    )
    body.memberships.append(membership)
    session.flush()
    return membership


def update_body_membership(
    session: Session,
    membership: BodyMembership,
    *,
    role: BodyRole | str | None = None,
    since: Any = UNSET,
    until: Any = UNSET,
) -> BodyMembership:
    """Change a seat's role or dates (who holds the seat does not change)."""
    problems = Problems()
    resolved: dict[str, Any] = {}
    try:
        if role is not None:
            resolved["role"] = to_vocabulary(BodyRole, role, "role")
        if since is not UNSET:
            resolved["since"] = to_date(since, "since")
        if until is not UNSET:
            resolved["until"] = to_date(until, "until")
        check_date_range(
            resolved.get("since", membership.since),
            resolved.get("until", membership.until),
            end_field="until",
        )
    except ValidationError as error:
        problems.collect(error)
    problems.check()
    for key, value in resolved.items():
        set_if_changed(membership, key, value)
    session.flush()
    return membership


def remove_body_membership(session: Session, membership: BodyMembership) -> None:
    """Take a seat off its body (for a member who left, prefer setting ``until``)."""
    membership.body.memberships.remove(membership)
    session.flush()
