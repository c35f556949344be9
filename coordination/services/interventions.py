"""Projects, their results chain, and interventions: who does what, where, when, for whom.

Every function validates, adds and flushes; the caller commits. References may be
rows or natural keys: organisations by acronym, themes and target groups by code,
countries by ISO code or name, areas by ISO 3166-2 code or name, projects by code,
results by their code within the project.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from coordination.errors import ValidationError
from coordination.models import (
    Area,
    Country,
    Intervention,
    InterventionOrganisation,
    InterventionPlace,
    Organisation,
    Project,
    ProjectDocument,
    ProjectOrganisation,
    Result,
)
from coordination.services._lookup import (
    FieldValues,
    Problems,
    set_collection,
    set_if_changed,
    to_area,
    to_country,
    to_date,
    to_decimal,
    to_organisation,
    to_project,
    to_result,
    to_target_group,
    to_text,
    to_theme,
    to_vocabulary,
    unique,
)
from coordination.validation import (
    check_currency,
    check_date_range,
    check_language,
    check_media_type,
    check_web_address,
)
from coordination.vocab import (
    ActivityStatus,
    DocumentCategory,
    InterventionType,
    OrganisationRole,
    ResultLevel,
    media_type_of,
)

__all__ = [
    "add_project_document",
    "check_project_document",
    "create_intervention",
    "create_project",
    "create_result",
    "remove_project_document",
    "update_intervention",
    "update_project",
    "update_project_document",
    "update_result",
]

# --------------------------------------------------------------------------- projects

_PROJECT_FIELDS = {
    "code",
    "title",
    "description",
    "budget",
    "currency",
    "start_date",
    "end_date",
    "status",
    "iati_identifier",
    "organisations",
    "countries",
    "themes",
}


def create_project(
    session: Session,
    *,
    code: str,
    title: str,
    description: str | None = None,
    budget: Decimal | str | int | None = None,
    currency: str | None = None,
    start_date: date | str | None = None,
    end_date: date | str | None = None,
    status: ActivityStatus | str = ActivityStatus.IMPLEMENTATION,
    iati_identifier: str | None = None,
    organisations: Iterable[tuple[Any, OrganisationRole | str]] = (),
    countries: Iterable[Any] = (),
    themes: Iterable[Any] = (),
) -> Project:
    """A new project. ``organisations`` are (organisation, IATI role) pairs."""
    project = Project()
    values = {
        "code": code,
        "title": title,
        "description": description,
        "budget": budget,
        "currency": currency,
        "start_date": start_date,
        "end_date": end_date,
        "status": status,
        "iati_identifier": iati_identifier,
        "organisations": organisations,
        "countries": countries,
        "themes": themes,
    }
    _apply_project(session, project, values)
    session.add(project)
    session.flush()
    return project


def update_project(session: Session, project: Project, **changes: Any) -> Project:
    """Change the given fields only. Same keywords as :func:`create_project`."""
    _apply_project(session, project, changes)
    session.flush()
    return project


def _apply_project(session: Session, project: Project, values: dict[str, Any]) -> None:
    fields = FieldValues("project", values, _PROJECT_FIELDS)
    problems, resolved, attempt = fields.problems, fields.resolved, fields.attempt

    attempt("code", lambda v: to_text(v, "code", required=True, max_length=60))
    if resolved.get("code"):
        clash = session.scalars(select(Project).where(Project.code == resolved["code"])).first()
        if clash is not None and clash is not project:
            problems.add("code", f"project code {resolved['code']!r} is already used")
    attempt("title", lambda v: to_text(v, "title", required=True, max_length=300))
    attempt("description", lambda v: to_text(v, "description"))
    attempt("iati_identifier", lambda v: to_text(v, "iati_identifier", max_length=150))
    attempt("budget", lambda v: to_decimal(v, "budget"))
    if resolved.get("budget") is not None and resolved["budget"] < 0:
        problems.add("budget", "cannot be negative")

    def currency(value: Any) -> str | None:
        code = to_text(value, "currency", max_length=3)
        check_currency(code)
        return code.upper() if code else None

    attempt("currency", currency)
    attempt("start_date", lambda v: to_date(v, "start_date"))
    attempt("end_date", lambda v: to_date(v, "end_date"))
    attempt(
        "status",
        lambda v: to_vocabulary(ActivityStatus, v or ActivityStatus.IMPLEMENTATION, "status"),
    )
    if not {"start_date", "end_date"} & set(problems.errors):
        try:
            check_date_range(
                resolved.get("start_date", project.start_date),
                resolved.get("end_date", project.end_date),
            )
        except ValidationError as error:
            problems.collect(error)

    participations = None
    if "organisations" in values:
        participations = []
        for item in values["organisations"] or ():
            try:
                organisation, role = _organisation_and_role(session, item, "organisations")
                participations.append((organisation, role))
            except ValidationError as error:
                problems.collect(error)
    countries = _resolve_all(session, values, "countries", to_country, problems)
    themes = _resolve_all(session, values, "themes", to_theme, problems)
    problems.check()

    for key, value in resolved.items():
        set_if_changed(project, key, value)
    if countries is not None:
        set_collection(project, "countries", countries)
    if themes is not None:
        set_collection(project, "themes", themes)
    if participations is not None:
        _replace_participations(project, ProjectOrganisation, unique(participations))


def _resolve_all(
    session: Session, values: Mapping[str, Any], key: str, convert: Any, problems: Problems
) -> list[Any] | None:
    if key not in values:
        return None
    rows = []
    for value in values[key] or ():
        try:
            rows.append(convert(session, value, key))
        except ValidationError as error:
            problems.collect(error)
    return unique(rows)


def _organisation_and_role(
    session: Session,
    item: Any,
    field: str,
    default: OrganisationRole = OrganisationRole.IMPLEMENTING,
) -> tuple[Organisation, OrganisationRole]:
    """An (organisation, role) pair from a pair, a mapping or a bare organisation."""
    if isinstance(item, Mapping):
        organisation, role = item.get("organisation"), item.get("role") or default
    elif isinstance(item, tuple | list):
        organisation, role = item
    else:
        organisation, role = item, default
    return (
        to_organisation(session, organisation, field),
        to_vocabulary(OrganisationRole, role, field),
    )


def _replace_participations(
    owner: Project | Intervention,
    link: type[ProjectOrganisation] | type[InterventionOrganisation],
    wanted: list[tuple[Organisation, OrganisationRole]],
) -> None:
    """Keep the participations still wanted, drop the others, add the new ones."""
    participations: list[Any] = owner.participations
    current = {(id(p.organisation), p.role): p for p in participations}
    keys = [(id(organisation), role) for organisation, role in wanted]
    for key, participation in list(current.items()):
        if key not in keys:
            participations.remove(participation)
    for (organisation, role), key in zip(wanted, keys, strict=True):
        if key not in current:
            participations.append(link(organisation=organisation, role=role))


# --------------------------------------------------------------------------- documents

_DOCUMENT_FIELDS = (
    "title",
    "url",
    "category",
    "format",
    "language",
    "document_date",
    "description",
)


def add_project_document(
    session: Session,
    project: Any,
    *,
    title: str,
    url: str,
    category: DocumentCategory | str,
    format: str | None = None,
    language: str | None = None,
    document_date: date | str | None = None,
    description: str | None = None,
) -> ProjectDocument:
    """A document published about ``project`` (row or code), exported as an IATI document-link.

    ``category`` is an IATI DocumentCategory code (``A07``); ``format`` an IANA media
    type, guessed from the address's extension when left out.
    """
    project = to_project(session, project, "project")
    document = ProjectDocument()
    values = {
        "title": title,
        "url": url,
        "category": category,
        "format": format,
        "language": language,
        "document_date": document_date,
        "description": description,
    }
    with session.no_autoflush:
        _apply_document(session, document, project, values)
    # Attached only once valid: a failed check leaves nothing behind to flush.
    document.project = project
    session.add(document)
    session.flush()
    _refresh_documents(session, project)
    return document


def update_project_document(
    session: Session, document: ProjectDocument, **changes: Any
) -> ProjectDocument:
    """Change the given fields only. Same keywords as :func:`add_project_document`."""
    with session.no_autoflush:
        _apply_document(session, document, document.project, changes)
    session.flush()
    _refresh_documents(session, document.project)
    return document


def remove_project_document(session: Session, document: ProjectDocument) -> None:
    project = document.project
    session.delete(document)
    session.flush()
    _refresh_documents(session, project)


def _refresh_documents(session: Session, project: Project) -> None:
    """``Project.documents`` is read-only: reload it on next access after a write."""
    session.expire(project, ["documents"])


def check_project_document(session: Session, document: ProjectDocument) -> None:
    """Validate and normalise a document whose fields were set directly (an admin form)."""
    project = document.project
    if project is None and document.project_id is not None:
        project = session.get(Project, document.project_id)
    if project is None:
        raise ValidationError({"project": "is required"})
    _apply_document(
        session, document, project, {key: getattr(document, key) for key in _DOCUMENT_FIELDS}
    )


def _to_category(value: Any) -> DocumentCategory:
    if isinstance(value, DocumentCategory):
        return value
    code = (to_text(value, "category") or "").upper()
    if not code:
        raise ValidationError({"category": "is required"})
    try:
        return DocumentCategory(code)
    except ValueError:
        raise ValidationError(
            {
                "category": f"unknown IATI document category {value!r}; use a DocumentCategory "
                "code such as A01, A02, A07, A08 or B01"
            }
        ) from None


def _apply_document(
    session: Session, document: ProjectDocument, project: Project, values: dict[str, Any]
) -> None:
    fields = FieldValues("document", values, _DOCUMENT_FIELDS)
    problems, resolved = fields.problems, fields.resolved
    attempt = partial(fields.attempt, as_key=True)  # errors under the form's field names

    def url(value: Any) -> str:
        text = to_text(value, "url", required=True, max_length=2000) or ""
        check_web_address(text, "url")
        return text

    def media_type(value: Any) -> str:
        text = (to_text(value, "format", max_length=130) or "").lower()
        if not text:  # left empty: what the address says, else a web page
            address = resolved.get("url") or document.url
            return media_type_of(address or "")
        check_media_type(text, "format")
        return text

    def language(value: Any) -> str | None:
        text = to_text(value, "language")
        check_language(text, "language")
        return text.lower() if text else None

    attempt("title", lambda v: to_text(v, "title", required=True, max_length=300))
    attempt("url", url)
    attempt("category", _to_category)
    attempt("format", media_type)
    attempt("language", language)
    attempt("document_date", lambda v: to_date(v, "document_date"))
    attempt("description", lambda v: to_text(v, "description"))
    if resolved.get("url"):
        query = select(ProjectDocument.id).where(
            ProjectDocument.project_id == project.id, ProjectDocument.url == resolved["url"]
        )
        if document.id is not None:
            query = query.where(ProjectDocument.id != document.id)
        clash = project.id is not None and session.scalars(query).first() is not None
        if clash:
            problems.add("url", f"project {project.code} already links to {resolved['url']}")
    problems.check()
    for key, value in resolved.items():
        set_if_changed(document, key, value)


# --------------------------------------------------------------------------- results

_LEVEL_DEPTH = {level: depth for depth, level in enumerate(ResultLevel)}


def create_result(
    session: Session,
    project: Any,
    *,
    code: str,
    title: str,
    level: ResultLevel | str,
    parent: Any = None,
    description: str | None = None,
    assumptions: str | None = None,
    position: int | None = None,
) -> Result:
    """A node of ``project``'s results chain; a child sits at a lower level than its parent.

    ``parent`` is a result of the same project (row or code). Codes are unique per project.
    """
    project = to_project(session, project, "project")
    result = Result(project=project)
    _apply_result(
        session,
        result,
        {
            "code": code,
            "title": title,
            "level": level,
            "parent": parent,
            "description": description,
            "assumptions": assumptions,
            "position": position,
        },
    )
    session.add(result)
    session.flush()
    return result


def update_result(session: Session, result: Result, **changes: Any) -> Result:
    """Change the given fields only. Same keywords as :func:`create_result`."""
    _apply_result(session, result, changes)
    session.flush()
    return result


def _apply_result(session: Session, result: Result, values: dict[str, Any]) -> None:
    allowed = {"code", "title", "level", "parent", "description", "assumptions", "position"}
    unknown = set(values) - allowed
    if unknown:
        raise TypeError(f"unknown result fields: {', '.join(sorted(unknown))}")
    project = result.project
    problems = Problems()
    resolved: dict[str, Any] = {}
    if "code" in values:
        try:
            code = to_text(values["code"], "code", required=True, max_length=40)
            if project.id is not None:
                clash = session.scalars(
                    select(Result).where(Result.project_id == project.id, Result.code == code)
                ).first()
                if clash is not None and clash is not result:
                    problems.add("code", f"project {project.code} already has a result {code!r}")
            resolved["code"] = code
        except ValidationError as error:
            problems.collect(error)
    if "title" in values:
        try:
            resolved["title"] = to_text(values["title"], "title", required=True)
        except ValidationError as error:
            problems.collect(error)
    for key in ("description", "assumptions"):
        if key in values:
            resolved[key] = to_text(values[key], key)
    if "level" in values:
        try:
            resolved["level"] = to_vocabulary(ResultLevel, values["level"], "level")
        except ValidationError as error:
            problems.collect(error)
    if "parent" in values:
        value = values["parent"]
        try:
            parent = None if value in (None, "") else to_result(session, project, value, "parent")
            node = parent
            while node is not None:
                if node is result:
                    raise ValidationError({"parent": "a result cannot sit under itself"})
                node = node.parent
            resolved["parent"] = parent
        except ValidationError as error:
            problems.collect(error)
    if values.get("position") is not None:
        try:
            resolved["position"] = int(values["position"])
        except (TypeError, ValueError):
            problems.add("position", f"{values['position']!r} is not a whole number")
    parent = resolved.get("parent", result.parent)
    level = resolved.get("level", result.level)
    if parent is not None and level is not None and "level" not in problems.errors:
        if _LEVEL_DEPTH[level] <= _LEVEL_DEPTH[parent.level]:
            problems.add(
                "level",
                f"a {level.label.lower()} cannot sit under a {parent.level.label.lower()} ({parent.code})",
            )
    problems.check()
    if "position" not in resolved and result.id is None:
        siblings = [r for r in (parent.children if parent is not None else []) if r is not result]
        resolved["position"] = len(siblings)
    for key, value in resolved.items():
        set_if_changed(result, key, value)


# --------------------------------------------------------------------------- interventions

_INTERVENTION_FIELDS = {
    "code",
    "title",
    "description",
    "intervention_type",
    "lead_organisation",
    "partners",
    "funders",
    "themes",
    "places",
    "target_groups",
    "start_date",
    "end_date",
    "status",
    "project",
    "results",
}


def create_intervention(
    session: Session,
    *,
    code: str,
    title: str,
    intervention_type: InterventionType | str,
    lead_organisation: Any,
    start_date: date | str,
    themes: Iterable[Any],
    places: Iterable[Any] = (),
    end_date: date | str | None = None,
    description: str | None = None,
    partners: Iterable[Any] = (),
    funders: Iterable[Any] = (),
    target_groups: Iterable[Any] = (),
    status: ActivityStatus | str = ActivityStatus.IMPLEMENTATION,
    project: Any = None,
    results: Iterable[Any] = (),
) -> Intervention:
    """A new intervention (one row of a 3W).

    - ``themes``: one or more (rows or codes).
    - ``places``: each a country, a ``(country, area)`` pair, a ``{"country", "area"}``
      mapping or an ISO 3166-2 area code (``"BD-C"``); the area must lie in the country.
    - ``partners``: organisations (implementing) or ``(organisation, role)`` pairs;
      ``funders`` are organisations in the funding role.
    - ``results``: results of ``project`` this intervention serves (rows or codes).
    """
    intervention = Intervention()
    values = {
        "code": code,
        "title": title,
        "intervention_type": intervention_type,
        "lead_organisation": lead_organisation,
        "start_date": start_date,
        "themes": themes,
        "places": places,
        "end_date": end_date,
        "description": description,
        "partners": partners,
        "funders": funders,
        "target_groups": target_groups,
        "status": status,
        "project": project,
        "results": results,
    }
    _apply_intervention(session, intervention, values, creating=True)
    session.add(intervention)
    session.flush()
    return intervention


def update_intervention(
    session: Session, intervention: Intervention, **changes: Any
) -> Intervention:
    """Change the given fields only. Same keywords as :func:`create_intervention`."""
    _apply_intervention(session, intervention, changes, creating=False)
    session.flush()
    return intervention


def _apply_intervention(
    session: Session, intervention: Intervention, values: dict[str, Any], *, creating: bool
) -> None:
    fields = FieldValues("intervention", values, _INTERVENTION_FIELDS)
    problems, resolved, attempt = fields.problems, fields.resolved, fields.attempt

    attempt("code", lambda v: to_text(v, "code", required=True, max_length=80))
    if resolved.get("code"):
        clash = session.scalars(
            select(Intervention).where(Intervention.code == resolved["code"])
        ).first()
        if clash is not None and clash is not intervention:
            problems.add("code", f"intervention code {resolved['code']!r} is already used")
    attempt("title", lambda v: to_text(v, "title", required=True, max_length=300))
    attempt("description", lambda v: to_text(v, "description"))
    attempt(
        "intervention_type",
        lambda v: to_vocabulary(InterventionType, v, "intervention_type"),
    )
    attempt("lead_organisation", lambda v: to_organisation(session, v, "lead_organisation"))
    attempt(
        "status",
        lambda v: to_vocabulary(ActivityStatus, v or ActivityStatus.IMPLEMENTATION, "status"),
    )
    attempt("start_date", lambda v: to_date(v, "start_date"))
    attempt("end_date", lambda v: to_date(v, "end_date"))
    if "start_date" in resolved and resolved["start_date"] is None:
        problems.add("start_date", "is required")
    if not {"start_date", "end_date"} & set(problems.errors):
        try:
            check_date_range(
                resolved.get("start_date", intervention.start_date),
                resolved.get("end_date", intervention.end_date),
            )
        except ValidationError as error:
            problems.collect(error)
    attempt(
        "project",
        lambda v: None if v in (None, "") else to_project(session, v, "project"),
    )

    themes = _resolve_all(session, values, "themes", to_theme, problems)
    if themes is not None and not themes and "themes" not in problems.errors:
        problems.add("themes", "choose at least one theme")
    target_groups = _resolve_all(session, values, "target_groups", to_target_group, problems)
    places = None
    if "places" in values:
        places = []
        for index, value in enumerate(values["places"] or ()):
            try:
                places.append(_place(session, value, f"places[{index}]"))
            except ValidationError as error:
                problems.collect(error)
        seen: set[tuple[str, int | None]] = set()
        for country, area in places:
            place_key = (country.code, id(area) if area is not None else None)
            if place_key in seen:
                label = f"{area.name}, {country.name}" if area is not None else country.name
                problems.add("places", f"{label} is listed twice")
            seen.add(place_key)

    lead = resolved.get("lead_organisation", intervention.lead_organisation)
    participations = None
    if "partners" in values or "funders" in values:
        current = [(p.organisation, p.role) for p in intervention.participations]
        partners = (
            [pair for pair in current if pair[1] is not OrganisationRole.FUNDING]
            if "partners" not in values
            else []
        )
        funders = (
            [pair for pair in current if pair[1] is OrganisationRole.FUNDING]
            if "funders" not in values
            else []
        )
        for item in values.get("partners") or ():
            try:
                partners.append(_organisation_and_role(session, item, "partners"))
            except ValidationError as error:
                problems.collect(error)
        for item in values.get("funders") or ():
            try:
                funders.append(
                    (to_organisation(session, item, "funders"), OrganisationRole.FUNDING)
                )
            except ValidationError as error:
                problems.collect(error)
        for organisation, role in partners:
            if organisation is lead and role is OrganisationRole.IMPLEMENTING:
                problems.add("partners", f"{organisation.acronym} already leads this intervention")
        participations = unique([*partners, *funders])

    project = resolved.get("project", intervention.project)
    results = None
    if "results" in values or ("project" in resolved and intervention.results):
        wanted = values.get("results", intervention.results) or ()
        results = []
        if wanted and project is None and "project" not in problems.errors:
            problems.add(
                "results", "an intervention serves results of its project: set the project"
            )
        elif project is not None:
            for value in wanted:
                try:
                    results.append(to_result(session, project, value, "results"))
                except ValidationError as error:
                    problems.collect(error)

    if creating:
        for key in ("code", "title", "intervention_type", "lead_organisation", "start_date"):
            if resolved.get(key) is None and key not in problems.errors:
                problems.add(key, "is required")
    problems.check()

    for key, value in resolved.items():
        set_if_changed(intervention, key, value)
    if themes is not None:
        set_collection(intervention, "themes", themes)
    if target_groups is not None:
        set_collection(intervention, "target_groups", target_groups)
    if results is not None:
        set_collection(intervention, "results", unique(results))
    if participations is not None:
        _replace_participations(intervention, InterventionOrganisation, participations)
    if places is not None:
        _replace_places(intervention, places)


def _place(session: Session, value: Any, field: str) -> tuple[Country, Area | None]:
    """(country, area or None) from the accepted place notations."""
    if isinstance(value, InterventionPlace):
        return value.country, value.area
    if isinstance(value, Area):
        return value.country, value
    if isinstance(value, Mapping):
        country_value, area_value = value.get("country"), value.get("area")
    elif isinstance(value, tuple | list):
        country_value, area_value = (list(value) + [None])[:2]
    elif isinstance(value, str) and "-" in value.strip():
        # An ISO 3166-2 code names its country in its prefix: "BD-C" is in "BD".
        country_value, area_value = value.strip().split("-", 1)[0], value.strip()
    else:
        country_value, area_value = value, None
    if country_value in (None, ""):
        raise ValidationError({f"{field}.country": "is required"})
    country = to_country(session, country_value, f"{field}.country")
    if area_value in (None, ""):
        return country, None
    return country, to_area(session, country, area_value, f"{field}.area")


def _replace_places(intervention: Intervention, wanted: list[tuple[Country, Area | None]]) -> None:
    """Keep unchanged places (their rows and ids), drop the rest, add the new ones."""

    def key(country: Country, area: Area | None) -> tuple[str, int | None]:
        return country.code, id(area) if area is not None else None

    current = {key(p.country, p.area): p for p in intervention.places}
    keys = [key(country, area) for country, area in wanted]
    for k, place in list(current.items()):
        if k not in keys:
            intervention.places.remove(place)
    for (country, area), k in zip(wanted, keys, strict=True):
        if k not in current:
            intervention.places.append(InterventionPlace(country=country, area=area))
