"""IATI 2.03 export and import of projects, their interventions and results chains.

Export: one ``iati-activity`` per project (``hierarchy="1"``) and, optionally, one
child activity per intervention (``hierarchy="2"``, linked both ways through
``related-activity``). The identifier is the project's stored ``iati_identifier``;
a project published for the first time gets ``{reporting org identifier}-{code}``
and keeps it from then on, whatever later happens to its code or organisations.

Import: organisations are matched by IATI identifier, then by name (case and
accents ignored), and created when unknown; projects by IATI identifier; results,
indicators and periods by code and start date. The whole file is one savepoint:
any error rolls everything back and the report lists each error with its line.
A dry run does the same work and always rolls back, so its report is the preview.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from coordination.collector import collector_paused
from coordination.db import begin_writes, utcnow
from coordination.errors import ValidationError
from coordination.interop import iati as x
from coordination.models import (
    Area,
    Country,
    DimensionCategory,
    Indicator,
    IndicatorDimension,
    IndicatorPeriod,
    IndicatorUpdate,
    Intervention,
    InterventionOrganisation,
    InterventionPlace,
    Organisation,
    PeriodTarget,
    Project,
    ProjectDocument,
    ProjectOrganisation,
    Result,
    TargetGroup,
    Theme,
    UpdateValue,
)
from coordination.services.interventions import (
    add_project_document,
    create_intervention,
    create_project,
    update_intervention,
    update_project,
    update_project_document,
)
from coordination.services.results import (
    _actual_fields,
    _category_targets,
    _check_target,
    _dimension,
    _links,
    _update_values,
    check_period_dates,
    create_indicator,
    create_result,
    replace_category_targets,
)
from coordination.services.stakeholders import create_organisation
from coordination.text import fold
from coordination.validation import check_date_range, check_language, check_media_type
from coordination.vocab import (
    ActivityStatus,
    DocumentCategory,
    IndicatorMeasure,
    InterventionType,
    OrganisationRole,
    ResultLevel,
    StakeholderType,
    UpdateStatus,
    media_type_of,
)

__all__ = [
    "DEFAULT_VOCABULARY_BASE",
    "ImportReport",
    "build_activities",
    "export_iati",
    "import_iati",
]

DEFAULT_VOCABULARY_BASE = "https://coordination.local/vocabulary"
GENDER_MARKER = "1"  # OECD DAC policy marker code for gender equality
_GENDER_DAC = "15170"

_LEVEL_TO_TYPE = {
    ResultLevel.GOAL: "3",
    ResultLevel.OUTCOME: "2",
    ResultLevel.OUTPUT: "1",
    ResultLevel.ACTIVITY: "9",
}
_TYPE_TO_LEVEL = {
    "3": ResultLevel.GOAL,
    "impact": ResultLevel.GOAL,
    "2": ResultLevel.OUTCOME,
    "outcome": ResultLevel.OUTCOME,
    "1": ResultLevel.OUTPUT,
    "output": ResultLevel.OUTPUT,
    "9": ResultLevel.ACTIVITY,
    "other": ResultLevel.ACTIVITY,
}
_MEASURE_TO_CODE = {
    IndicatorMeasure.UNIT: "1",
    IndicatorMeasure.PERCENTAGE: "2",
    IndicatorMeasure.CURRENCY: "1",
    IndicatorMeasure.QUALITATIVE: "5",
}
_CODE_TO_MEASURE = {
    "1": IndicatorMeasure.UNIT,
    "unit": IndicatorMeasure.UNIT,
    "2": IndicatorMeasure.PERCENTAGE,
    "percentage": IndicatorMeasure.PERCENTAGE,
    "3": IndicatorMeasure.QUALITATIVE,  # nominal
    "4": IndicatorMeasure.QUALITATIVE,  # ordinal
    "5": IndicatorMeasure.QUALITATIVE,
    "qualitative": IndicatorMeasure.QUALITATIVE,
}
_ROLE_BY_CODE = {str(role.iati_code): role for role in OrganisationRole}
_STATUS_BY_CODE = {str(status.iati_code): status for status in ActivityStatus}
_TYPE_BY_IATI = {
    10: StakeholderType.GOVERNMENT,
    21: StakeholderType.NGO,
    22: StakeholderType.NGO,
    23: StakeholderType.NGO,
    24: StakeholderType.NGO,
    40: StakeholderType.UN_AGENCY,
    80: StakeholderType.RESEARCH,
}
_KINDS = (
    "organisation",
    "project",
    "document",
    "intervention",
    "result",
    "indicator",
    "period",
    "actual",
)


# =========================================================================== export


def _vocab(base: str, name: str) -> str:
    return f"{base.rstrip('/')}/{name}"


def _split(count: int) -> list[Decimal]:
    """Equal percentages that add up to exactly 100.

    >>> _split(3)
    [Decimal('33.33'), Decimal('33.33'), Decimal('33.34')]
    """
    if count == 0:
        return []
    share = (Decimal(100) / count).quantize(Decimal("0.01"), rounding="ROUND_DOWN")
    return [share] * (count - 1) + [Decimal(100) - share * (count - 1)]


def _reporting_organisation(project: Project) -> Organisation:
    for role in (
        OrganisationRole.ACCOUNTABLE,
        OrganisationRole.IMPLEMENTING,
        OrganisationRole.FUNDING,
        OrganisationRole.EXTENDING,
    ):
        found = project.organisations(role)
        if found:
            return found[0]
    raise ValidationError(
        {"organisations": f"project {project.code} has no organisation that could report it"}
    )


def identifier_for(project: Project) -> str:
    """The project's IATI identifier: the stored one, else reporting org prefix + code."""
    if project.iati_identifier:
        return project.iati_identifier
    reporter = _reporting_organisation(project)
    if not reporter.iati_identifier:
        raise ValidationError(
            {
                "iati_identifier": f"{reporter.acronym}, which reports project {project.code}, "
                "has no IATI organisation identifier; record it first"
            }
        )
    return f"{reporter.iati_identifier}-{project.code}"


def _org(organisation: Organisation, role: OrganisationRole | None = None) -> x.Org:
    return x.Org(
        name=organisation.name,
        ref=organisation.iati_identifier,
        type=str(organisation.iati_type),
        role=str(role.iati_code) if role else None,
    )


def _dates(
    start: date | None, end: date | None, status: ActivityStatus, today: date
) -> list[tuple[str, date]]:
    """Planned start and end; actual start once begun, actual end once closed."""
    out: list[tuple[str, date]] = []
    if start:
        out.append(("1", start))
        if status not in (ActivityStatus.PIPELINE, ActivityStatus.CANCELLED) and start <= today:
            out.append(("2", start))
    if end:
        out.append(("3", end))
        if status == ActivityStatus.CLOSED and end <= today:
            out.append(("4", end))
    return out


def _sectors(themes: Sequence[Theme], base: str) -> list[x.Sector]:
    dac = [t for t in themes if t.dac_code]
    own = [t for t in themes if not t.dac_code]
    out = [
        x.Sector(code=t.dac_code or "", vocabulary="1", percentage=p, name=t.name)
        for t, p in zip(dac, _split(len(dac)), strict=True)
    ]
    out += [
        x.Sector(
            code=t.code,
            vocabulary="99",
            vocabulary_uri=_vocab(base, "themes"),
            percentage=p,
            name=t.name,
        )
        for t, p in zip(own, _split(len(own)), strict=True)
    ]
    return out


def _gender_marker(themes: Sequence[Theme], sex_disaggregated: bool) -> tuple[str, str, str]:
    """Significance 2 when gender equality is the only theme, 1 when it is one of them
    or some indicator is disaggregated by sex, else 0."""
    gender = [t for t in themes if t.dac_code == _GENDER_DAC or t.code == "gender-equality"]
    if gender and len(themes) == 1:
        significance = "2"
    elif gender or sex_disaggregated:
        significance = "1"
    else:
        significance = "0"
    return ("1", GENDER_MARKER, significance)


def _locations(places: Sequence[InterventionPlace]) -> list[x.Location]:
    seen: dict[int, x.Location] = {}
    for place in places:
        area = place.area
        if area is not None and area.id not in seen:
            seen[area.id] = x.Location(ref=area.code, name=area.name, country=area.country_code)
    return sorted(seen.values(), key=lambda loc: (loc.country or "", loc.ref or "", loc.name or ""))


def _logframe(results: Sequence[Any]) -> list[Any]:
    """Results depth first, parents before children, siblings by position."""
    children: dict[int | None, list[Any]] = {}
    ids = {r.id for r in results}
    for r in results:
        parent = r.parent_id if r.parent_id in ids else None
        children.setdefault(parent, []).append(r)
    out: list[Any] = []

    def walk(parent: int | None) -> None:
        for r in sorted(children.get(parent, []), key=lambda r: (r.position, r.code)):
            out.append(r)
            walk(r.id)

    walk(None)
    return out


def _percentage(numerator: Decimal | None, denominator: Decimal | None) -> Decimal | None:
    if numerator is None or not denominator:
        return None
    return (numerator * 100 / denominator).quantize(Decimal("0.0001"))


def _indicator(indicator: Any, project: Project, base: str) -> x.Indicator:
    out = x.Indicator(
        title=indicator.title,
        measure=_MEASURE_TO_CODE[indicator.measure],
        ascending=indicator.ascending,
        description=indicator.definition,
        references=[
            x.Tag(code=indicator.code, vocabulary="99", vocabulary_uri=_vocab(base, "indicators"))
        ],
    )
    qualitative = indicator.measure == IndicatorMeasure.QUALITATIVE
    periods = sorted(indicator.periods, key=lambda p: p.start_date)
    when = (
        indicator.baseline_date
        or project.start_date
        or (periods[0].start_date if periods else None)
    )
    categories = [
        (dimension, category)
        for dimension in sorted(indicator.dimensions, key=lambda d: d.position)
        for category in sorted(dimension.categories, key=lambda c: c.position)
    ]
    if when is not None:
        if (
            indicator.baseline_value is not None
            or indicator.baseline_comment
            or indicator.baseline_date
        ):
            out.baselines.append(
                x.Baseline(
                    year=when.year,
                    iso_date=indicator.baseline_date,
                    value=None if qualitative else x.format_number(indicator.baseline_value),
                    comment=indicator.baseline_comment,
                )
            )
        for dimension, category in categories:
            if category.baseline_value is not None and not qualitative:
                out.baselines.append(
                    x.Baseline(
                        year=when.year,
                        iso_date=indicator.baseline_date,
                        value=x.format_number(category.baseline_value),
                        dimensions=[(dimension.name, category.name)],
                    )
                )
    order = {category.id: i for i, (_, category) in enumerate(categories)}
    names = {category.id: (dimension.name, category.name) for dimension, category in categories}
    for period in periods:
        p = x.Period(start=period.start_date, end=period.end_date)
        if period.target_value is not None or period.comment:
            p.targets.append(
                x.Point(
                    value=None if qualitative else x.format_number(period.target_value),
                    comment=period.comment,
                )
            )
        for target in sorted(period.targets, key=lambda t: order.get(t.category_id, 0)):
            if target.target_value is not None:
                p.targets.append(
                    x.Point(
                        value=x.format_number(target.target_value),
                        dimensions=[names[target.category_id]],
                    )
                )
        approved = [u for u in period.updates if u.status == UpdateStatus.APPROVED]
        if approved:
            update = max(approved, key=lambda u: u.id)
            p.actuals.append(_actual(indicator, update, None))
            for value in sorted(update.values, key=lambda v: order.get(v.category_id, 0)):
                p.actuals.append(_actual(indicator, value, names[value.category_id]))
        out.periods.append(p)
    return out


def _actual(indicator: Any, row: Any, dimension: tuple[str, str] | None) -> x.Point:
    if indicator.measure == IndicatorMeasure.PERCENTAGE:
        value = _percentage(row.numerator, row.denominator)
    elif indicator.measure == IndicatorMeasure.QUALITATIVE:
        value = None
    else:
        value = row.value
    if dimension is not None:
        return x.Point(value=x.format_number(value), dimensions=[dimension])
    comment = row.narrative if indicator.measure == IndicatorMeasure.QUALITATIVE else row.comment
    return x.Point(
        value=x.format_number(value),
        comment=comment,
        documents=[
            x.Document(
                url=link,
                title="Evidence",
                format=media_type_of(link),
                category=DocumentCategory.RESULTS.value,
            )
            for link in row.evidence_links or []
        ],
    )


def _document_link(document: ProjectDocument) -> x.Document:
    return x.Document(
        url=document.url,
        title=document.title,
        format=document.format,
        category=document.category.value,
        description=document.description,
        languages=[document.language] if document.language else [],
        document_date=document.document_date,
    )


def _project_activity(
    project: Project, results: Sequence[Any], base: str, today: date, children: list[str]
) -> x.Activity:
    reporter = _reporting_organisation(project)
    themes = list(project.themes)
    indicators = [i for r in results for i in r.indicators]
    sex = any(d.name.casefold() == "sex" for i in indicators for d in i.dimensions)
    activity = x.Activity(
        identifier=identifier_for(project),
        hierarchy=1,
        reporting_org=_org(reporter),
        title=project.title,
        description=project.description,
        participating=[
            _org(p.organisation, p.role)
            for p in sorted(
                project.participations,
                key=lambda p: (p.role.iati_code, p.organisation.name, p.organisation_id),
            )
        ],
        status=str(project.status.iati_code),
        dates=_dates(project.start_date, project.end_date, project.status, today),
        countries=list(
            zip(
                [c.code for c in project.countries],
                _split(len(project.countries)),
                strict=True,
            )
        ),
        locations=_locations([pl for i in project.interventions for pl in i.places]),
        sectors=_sectors(themes, base),
        policy_markers=[_gender_marker(themes, sex)],
        default_currency=project.currency,
        last_updated=project.updated_at,
        documents=[_document_link(d) for d in project.documents],
        related=[("2", child) for child in children],
    )
    if project.budget is not None and project.start_date and project.end_date:
        activity.budgets.append(
            ("1", project.start_date, project.end_date, project.budget, project.currency)
        )
    # IATI requires an indicator in every result: results without one are left out,
    # and their children hang from the nearest ancestor that is published.
    published = {r.id for r in results if r.indicators}
    by_id = {r.id: r for r in results}
    for result in results:
        if result.id not in published:
            continue
        references = [
            x.Tag(code=result.code, vocabulary="99", vocabulary_uri=_vocab(base, "results"))
        ]
        parent = by_id.get(result.parent_id) if result.parent_id else None
        while parent is not None and parent.id not in published:
            parent = by_id.get(parent.parent_id) if parent.parent_id else None
        if parent is not None:
            references.append(
                x.Tag(
                    code=parent.code, vocabulary="99", vocabulary_uri=_vocab(base, "result-parents")
                )
            )
        activity.results.append(
            x.Result(
                title=result.title,
                type=_LEVEL_TO_TYPE[result.level],
                description=result.description,
                references=references,
                indicators=[
                    _indicator(i, project, base)
                    for i in sorted(result.indicators, key=lambda i: (i.position, i.code))
                ],
            )
        )
    if not activity.dates:
        raise ValidationError(
            {"start_date": f"project {project.code} needs a start or end date for IATI"}
        )
    return activity


def _intervention_activity(
    intervention: Intervention, parent_identifier: str, reporter: x.Org, base: str, today: date
) -> x.Activity:
    partners = sorted(
        intervention.participations,
        key=lambda p: (p.role.iati_code, p.organisation.name, p.organisation_id),
    )
    participating = [_org(intervention.lead_organisation, OrganisationRole.IMPLEMENTING)]
    participating += [
        _org(p.organisation, p.role)
        for p in partners
        if not (
            p.organisation_id == intervention.lead_organisation_id
            and p.role == OrganisationRole.IMPLEMENTING
        )
    ]
    countries = sorted({p.country_code for p in intervention.places})
    themes = list(intervention.themes)
    tags = [
        x.Tag(
            code=intervention.intervention_type.value,
            vocabulary_uri=_vocab(base, "intervention-types"),
            name=intervention.intervention_type.label,
        )
    ]
    tags += [
        x.Tag(code=g.code, vocabulary_uri=_vocab(base, "target-groups"), name=g.name)
        for g in sorted(intervention.target_groups, key=lambda g: g.code)
    ]
    tags += [
        x.Tag(code=r.code, vocabulary_uri=_vocab(base, "results"), name=r.title)
        for r in sorted(intervention.results, key=lambda r: r.code)
    ]
    return x.Activity(
        identifier=f"{parent_identifier}-{intervention.code}",
        hierarchy=2,
        reporting_org=reporter,
        title=intervention.title,
        description=intervention.description,
        participating=participating,
        status=str(intervention.status.iati_code),
        dates=_dates(intervention.start_date, intervention.end_date, intervention.status, today),
        countries=list(zip(countries, _split(len(countries)), strict=True)),
        locations=_locations(intervention.places),
        sectors=_sectors(themes, base),
        tags=tags,
        policy_markers=[_gender_marker(themes, False)],
        last_updated=intervention.updated_at,
        related=[("1", parent_identifier)],
    )


@dataclass(slots=True)
class _Row:
    """Plain rows for the results part of an export (ORM objects cost ten times more)."""

    id: int
    data: dict[str, Any]
    children: dict[str, list[Any]] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.children[name] if name in self.children else self.data[name]
        except KeyError:
            raise AttributeError(name) from None


def _rows(session: Session, query: Any) -> list[_Row]:
    result = session.execute(query)
    keys = list(result.keys())
    position = keys.index("id") if "id" in keys else None
    return [
        _Row(row[position] if position is not None else 0, dict(zip(keys, row, strict=True)))
        for row in result
    ]


def _load_logframes(session: Session, project_ids: Any) -> dict[int, list[_Row]]:
    """Results with indicators, dimensions, periods, targets and the latest approved
    actual of each period, as plain rows: seven queries, whatever the size."""
    results = _rows(
        session,
        select(
            Result.id,
            Result.project_id,
            Result.parent_id,
            Result.level,
            Result.code,
            Result.title,
            Result.description,
            Result.position,
        ).where(Result.project_id.in_(project_ids)),
    )
    result_ids = select(Result.id).where(Result.project_id.in_(project_ids))
    indicators = _rows(
        session,
        select(
            Indicator.id,
            Indicator.result_id,
            Indicator.code,
            Indicator.title,
            Indicator.definition,
            Indicator.measure,
            Indicator.ascending,
            Indicator.baseline_value,
            Indicator.baseline_date,
            Indicator.baseline_comment,
            Indicator.position,
        ).where(Indicator.result_id.in_(result_ids)),
    )
    indicator_ids = select(Indicator.id).where(Indicator.result_id.in_(result_ids))
    dimensions: dict[int, _Row] = {}
    for row in session.execute(
        select(
            IndicatorDimension.id.label("dimension_id"),
            IndicatorDimension.indicator_id,
            IndicatorDimension.name.label("dimension_name"),
            IndicatorDimension.position.label("dimension_position"),
            DimensionCategory.id,
            DimensionCategory.name,
            DimensionCategory.position,
            DimensionCategory.baseline_value,
        )
        .join(DimensionCategory.dimension)
        .where(IndicatorDimension.indicator_id.in_(indicator_ids))
    ):
        dimension = dimensions.get(row.dimension_id)
        if dimension is None:
            dimension = dimensions[row.dimension_id] = _Row(
                row.dimension_id,
                {
                    "indicator_id": row.indicator_id,
                    "name": row.dimension_name,
                    "position": row.dimension_position,
                },
                {"categories": []},
            )
        dimension.children["categories"].append(
            _Row(
                row.id,
                {
                    "id": row.id,
                    "name": row.name,
                    "position": row.position,
                    "baseline_value": row.baseline_value,
                },
            )
        )
    periods = _rows(
        session,
        select(
            IndicatorPeriod.id,
            IndicatorPeriod.indicator_id,
            IndicatorPeriod.start_date,
            IndicatorPeriod.end_date,
            IndicatorPeriod.target_value,
            IndicatorPeriod.comment,
        ).where(IndicatorPeriod.indicator_id.in_(indicator_ids)),
    )
    period_ids = select(IndicatorPeriod.id).where(IndicatorPeriod.indicator_id.in_(indicator_ids))
    targets = _rows(
        session,
        select(PeriodTarget.period_id, PeriodTarget.category_id, PeriodTarget.target_value).where(
            PeriodTarget.period_id.in_(period_ids)
        ),
    )
    latest = (
        select(func.max(IndicatorUpdate.id))
        .where(
            IndicatorUpdate.period_id.in_(period_ids),
            IndicatorUpdate.status == UpdateStatus.APPROVED,
        )
        .group_by(IndicatorUpdate.period_id)
    )
    updates = _rows(
        session,
        select(
            IndicatorUpdate.id,
            IndicatorUpdate.period_id,
            IndicatorUpdate.status,
            IndicatorUpdate.value,
            IndicatorUpdate.numerator,
            IndicatorUpdate.denominator,
            IndicatorUpdate.narrative,
            IndicatorUpdate.comment,
            IndicatorUpdate.evidence_links,
        ).where(IndicatorUpdate.id.in_(latest)),
    )
    values = _rows(
        session,
        select(
            UpdateValue.update_id,
            UpdateValue.category_id,
            UpdateValue.value,
            UpdateValue.numerator,
            UpdateValue.denominator,
        ).where(UpdateValue.update_id.in_(latest)),
    )

    def attach(children: list[_Row], parents: dict[int, _Row], key: str, name: str) -> None:
        for row in parents.values():
            row.children.setdefault(name, [])
        for child in children:
            owner = parents.get(child.data[key])
            if owner is not None:
                owner.children[name].append(child)

    by_update = {u.id: u for u in updates}
    attach(values, by_update, "update_id", "values")
    by_period = {p.id: p for p in periods}
    attach(targets, by_period, "period_id", "targets")
    attach(updates, by_period, "period_id", "updates")
    by_indicator = {i.id: i for i in indicators}
    attach(periods, by_indicator, "indicator_id", "periods")
    attach(list(dimensions.values()), by_indicator, "indicator_id", "dimensions")
    by_result = {r.id: r for r in results}
    attach(indicators, by_result, "result_id", "indicators")
    out: dict[int, list[_Row]] = {}
    for result in results:
        out.setdefault(result.data["project_id"], []).append(result)
    return out


def build_activities(
    session: Session,
    *,
    project_codes: Sequence[str] | None = None,
    interventions: bool = True,
    vocabulary_base: str = DEFAULT_VOCABULARY_BASE,
    record_identifiers: bool = False,
    today: date | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[x.Activity]:
    """Plain activities for the projects (all, or those with the given codes).

    With ``record_identifiers`` a project published for the first time keeps the
    identifier it got (stored in ``Project.iati_identifier``). A constant number of
    queries, however many projects, results and periods there are.
    """
    today = today or date.today()
    query = (
        select(Project)
        .order_by(Project.code)
        .execution_options(populate_existing=True)
        .options(
            selectinload(Project.participations).selectinload(ProjectOrganisation.organisation),
            selectinload(Project.countries),
            selectinload(Project.themes),
            selectinload(Project.documents),
        )
    )
    if interventions:
        query = query.options(
            selectinload(Project.interventions).options(
                selectinload(Intervention.lead_organisation),
                selectinload(Intervention.participations).selectinload(
                    InterventionOrganisation.organisation
                ),
                selectinload(Intervention.places).selectinload(InterventionPlace.area),
                selectinload(Intervention.themes),
                selectinload(Intervention.target_groups),
                selectinload(Intervention.results),
            )
        )
    else:
        query = query.options(
            selectinload(Project.interventions)
            .selectinload(Intervention.places)
            .selectinload(InterventionPlace.area)
        )
    if project_codes is not None:
        query = query.where(Project.code.in_(list(project_codes)))
    projects = list(session.scalars(query))
    if project_codes is not None:
        missing = sorted(set(project_codes) - {p.code for p in projects})
        if missing:
            raise ValidationError({"project": f"no project with code {', '.join(missing)}"})
    with collector_paused():
        return _build(
            session, projects, interventions, vocabulary_base, record_identifiers, today, progress
        )


def _build(
    session: Session,
    projects: list[Project],
    interventions: bool,
    vocabulary_base: str,
    record_identifiers: bool,
    today: date,
    progress: Callable[[int], None] | None,
) -> list[x.Activity]:
    results_by_project = _load_logframes(session, [p.id for p in projects]) if projects else {}
    out: list[x.Activity] = []
    for project in projects:
        identifier = identifier_for(project)
        if record_identifiers and project.iati_identifier != identifier:
            project.iati_identifier = identifier
        children = sorted(project.interventions, key=lambda i: i.code) if interventions else []
        child_ids = [f"{identifier}-{i.code}" for i in children]
        activity = _project_activity(
            project,
            _logframe(results_by_project.get(project.id, [])),
            vocabulary_base,
            today,
            child_ids,
        )
        out.append(activity)
        for child in children:
            out.append(
                _intervention_activity(
                    child, identifier, activity.reporting_org, vocabulary_base, today
                )
            )
        if progress is not None:
            progress(1)
    if record_identifiers:
        session.flush()
    return out


def export_iati(
    session: Session,
    *,
    project_codes: Sequence[str] | None = None,
    interventions: bool = True,
    vocabulary_base: str = DEFAULT_VOCABULARY_BASE,
    record_identifiers: bool = False,
    today: date | None = None,
    progress: Callable[[int], None] | None = None,
) -> bytes:
    """An IATI 2.03 activity file of the projects (and their interventions)."""
    activities = build_activities(
        session,
        project_codes=project_codes,
        interventions=interventions,
        vocabulary_base=vocabulary_base,
        record_identifiers=record_identifiers,
        today=today,
        progress=progress,
    )
    if not activities:
        raise ValidationError({"project": "there is no project to export"})
    with collector_paused():
        return x.render_activities(activities)


# =========================================================================== import


@dataclass
class ImportReport:
    """What an import did (or, in a dry run, would do), kind by kind."""

    dry_run: bool = False
    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    unchanged: Counter[str] = field(default_factory=Counter)
    skipped: list[x.Problem] = field(default_factory=list)
    errors: list[x.Problem] = field(default_factory=list)
    new_organisations: list[str] = field(default_factory=list)
    activities: list[tuple[str, str]] = field(default_factory=list)  # (identifier, outcome)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def written(self) -> bool:
        return self.ok and not self.dry_run

    def summary(self) -> str:
        def total(counter: Counter[str]) -> int:
            return sum(counter.values())

        head = "dry run: would have " if self.dry_run else ""
        if self.errors:
            head = "nothing written: "
        return (
            f"{head}{total(self.created)} created, {total(self.updated)} updated, "
            f"{total(self.unchanged)} unchanged, {len(self.skipped)} skipped, "
            f"{len(self.errors)} errors"
        )

    def table(self) -> list[tuple[str, int, int, int]]:
        """(kind, created, updated, unchanged) for every kind that occurred."""
        return [
            (kind, self.created[kind], self.updated[kind], self.unchanged[kind])
            for kind in _KINDS
            if self.created[kind] or self.updated[kind] or self.unchanged[kind]
        ]

    def lines(self) -> list[str]:
        out = [self.summary()]
        for kind, created, updated, unchanged in self.table():
            out.append(
                f"  {kind + 's':<14} {created:>6} created {updated:>6} updated {unchanged:>6} unchanged"
            )
        if self.new_organisations:
            out.append("new organisations: " + ", ".join(self.new_organisations))
        out += [f"error: {problem}" for problem in self.errors]
        out += [f"skipped: {problem}" for problem in self.skipped]
        return out


class _Failed(Exception):
    """An element could not be imported; the error is already in the report."""


class _Importer:
    def __init__(self, session: Session, report: ImportReport, base: str, reporter: str) -> None:
        self.session = session
        self.report = report
        self.base = base.rstrip("/")
        self.reporter = reporter
        self.organisations = list(session.scalars(select(Organisation)))
        self.themes = list(session.scalars(select(Theme)))
        self.groups = {g.code: g for g in session.scalars(select(TargetGroup))}
        self.projects: dict[str, Project] = {}  # by IATI identifier, this file

    # ---------------------------------------------------------------- bookkeeping

    def error(self, line: int | None, where: str, message: str) -> None:
        self.report.errors.append(x.Problem(line, where, message))

    def skip(self, line: int | None, where: str, message: str) -> None:
        self.report.skipped.append(x.Problem(line, where, message))

    def fail(self, line: int | None, where: str, error: ValidationError | str) -> _Failed:
        self.error(line, where, str(error))
        return _Failed()

    def count(self, kind: str, created: bool, changed: bool) -> None:
        if created:
            self.report.created[kind] += 1
        elif changed:
            self.report.updated[kind] += 1
        else:
            self.report.unchanged[kind] += 1

    def ours(self, uri: str | None, name: str) -> bool:
        return bool(uri) and uri.rstrip("/").endswith(f"/vocabulary/{name}")  # type: ignore[union-attr]

    # ---------------------------------------------------------------- organisations

    def organisation(self, org: x.Org, where: str) -> Organisation | None:
        if org.ref:
            for o in self.organisations:
                if o.iati_identifier and o.iati_identifier.casefold() == org.ref.casefold():
                    return o
        if org.name:
            wanted = fold(org.name)
            for o in self.organisations:
                if fold(o.name) == wanted:
                    return o
        if not org.name and not org.ref:
            self.skip(org.line, where, "an organisation with neither identifier nor name; ignored")
            return None
        name = org.name or org.ref or ""
        try:
            iati_type = int(org.type) if org.type else 90
        except ValueError:
            self.skip(org.line, where, f"organisation type {org.type!r} is not a code; 90 (other)")
            iati_type = 90
        ref = org.ref if org.ref and len(org.ref) <= 100 else None
        created = create_organisation(
            self.session,
            name=name[:200],
            acronym=self.acronym(name),
            stakeholder_type=_TYPE_BY_IATI.get(iati_type, StakeholderType.OTHER),
            iati_type=iati_type,
            iati_identifier=ref,
        )
        self.organisations.append(created)
        self.report.created["organisation"] += 1
        self.report.new_organisations.append(f"{created.acronym} ({created.name})")
        return created

    def acronym(self, name: str) -> str:
        words = re.findall(r"[A-Za-z0-9]+", fold(name))
        base = "".join(w[0] for w in words).upper()[:30] or "ORG"
        taken = {o.acronym.casefold() for o in self.organisations}
        candidate, n = base, 1
        while candidate.casefold() in taken:
            n += 1
            candidate = f"{base}-{n}"
        return candidate

    # ---------------------------------------------------------------- shared parts

    def dates(self, activity: x.Activity, where: str) -> tuple[date | None, date | None]:
        by_type = {kind: when for kind, when in activity.dates}
        for kind, _ in activity.dates:
            if kind not in ("1", "2", "3", "4"):
                self.skip(activity.line, where, f"activity-date type {kind!r} is not 1-4; ignored")
        start = by_type.get("2") or by_type.get("1")
        end = by_type.get("4") or by_type.get("3")
        if start is None and end is None:
            starts = [
                p.start
                for r in activity.results
                for i in r.indicators
                for p in i.periods
                if p.start
            ]
            if starts:
                start = min(starts)
                self.skip(
                    activity.line,
                    where,
                    f"no usable activity-date; start taken from the first result period ({start})",
                )
        return start, end

    def status(self, activity: x.Activity, where: str) -> ActivityStatus:
        found = _STATUS_BY_CODE.get((activity.status or "").strip())
        if found is None:
            self.skip(
                activity.line,
                where,
                f"activity-status {activity.status!r} is not a code; read as implementation",
            )
            return ActivityStatus.IMPLEMENTATION
        return found

    def countries(self, activity: x.Activity, where: str) -> list[Country]:
        out = []
        for code, _ in activity.countries:
            country = self.session.get(Country, code.upper()) if code else None
            if country is None:
                self.skip(activity.line, where, f"unknown recipient-country {code!r}; ignored")
            elif country not in out:
                out.append(country)
        return out

    def sector_themes(self, activity: x.Activity, where: str) -> list[Theme]:
        out: list[Theme] = []
        for sector in activity.sectors:
            theme = None
            if sector.vocabulary == "1":
                matches = [t for t in self.themes if t.dac_code == sector.code]
                theme = next((t for t in matches if fold(t.name) == fold(sector.name)), None) or (
                    matches[0] if matches else None
                )
            elif sector.vocabulary == "99" and self.ours(sector.vocabulary_uri, "themes"):
                theme = next((t for t in self.themes if t.code == sector.code), None)
            if theme is None and sector.name:
                theme = next((t for t in self.themes if fold(t.name) == fold(sector.name)), None)
            if theme is None:
                self.skip(
                    sector.line,
                    where,
                    f"sector {sector.vocabulary}/{sector.code} matches no theme; ignored",
                )
            elif theme not in out:
                out.append(theme)
        return out

    def participations(
        self, activity: x.Activity, where: str
    ) -> list[tuple[Organisation, OrganisationRole]]:
        out: list[tuple[Organisation, OrganisationRole]] = []
        for org in activity.participating:
            role = _ROLE_BY_CODE.get(org.role or "")
            if role is None:
                self.skip(
                    org.line, where, f"participating-org role {org.role!r} is not 1-4; ignored"
                )
                continue
            found = self.organisation(org, where)
            if found is not None and (found, role) not in out:
                out.append((found, role))
        return out

    # ---------------------------------------------------------------- projects

    def project(self, activity: x.Activity) -> None:
        where = f"activity {activity.identifier or '(no identifier)'}"
        identifier = activity.identifier
        if not identifier:
            digest = hashlib.sha1((activity.title or "").encode()).hexdigest()[:10].upper()
            identifier = f"IATI-{digest}"
            self.skip(activity.line, where, f"no iati-identifier; recorded as {identifier}")
        if not activity.title:
            raise self.fail(activity.line, where, "an activity needs a title")
        reporter = (
            self.organisation(activity.reporting_org, where)
            if (activity.reporting_org.name or activity.reporting_org.ref)
            else None
        )
        ref = activity.reporting_org.ref
        code = (
            identifier[len(ref) + 1 :] if ref and identifier.startswith(ref + "-") else identifier
        )
        if len(code) > 60:
            code = code[:49] + "-" + hashlib.sha1(code.encode()).hexdigest()[:10]
        project = self.session.scalars(
            select(Project).where(Project.iati_identifier == identifier)
        ).first()
        if project is None:
            clash = self.session.scalars(select(Project).where(Project.code == code)).first()
            if clash is not None and clash.iati_identifier not in (None, identifier):
                raise self.fail(
                    activity.line,
                    where,
                    f"project code {code} is already used by {clash.iati_identifier}",
                )
            project = clash
        participations = self.participations(activity, where)
        if reporter is not None and reporter not in [o for o, _ in participations]:
            participations.append((reporter, OrganisationRole.ACCOUNTABLE))
        start, end = self.dates(activity, where)
        currency = (activity.default_currency or "").upper() or None
        budget = None
        if activity.budgets:
            kinds = {kind for kind, *_ in activity.budgets}
            kind = "2" if "2" in kinds else sorted(kinds)[0]
            chosen = [b for b in activity.budgets if b[0] == kind]
            currencies = {b[4] or currency for b in chosen}
            if len(currencies) == 1:
                budget = sum((b[3] for b in chosen), Decimal(0))
                currency = currencies.pop() or currency
            else:
                self.skip(
                    activity.line, where, "budgets in several currencies; budget not imported"
                )
        values: dict[str, Any] = {
            "title": activity.title[:300],
            # The export repeats the title when there is no description (IATI needs one).
            "description": None if activity.description == activity.title else activity.description,
            "status": self.status(activity, where),
            "start_date": start,
            "end_date": end,
            "currency": currency,
            "budget": budget,
            "organisations": participations,
            "countries": self.countries(activity, where),
            "themes": self.sector_themes(activity, where),
        }
        try:
            if project is None:
                project = create_project(
                    self.session, code=code, iati_identifier=identifier, **values
                )
                created, changed = True, True
            else:
                before = _project_state(project)
                update_project(self.session, project, iati_identifier=identifier, **values)
                created, changed = False, _project_state(project) != before
        except ValidationError as error:
            raise self.fail(activity.line, where, error) from None
        self.count("project", created, changed)
        self.report.activities.append(
            (identifier, "created" if created else "updated" if changed else "unchanged")
        )
        self.projects[identifier] = project
        self.documents(project, activity, where)
        self.results(project, activity, where)

    # ---------------------------------------------------------------- documents

    def documents(self, project: Project, activity: x.Activity, where: str) -> None:
        """Activity document-links become the project's documents, matched by address.

        What cannot be stored (another scheme than http(s), no known category) is
        skipped; documents missing from the file are kept.
        """
        existing = {d.url: d for d in project.documents}
        seen: set[str] = set()
        for link in activity.documents:
            here = f"{where} document-link"
            url = _repaired_url(link.url)
            if url != link.url:
                self.skip(link.line, here, f"address {link.url!r} read as {url!r}")
            if url in seen:
                self.skip(link.line, here, f"{url} is listed twice; the first is kept")
                continue
            seen.add(url)
            values = self.document_values(link, url, here)
            if values is None:
                continue
            document = existing.get(url)
            try:
                if document is None:
                    document = add_project_document(self.session, project, **values)
                    existing[url] = document
                    created, changed = True, True
                else:
                    before = _document_state(document)
                    update_project_document(self.session, document, **values)
                    created, changed = False, _document_state(document) != before
            except ValidationError as error:
                self.skip(link.line, here, f"{error}; ignored")
                continue
            self.count("document", created, changed)

    def document_values(self, link: x.Document, url: str, where: str) -> dict[str, Any] | None:
        codes = [link.category, *link.more_categories]
        known = [c.upper() for c in codes if c.upper() in _DOCUMENT_CATEGORIES]
        if not known:
            self.skip(
                link.line,
                where,
                f"{url}: category {', '.join(codes)} is not a DocumentCategory code; ignored",
            )
            return None
        if len(codes) > 1:
            self.skip(link.line, where, f"{url}: several categories; {known[0]} is kept")
        media_type = link.format.strip().lower()
        try:
            check_media_type(media_type)
        except ValidationError:
            media_type = media_type_of(url)
            self.skip(link.line, where, f"format {link.format!r} is not a media type; {media_type}")
        language = None
        for code in link.languages:
            try:
                check_language(code)
            except ValidationError:
                self.skip(link.line, where, f"language {code!r} is not ISO 639-1; ignored")
                continue
            if language is None:
                language = code.lower()
            else:
                self.skip(link.line, where, f"{url}: several languages; {language} is kept")
                break
        return {
            "title": link.title[:300],
            "url": url,
            "category": known[0],
            "format": media_type,
            "language": language,
            "document_date": link.document_date,
            "description": link.description,
        }

    # ---------------------------------------------------------------- results chain

    def results(self, project: Project, activity: x.Activity, where: str) -> None:
        existing = {
            r.code: r
            for r in self.session.scalars(select(Result).where(Result.project_id == project.id))
        }
        positions: Counter[str | None] = Counter()
        for index, item in enumerate(activity.results, start=1):
            own = [
                r
                for r in item.references
                if r.vocabulary == "99" and self.ours(r.vocabulary_uri, "results")
            ]
            parents = [r for r in item.references if self.ours(r.vocabulary_uri, "result-parents")]
            code = own[0].code if own and own[0].code else f"R{index}"
            here = f"{where} result {code}"
            level = _TYPE_TO_LEVEL.get(item.type.strip().lower())
            if level is None:
                self.skip(
                    item.line,
                    here,
                    f"result type {item.type!r} is not 1, 2, 3 or 9; read as output",
                )
                level = ResultLevel.OUTPUT
            parent = None
            if parents:
                parent = existing.get(parents[0].code)
                if parent is None:
                    self.error(
                        item.line,
                        here,
                        f"parent result {parents[0].code} is not in the file before it",
                    )
                    continue
            result = existing.get(code)
            try:
                if result is None:
                    result = create_result(
                        self.session,
                        project,
                        code=code,
                        title=item.title or code,
                        level=level,
                        parent=parent,
                        description=item.description,
                        position=positions[parent.code if parent else None],
                    )
                    existing[code] = result
                    self.count("result", True, True)
                else:
                    changed = False
                    for attribute, value in (
                        ("title", item.title or code),
                        ("description", item.description),
                    ):
                        if getattr(result, attribute) != value:
                            setattr(result, attribute, value)
                            changed = True
                    self.count("result", False, changed)
            except ValidationError as error:
                self.error(item.line, here, str(error))
                continue
            positions[parent.code if parent else None] += 1
            for number, spec in enumerate(item.indicators, start=1):
                try:
                    self.indicator(project, result, spec, number, here)
                except _Failed:
                    continue

    def indicator(
        self, project: Project, result: Result, spec: x.Indicator, number: int, where: str
    ) -> None:
        own = [
            r
            for r in spec.references
            if r.vocabulary == "99" and self.ours(r.vocabulary_uri, "indicators")
        ]
        code = own[0].code if own and own[0].code else f"{result.code}.{number}"
        here = f"{where} indicator {code}"
        measure = _CODE_TO_MEASURE.get(spec.measure.strip().lower())
        if measure is None:
            self.skip(spec.line, here, f"measure {spec.measure!r} is not 1-5; read as unit")
            measure = IndicatorMeasure.UNIT
        quantitative = measure != IndicatorMeasure.QUALITATIVE
        # Baselines: the one without dimension is the indicator's, the others its categories'.
        baseline_value: Decimal | None = None
        baseline_date = None
        baseline_comment = None
        category_baselines: dict[tuple[str, str], Decimal] = {}
        for b in spec.baselines:
            value = self.number(b.value, b.line, f"{here} baseline") if quantitative else None
            if not b.dimensions:
                baseline_value, baseline_date, baseline_comment = value, b.iso_date, b.comment
            elif len(b.dimensions) == 1 and value is not None:
                category_baselines[b.dimensions[0]] = value
            elif len(b.dimensions) > 1:
                self.skip(b.line, here, "a baseline for several dimensions at once; ignored")
        dimensions = self.dimensions(spec, here)
        indicator = next((i for i in result.indicators if i.code == code), None)
        try:
            if indicator is None:
                indicator = create_indicator(
                    self.session,
                    result,
                    code=code,
                    title=spec.title or code,
                    measure=measure,
                    ascending=spec.ascending if spec.ascending is not None else True,
                    definition=spec.description,
                    baseline_value=baseline_value,
                    baseline_date=baseline_date,
                    baseline_comment=baseline_comment,
                    dimensions=dimensions,
                    position=number - 1,
                )
                created, changed = True, True
            else:
                created = False
                before = _indicator_state(indicator)
                if indicator.measure != measure and not (
                    indicator.measure == IndicatorMeasure.CURRENCY
                    and measure == IndicatorMeasure.UNIT
                ):
                    self.skip(
                        spec.line,
                        here,
                        f"measure stays {indicator.measure.value}; the file says {measure.value}",
                    )
                attribute: str
                new: Any
                for attribute, new in (
                    ("title", spec.title or code),
                    ("definition", spec.description),
                    ("ascending", spec.ascending if spec.ascending is not None else True),
                    ("baseline_value", baseline_value),
                    ("baseline_date", baseline_date),
                    ("baseline_comment", baseline_comment),
                ):
                    if getattr(indicator, attribute) != new:
                        setattr(indicator, attribute, new)
                self.extend_dimensions(indicator, dimensions)
                changed = _indicator_state(indicator) != before
        except ValidationError as error:
            raise self.fail(spec.line, here, error) from None
        self.session.flush()
        for dimension in indicator.dimensions:
            for category in dimension.categories:
                wanted = category_baselines.get((dimension.name, category.name))
                if category.baseline_value != wanted:
                    category.baseline_value = wanted
                    changed = True
        self.count("indicator", created, changed)
        for period in spec.periods:
            try:
                self.period(project, indicator, period, here)
            except _Failed:
                continue

    def number(self, raw: str | None, line: int | None, where: str) -> Decimal | None:
        if raw is None:
            return None
        value = x._decimal(raw)
        if value is None:
            self.skip(line, where, f"value {raw!r} is not a number; ignored")
        return value

    def dimensions(self, spec: x.Indicator, where: str) -> dict[str, list[str]]:
        seen: dict[str, list[str]] = {}
        points = [p for b in spec.baselines for p in [b]] + [
            p for period in spec.periods for p in period.targets + period.actuals
        ]
        for point in points:
            if len(point.dimensions) != 1:
                continue
            name, value = point.dimensions[0]
            if name and value and value not in seen.setdefault(name, []):
                seen[name].append(value)
        out: dict[str, list[str]] = {}
        for name, values in seen.items():
            if name.casefold() == "sex":
                values = values + [v for v in ("female", "male") if v not in values]
            if len(values) < 2:
                self.skip(
                    spec.line,
                    where,
                    f"dimension {name} has only the category {values[0]!r}; its values are ignored",
                )
                continue
            out[name] = values
        return out

    def extend_dimensions(self, indicator: Indicator, wanted: dict[str, list[str]]) -> None:
        existing = {d.name: d for d in indicator.dimensions}
        for name, values in wanted.items():
            dimension = existing.get(name)
            if dimension is None:
                indicator.dimensions.append(_dimension(name, values, len(indicator.dimensions)))
                continue
            have = {c.name for c in dimension.categories}
            for value in values:
                if value not in have:
                    dimension.categories.append(
                        DimensionCategory(name=value, position=len(dimension.categories))
                    )

    def period(self, project: Project, indicator: Indicator, spec: x.Period, where: str) -> None:
        if spec.start is None or spec.end is None:
            self.skip(spec.line, where, "a period without start or end date; ignored")
            return
        here = f"{where} period {spec.start}"
        quantitative = indicator.measure != IndicatorMeasure.QUALITATIVE
        known = {(d.name, c.name) for d in indicator.dimensions for c in d.categories}
        total: Decimal | None = None
        comment = None
        targets: dict[str, dict[str, Decimal | None]] = {}
        for t in spec.targets:
            value = self.number(t.value, t.line, f"{here} target") if quantitative else None
            if not t.dimensions:
                total, comment = value, t.comment
            elif len(t.dimensions) == 1 and t.dimensions[0] in known:
                name, category = t.dimensions[0]
                targets.setdefault(name, {})[category] = value
            else:
                self.skip(t.line, here, f"target for {t.dimensions} cannot be stored; ignored")
        period = next((p for p in indicator.periods if p.start_date == spec.start), None)
        try:
            if period is None:
                period = self.new_period(project, indicator, spec, total, targets, comment)
                self.count("period", True, True)
            else:
                before = _period_state(period)
                check_date_range(spec.start, spec.end)
                for other in indicator.periods:
                    if (
                        other is not period
                        and other.start_date <= spec.end
                        and spec.start <= other.end_date
                    ):
                        raise ValidationError({"end_date": f"overlaps the period {other}"})
                _check_target(indicator, total, "target")
                rows = _category_targets(indicator, total, targets)
                wanted = (
                    spec.end,
                    total,
                    comment,
                    sorted((r.category.id, r.target_value) for r in rows),
                )
                if wanted != before:
                    if period.locked:
                        self.skip(
                            spec.line, here, "the period is locked; its targets stay as they are"
                        )
                    else:
                        period.end_date, period.target_value, period.comment = (
                            spec.end,
                            total,
                            comment,
                        )
                        replace_category_targets(period, rows)
                        self.count("period", False, True)
                else:
                    self.count("period", False, False)
        except ValidationError as error:
            raise self.fail(spec.line, here, error) from None
        if spec.actuals:
            self.actual(indicator, period, spec, here, known)

    def new_period(
        self,
        project: Project,
        indicator: Indicator,
        spec: x.Period,
        total: Decimal | None,
        targets: dict[str, dict[str, Decimal | None]],
        comment: str | None,
    ) -> IndicatorPeriod:
        """:func:`~coordination.services.results.create_period`'s rules, without its flush.

        A file brings thousands of periods; one flush per period (with the audit
        collection that goes with it) would dominate the import. They are flushed
        with their indicator's next query or at the end.
        """
        start, end = spec.start, spec.end
        assert start is not None and end is not None
        check_period_dates(project, indicator, start, end)
        _check_target(indicator, total, "target")
        rows = _category_targets(indicator, total, targets)
        period = IndicatorPeriod(
            start_date=start, end_date=end, target_value=total, comment=comment, targets=rows
        )
        indicator.periods.append(period)
        return period

    def actual(
        self,
        indicator: Indicator,
        period: IndicatorPeriod,
        spec: x.Period,
        where: str,
        known: set[tuple[str, str]],
    ) -> None:
        measure = indicator.measure
        totals = [a for a in spec.actuals if not a.dimensions]
        if len(totals) > 1:
            self.skip(
                totals[0].line, where, "several actuals without dimension; the last one counts"
            )
        total = totals[-1] if totals else x.Point()
        line = total.line or spec.line

        def read(raw: str | None, at: int | None) -> dict[str, Any]:
            number = self.number(raw, at, f"{where} actual")
            if measure == IndicatorMeasure.PERCENTAGE:
                return {
                    "numerator": number,
                    "denominator": Decimal(100) if number is not None else None,
                }
            return {"value": number}

        narrative = total.comment if measure == IndicatorMeasure.QUALITATIVE else None
        comment = None if measure == IndicatorMeasure.QUALITATIVE else total.comment
        disaggregations: dict[str, dict[str, Any]] = {}
        for a in spec.actuals:
            if not a.dimensions or measure == IndicatorMeasure.QUALITATIVE:
                continue
            if len(a.dimensions) == 1 and a.dimensions[0] in known:
                fields = read(a.value, a.line)
                if measure == IndicatorMeasure.PERCENTAGE:
                    if fields["numerator"] is None:
                        continue
                    value: Any = (fields["numerator"], fields["denominator"])
                else:
                    value = fields["value"]
                    if value is None:
                        continue
                name, category = a.dimensions[0]
                disaggregations.setdefault(name, {})[category] = value
            else:
                self.skip(a.line, where, f"actual for {a.dimensions} cannot be stored; ignored")
        raw = read(total.value, total.line) if measure != IndicatorMeasure.QUALITATIVE else {}
        if measure != IndicatorMeasure.QUALITATIVE and all(v is None for v in raw.values()):
            if totals:
                self.skip(line, where, "an actual without a usable value; ignored")
            return
        if measure == IndicatorMeasure.QUALITATIVE and not narrative:
            self.skip(line, where, "a qualitative actual without comment text; ignored")
            return
        try:
            fields = _actual_fields(
                indicator, raw.get("value"), raw.get("numerator"), raw.get("denominator"), narrative
            )
            values = _update_values(indicator, fields, disaggregations)
            links = _links([d.url for d in total.documents])
        except ValidationError as error:
            raise self.fail(line, where + " actual", error) from None
        names = {c.id: (d.name, c.name) for d in indicator.dimensions for c in d.categories}
        # Compare in the form the export writes: a percentage of 27/102 and one of
        # 26.4706/100 are the same actual, and must not become a new update.
        wanted = _published_actual(indicator, fields, narrative, comment, links, values, names)
        approved = [u for u in period.updates if u.status == UpdateStatus.APPROVED]
        latest = max(approved, key=lambda u: u.id or 0) if approved else None
        if (
            latest is not None
            and _published_actual(
                indicator,
                {
                    "value": latest.value,
                    "numerator": latest.numerator,
                    "denominator": latest.denominator,
                },
                latest.narrative,
                latest.comment,
                list(latest.evidence_links or []),
                latest.values,
                names,
            )
            == wanted
        ):
            self.count("actual", False, False)
            return
        if period.locked:
            self.skip(line, where, "the period is locked; its actual stays as it is")
            return
        now = utcnow()
        update = IndicatorUpdate(
            period=period,
            values=values,
            status=UpdateStatus.APPROVED,
            narrative=narrative,
            comment=comment,
            evidence_links=links,
            reported_by=self.reporter,
            submitted_at=now,
            reviewed_by=self.reporter,
            reviewed_at=now,
            **fields,
        )
        self.session.add(update)
        self.count("actual", latest is None, True)

    # ---------------------------------------------------------------- interventions

    def intervention(self, activity: x.Activity, parent_identifier: str) -> None:
        where = f"activity {activity.identifier}"
        project = (
            self.projects.get(parent_identifier)
            or self.session.scalars(
                select(Project).where(Project.iati_identifier == parent_identifier)
            ).first()
        )
        assert project is not None
        if activity.documents:
            self.skip(
                activity.documents[0].line,
                where,
                "document-links of an intervention are not stored (only a project's); ignored",
            )
        identifier = activity.identifier
        code = (
            identifier[len(parent_identifier) + 1 :]
            if identifier.startswith(parent_identifier + "-")
            else identifier
        )
        if not code or len(code) > 80:
            raise self.fail(
                activity.line, where, f"cannot make an intervention code of {identifier!r}"
            )
        if not activity.title:
            raise self.fail(activity.line, where, "an activity needs a title")
        participations = self.participations(activity, where)
        implementing = [o for o, r in participations if r == OrganisationRole.IMPLEMENTING]
        lead = implementing[0] if implementing else None
        if lead is None and (activity.reporting_org.name or activity.reporting_org.ref):
            lead = self.organisation(activity.reporting_org, where)
        if lead is None:
            raise self.fail(activity.line, where, "no implementing organisation to lead it")
        partners = [
            (o, r)
            for o, r in participations
            if not (o is lead and r == OrganisationRole.IMPLEMENTING)
            and r != OrganisationRole.FUNDING
        ]
        funders = [o for o, r in participations if r == OrganisationRole.FUNDING]
        kind = None
        groups: list[TargetGroup] = []
        results: list[str] = []
        for tag in activity.tags:
            if self.ours(tag.vocabulary_uri, "intervention-types"):
                try:
                    kind = InterventionType(tag.code)
                except ValueError:
                    self.skip(tag.line, where, f"unknown intervention type {tag.code!r}")
            elif self.ours(tag.vocabulary_uri, "target-groups"):
                group = self.groups.get(tag.code)
                if group is None:
                    self.skip(tag.line, where, f"unknown target group {tag.code!r}; ignored")
                else:
                    groups.append(group)
            elif self.ours(tag.vocabulary_uri, "results"):
                results.append(tag.code)
        if kind is None:
            self.skip(activity.line, where, "no intervention type; recorded as policy advice")
            kind = InterventionType.POLICY_ADVICE
        start, end = self.dates(activity, where)
        if start is None:
            raise self.fail(activity.line, where, "an intervention needs a start date")
        countries = self.countries(activity, where)
        places: list[Any] = []
        covered: set[str] = set()
        for location in activity.locations:
            area = self.area(location, countries)
            if area is None:
                self.skip(
                    location.line,
                    where,
                    f"location {location.ref or location.name!r} matches no area; ignored",
                )
                continue
            places.append({"country": area.country_code, "area": area})
            covered.add(area.country_code)
        places += [c.code for c in countries if c.code not in covered]
        values: dict[str, Any] = {
            "title": activity.title[:300],
            "description": None if activity.description == activity.title else activity.description,
            "intervention_type": kind,
            "lead_organisation": lead,
            "start_date": start,
            "end_date": end,
            "status": self.status(activity, where),
            "themes": self.sector_themes(activity, where),
            "places": places,
            "partners": partners,
            "funders": funders,
            "target_groups": groups,
            "project": project,
            "results": results,
        }
        existing = self.session.scalars(
            select(Intervention).where(Intervention.code == code)
        ).first()
        if existing is not None and existing.project_id not in (None, project.id):
            raise self.fail(
                activity.line,
                where,
                f"intervention {code} belongs to another project (#{existing.project_id})",
            )
        try:
            if existing is None:
                create_intervention(self.session, code=code, **values)
                created, changed = True, True
            else:
                before = _intervention_state(existing)
                update_intervention(self.session, existing, **values)
                created, changed = False, _intervention_state(existing) != before
        except ValidationError as error:
            raise self.fail(activity.line, where, error) from None
        self.count("intervention", created, changed)
        self.report.activities.append(
            (identifier, "created" if created else "updated" if changed else "unchanged")
        )

    def area(self, location: x.Location, countries: list[Country]) -> Area | None:
        if location.ref:
            found = self.session.scalars(
                select(Area).where(Area.code == location.ref.upper())
            ).first()
            if found is not None:
                return found
        if location.name:
            codes = [location.country] if location.country else [c.code for c in countries]
            for area in self.session.scalars(select(Area).where(Area.country_code.in_(codes))):
                if fold(area.name) == fold(location.name):
                    return area
        return None


_DOCUMENT_CATEGORIES = {category.value for category in DocumentCategory}


def _repaired_url(url: str) -> str:
    """``http:www.example.org/x`` (as in IATI's own example file) read as ``http://www...``.

    >>> _repaired_url("http:www.example.org/docs/report_en.odt")
    'http://www.example.org/docs/report_en.odt'
    >>> _repaired_url("https://www.ilo.org/brief.pdf")
    'https://www.ilo.org/brief.pdf'
    """
    match = re.fullmatch(r"(https?):/{0,1}([^/].*)", url.strip(), flags=re.IGNORECASE)
    return f"{match.group(1).lower()}://{match.group(2)}" if match else url.strip()


def _document_state(document: ProjectDocument) -> tuple[Any, ...]:
    return (
        document.title,
        document.category,
        document.format,
        document.language,
        document.document_date,
        document.description,
    )


def _project_state(project: Project) -> tuple[Any, ...]:
    return (
        project.title,
        project.description,
        project.status,
        project.start_date,
        project.end_date,
        project.currency,
        project.budget,
        project.iati_identifier,
        sorted(c.code for c in project.countries),
        sorted(t.id for t in project.themes),
        sorted((p.organisation.id, p.role.value) for p in project.participations),
    )


def _intervention_state(intervention: Intervention) -> tuple[Any, ...]:
    return (
        intervention.title,
        intervention.description,
        intervention.intervention_type,
        intervention.lead_organisation_id,
        intervention.start_date,
        intervention.end_date,
        intervention.status,
        sorted(t.id for t in intervention.themes),
        sorted((p.country_code, p.area_id or 0) for p in intervention.places),
        sorted((p.organisation.id, p.role.value) for p in intervention.participations),
        sorted(g.id for g in intervention.target_groups),
        sorted(r.id for r in intervention.results),
    )


def _indicator_state(indicator: Indicator) -> tuple[Any, ...]:
    return (
        indicator.title,
        indicator.definition,
        indicator.ascending,
        indicator.baseline_value,
        indicator.baseline_date,
        indicator.baseline_comment,
        sorted((d.name, c.name) for d in indicator.dimensions for c in d.categories),
    )


def _period_state(period: IndicatorPeriod) -> tuple[Any, ...]:
    return (
        period.end_date,
        period.target_value,
        period.comment,
        sorted((t.category_id, t.target_value) for t in period.targets),
    )


def _published_actual(
    indicator: Indicator,
    fields: dict[str, Any],
    narrative: str | None,
    comment: str | None,
    links: list[str],
    values: Sequence[Any],
    names: dict[int, tuple[str, str]],
) -> tuple[Any, ...]:
    """An actual as the IATI export shows it (value, comment, links, category values)."""

    def shown(row: Any) -> str | None:
        if indicator.measure == IndicatorMeasure.PERCENTAGE:
            return x.format_number(_percentage(row["numerator"], row["denominator"]))
        if indicator.measure == IndicatorMeasure.QUALITATIVE:
            return None
        return x.format_number(row["value"])

    qualitative = indicator.measure == IndicatorMeasure.QUALITATIVE
    categories = sorted(
        (
            names.get(v.category_id if v.category_id is not None else v.category.id, ("", "")),
            shown({"value": v.value, "numerator": v.numerator, "denominator": v.denominator}),
        )
        for v in values
    )
    return (shown(fields), narrative if qualitative else comment, links, categories)


def import_iati(
    session: Session,
    data: bytes,
    *,
    dry_run: bool = False,
    max_bytes: int = x.MAX_BYTES,
    reporter: str | None = None,
    vocabulary_base: str = DEFAULT_VOCABULARY_BASE,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Create or update projects, interventions and results from an IATI activity file.

    All or nothing: with any error nothing is written and ``report.errors`` says
    where and why. With ``dry_run`` nothing is written either; the report is the
    preview of what the import would create, update and skip. A file that is not
    safe, well-formed IATI raises :class:`~coordination.interop.iati.IatiFormatError`.
    """
    parsed = x.parse_activities(data, max_bytes=max_bytes)
    report = ImportReport(dry_run=dry_run, skipped=list(parsed.problems))
    pending = copy.deepcopy(session.info.get("_audit_pending"))
    begin_writes(session)  # one SQLite transaction around the savepoint
    savepoint = session.begin_nested()
    try:
        importer = _Importer(
            session,
            report,
            vocabulary_base,
            reporter or str(session.info.get("actor") or "iati-import"),
        )
        identifiers = {a.identifier for a in parsed.activities if a.identifier}
        children: list[tuple[x.Activity, str]] = []
        seen: set[str] = set()
        for activity in parsed.activities:
            if activity.identifier and activity.identifier in seen:
                importer.error(
                    activity.line,
                    f"activity {activity.identifier}",
                    "the same iati-identifier appears twice in the file",
                )
                continue
            seen.add(activity.identifier)
            parent = next((ref for kind, ref in activity.related if kind == "1"), None)
            if (
                activity.hierarchy == 2
                and parent
                and (
                    parent in identifiers
                    or session.scalar(select(Project.id).where(Project.iati_identifier == parent))
                )
            ):
                children.append((activity, parent))
                continue
            try:
                importer.project(activity)
            except _Failed:
                pass
            if progress is not None:
                progress(1)
        for activity, parent in children:
            if parent not in importer.projects and not session.scalar(
                select(Project.id).where(Project.iati_identifier == parent)
            ):
                importer.error(
                    activity.line,
                    f"activity {activity.identifier}",
                    f"its parent {parent} could not be imported",
                )
                continue
            try:
                importer.intervention(activity, parent)
            except _Failed:
                pass
            if progress is not None:
                progress(1)
        session.flush()
    except IntegrityError as error:
        report.errors.append(
            x.Problem(None, "", f"the database refused the data: {str(error.orig).splitlines()[0]}")
        )
    except BaseException:
        savepoint.rollback()
        _restore_audit(session, pending)
        raise
    if report.errors or dry_run:
        savepoint.rollback()
        _restore_audit(session, pending)
    else:
        savepoint.commit()
    return report


def _restore_audit(session: Session, pending: Any) -> None:
    """Forget audit entries of the rolled-back savepoint (keep the caller's own)."""
    if pending is None:
        session.info.pop("_audit_pending", None)
    else:
        session.info["_audit_pending"] = pending
