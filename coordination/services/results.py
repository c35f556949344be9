"""Results framework: building a logframe, reporting actuals, approving them.

Workflow (Akvo RSR style, with explicit states):

    draft --submit--> submitted --approve--> approved
      ^                   |
      +----- edit --- returned (with a reason)

Partners report only on indicators whose responsible organisation is theirs;
managers and administrators approve and return; donors only read. Every step
changes one record, so the audit trail (``coordination.audit``) gets exactly one
row per step, with the step (and a return's reason) as its reason.
"""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import astuple
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from sqlalchemy import Float, and_, case, cast, func, literal, null, select, union_all
from sqlalchemy.orm import Session, aliased

from coordination.analysis.progress import (
    NO_PERIODS,
    Actual,
    IndicatorData,
    PeriodData,
    ProjectData,
    ResultData,
    Series,
)
from coordination.db import utcnow
from coordination.errors import NotFound, ValidationError
from coordination.models import (
    DimensionCategory,
    Indicator,
    IndicatorDimension,
    IndicatorPeriod,
    IndicatorUpdate,
    Intervention,
    Organisation,
    PeriodTarget,
    Project,
    Result,
    UpdateValue,
    User,
)
from coordination.validation import check_date_range, check_web_address
from coordination.vocab import (
    IndicatorAggregation,
    IndicatorMeasure,
    ResultLevel,
    UpdateStatus,
    UserRole,
)

__all__ = [
    "Detail",
    "add_dimension",
    "approve_update",
    "create_indicator",
    "create_period",
    "create_result",
    "edit_update",
    "load_logframe",
    "load_progress_snapshot",
    "lock_period",
    "report_update",
    "return_update",
    "submit_update",
    "unlock_period",
    "update_period",
]

MANAGERS = (UserRole.ADMIN, UserRole.MANAGER)
_LEVEL_ORDER = {level: i for i, level in enumerate(ResultLevel)}

# {"sex": {"female": 12, "male": 8}}; percentages use (numerator, denominator) pairs.
Disaggregations = Mapping[str, Mapping[str, Any]]


# --- small helpers ---------------------------------------------------------------


def _decimal(value: Any, field: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValidationError({field: f"{value!r} is not a number"}) from None
    if not number.is_finite():
        raise ValidationError({field: f"{value!r} is not a finite number"})
    return number


def _plain(number: Decimal) -> str:
    """12.5000 -> '12.5', 1E+1 -> '10': numbers as people write them."""
    text = format(number.normalize(), "f")
    return text


@contextmanager
def _audited(session: Session, actor: User | None, reason: str) -> Iterator[None]:
    """Record who and why for the changes flushed inside the block."""
    previous = session.info.get("audit_reason")
    if actor is not None:
        session.info["actor"] = actor.email
    session.info["audit_reason"] = reason
    try:
        yield
        session.flush()
    finally:
        session.info["audit_reason"] = previous


def _require_manager(actor: User, action: str) -> None:
    if actor.role not in MANAGERS:
        raise ValidationError({"actor": f"only a manager or administrator can {action}"})


def _check_may_report(actor: User, indicator: Indicator) -> None:
    if actor.role in MANAGERS:
        return
    if actor.role is UserRole.PARTNER:
        if (
            indicator.responsible_organisation_id is not None
            and indicator.responsible_organisation_id == actor.organisation_id
        ):
            return
        raise ValidationError(
            {"actor": f"{actor.email} may report only on indicators of their own organisation"}
        )
    raise ValidationError({"actor": f"a {actor.role.label.lower()} account cannot report"})


def _check_unlocked(period: IndicatorPeriod) -> None:
    if period.locked:
        raise ValidationError(
            {"period": f"the period {period} is locked; a manager must unlock it first"}
        )


def _categories(indicator: Indicator) -> dict[tuple[str, str], DimensionCategory]:
    return {
        (dimension.name, category.name): category
        for dimension in indicator.dimensions
        for category in dimension.categories
    }


# --- building a logframe ---------------------------------------------------------


def create_result(
    session: Session,
    project: Project,
    *,
    code: str,
    title: str,
    level: ResultLevel | str,
    parent: Result | None = None,
    description: str | None = None,
    assumptions: str | None = None,
    position: int | None = None,
    interventions: Sequence[Intervention] = (),
) -> Result:
    """A node of the results chain. Children sit at their parent's level or below."""
    code, title = code.strip(), title.strip()
    errors: dict[str, str] = {}
    try:
        level = ResultLevel(level)
    except ValueError:
        errors["level"] = f"unknown level {level!r}; use one of {', '.join(ResultLevel)}"
    if not code:
        errors["code"] = "a result needs a code"
    if not title:
        errors["title"] = "a result needs a title"
    if parent is not None:
        if parent.project_id != project.id:
            errors["parent"] = f"{parent.code} belongs to another project"
        elif isinstance(level, ResultLevel) and _LEVEL_ORDER[level] < _LEVEL_ORDER[parent.level]:
            errors["level"] = (
                f"a {level.label.lower()} cannot sit under a {parent.level.label.lower()}"
            )
    if code and session.scalar(
        select(Result.id).where(Result.project_id == project.id, Result.code == code)
    ):
        errors["code"] = f"{project.code} already has a result {code}"
    for intervention in interventions:
        if intervention.project_id not in (None, project.id):
            errors["interventions"] = f"{intervention.code} belongs to another project"
    if errors:
        raise ValidationError(errors)
    if position is None:
        siblings = [r for r in (parent.children if parent else []) if r.id is not None]
        position = len(siblings)
    result = Result(
        project=project,
        parent=parent,
        level=level,
        code=code,
        title=title,
        description=description,
        assumptions=assumptions,
        position=position,
    )
    result.interventions = list(interventions)
    session.add(result)
    session.flush()
    return result


def create_indicator(
    session: Session,
    result: Result,
    *,
    code: str,
    title: str,
    measure: IndicatorMeasure | str = IndicatorMeasure.UNIT,
    aggregation: IndicatorAggregation | str = IndicatorAggregation.CUMULATIVE,
    ascending: bool = True,
    unit: str | None = None,
    definition: str | None = None,
    baseline_value: Any = None,
    baseline_date: date | None = None,
    baseline_comment: str | None = None,
    means_of_verification: str | None = None,
    data_source: str | None = None,
    collection_frequency: str | None = None,
    responsible_organisation: Organisation | None = None,
    responsible_person: Any = None,
    dimensions: Mapping[str, Sequence[str]] | None = None,
    position: int | None = None,
) -> Indicator:
    """An indicator on a result, with its disaggregation dimensions and categories."""
    code, title = code.strip(), title.strip()
    errors: dict[str, str] = {}
    try:
        measure = IndicatorMeasure(measure)
    except ValueError:
        errors["measure"] = f"unknown measure {measure!r}; use one of {', '.join(IndicatorMeasure)}"
    try:
        aggregation = IndicatorAggregation(aggregation)
    except ValueError:
        errors["aggregation"] = f"unknown aggregation {aggregation!r}; use cumulative or latest"
    if not code:
        errors["code"] = "an indicator needs a code"
    if not title:
        errors["title"] = "an indicator needs a title"
    baseline = _decimal(baseline_value, "baseline_value")
    if measure == IndicatorMeasure.PERCENTAGE and baseline is not None and not 0 <= baseline <= 100:
        errors["baseline_value"] = "a percentage baseline lies between 0 and 100"
    if code and session.scalar(
        select(Indicator.id).where(Indicator.result_id == result.id, Indicator.code == code)
    ):
        errors["code"] = f"result {result.code} already has an indicator {code}"
    if errors:
        raise ValidationError(errors)
    built = [
        _dimension(name, categories, index)
        for index, (name, categories) in enumerate((dimensions or {}).items())
    ]
    indicator = Indicator(
        dimensions=built,
        result=result,
        code=code,
        title=title,
        definition=definition,
        measure=measure,
        aggregation=aggregation,
        ascending=ascending,
        unit=unit,
        baseline_value=baseline,
        baseline_date=baseline_date,
        baseline_comment=baseline_comment,
        means_of_verification=means_of_verification,
        data_source=data_source,
        collection_frequency=collection_frequency,
        responsible_organisation=responsible_organisation,
        responsible_person=responsible_person,
        position=position if position is not None else 0,
    )
    session.add(indicator)
    session.flush()
    return indicator


def _dimension(name: str, categories: Sequence[str], position: int) -> IndicatorDimension:
    name = name.strip()
    names = [c.strip() for c in categories]
    if not name:
        raise ValidationError({"dimensions": "a dimension needs a name"})
    if len(names) < 2 or any(not c for c in names):
        raise ValidationError({"dimensions": f"{name} needs at least two named categories"})
    if len(set(names)) != len(names):
        raise ValidationError({"dimensions": f"{name} lists a category twice"})
    return IndicatorDimension(
        name=name,
        position=position,
        categories=[DimensionCategory(name=c, position=i) for i, c in enumerate(names)],
    )


def add_dimension(
    session: Session, indicator: Indicator, name: str, categories: Sequence[str]
) -> IndicatorDimension:
    """A further disaggregation dimension (country, age group...) on an indicator."""
    if any(d.name == name.strip() for d in indicator.dimensions):
        raise ValidationError({"dimensions": f"{indicator.code} already has a {name} dimension"})
    dimension = _dimension(name, categories, len(indicator.dimensions))
    indicator.dimensions.append(dimension)
    session.flush()
    return dimension


def check_period_dates(project: Project, indicator: Indicator, start: date, end: date) -> None:
    """A period lies inside its project and overlaps none of the indicator's others."""
    check_date_range(start, end)
    if project.start_date and start < project.start_date:
        raise ValidationError(
            {"start_date": f"starts on {start}, before the project ({project.start_date})"}
        )
    if project.end_date and end > project.end_date:
        raise ValidationError(
            {"end_date": f"ends on {end}, after the project ({project.end_date})"}
        )
    for other in indicator.periods:
        if other.start_date <= end and start <= other.end_date:
            raise ValidationError({"start_date": f"overlaps the period {other}"})


def create_period(
    session: Session,
    indicator: Indicator,
    *,
    start_date: date,
    end_date: date,
    target: Any = None,
    targets: Disaggregations | None = None,
    comment: str | None = None,
) -> IndicatorPeriod:
    """A reporting period inside the project, not overlapping the indicator's others."""
    check_period_dates(indicator.result.project, indicator, start_date, end_date)
    total = _decimal(target, "target")
    _check_target(indicator, total, "target")
    # Build every part before attaching anything: a failed check leaves no half-made row.
    rows = _category_targets(indicator, total, targets or {})
    period = IndicatorPeriod(
        indicator=indicator,
        start_date=start_date,
        end_date=end_date,
        target_value=total,
        comment=comment,
        targets=rows,
    )
    session.add(period)
    session.flush()
    return period


def update_period(
    session: Session,
    period: IndicatorPeriod,
    actor: User,
    *,
    target: Any = None,
    targets: Disaggregations | None = None,
    comment: str | None = None,
    reason: str | None = None,
) -> IndicatorPeriod:
    """A manager changes a period's targets or comment; a locked period refuses."""
    _require_manager(actor, "change a period's targets")
    _check_unlocked(period)
    indicator = period.indicator
    total = _decimal(target, "target")
    _check_target(indicator, total, "target")
    rows = _category_targets(indicator, total, targets or {})
    with _audited(session, actor, reason or "targets changed"):
        period.target_value = total
        period.comment = comment
        replace_category_targets(period, rows)
    return period


def replace_category_targets(period: IndicatorPeriod, rows: Sequence[PeriodTarget]) -> None:
    """Give the period these category targets, updating the rows it already has (so an
    unchanged category writes nothing) and dropping categories no longer given."""
    existing = {t.category_id: t for t in period.targets}
    kept = []
    for row in rows:
        current = existing.get(row.category.id)
        if current is None:
            kept.append(row)
        else:
            current.target_value = row.target_value
            kept.append(current)
    period.targets = kept


def _check_target(indicator: Indicator, value: Decimal | None, field: str) -> None:
    if value is None:
        return
    if indicator.measure == IndicatorMeasure.QUALITATIVE:
        raise ValidationError({field: "a qualitative indicator has no numeric target"})
    if indicator.measure == IndicatorMeasure.PERCENTAGE and not 0 <= value <= 100:
        raise ValidationError({field: f"a percentage target lies between 0 and 100, not {value}"})


def _category_targets(
    indicator: Indicator, total: Decimal | None, targets: Disaggregations
) -> list[PeriodTarget]:
    known = _categories(indicator)
    rows: list[PeriodTarget] = []
    for dimension, values in targets.items():
        dimension_sum = Decimal(0)
        for name, raw in values.items():
            field = f"targets.{dimension}.{name}"
            if (dimension, name) not in known:
                raise ValidationError(
                    {field: f"{indicator.code} has no category {dimension}/{name}"}
                )
            value = _decimal(raw, field)
            _check_target(indicator, value, field)
            dimension_sum += value or 0
            rows.append(PeriodTarget(category=known[(dimension, name)], target_value=value))
        if (
            indicator.measure in (IndicatorMeasure.UNIT, IndicatorMeasure.CURRENCY)
            and total is not None
            and dimension_sum > total
        ):
            raise ValidationError(
                {
                    f"targets.{dimension}": f"the {dimension} targets add up to {_plain(dimension_sum)}, more than the total target {_plain(total)}"
                }
            )
    return rows


def lock_period(session: Session, period: IndicatorPeriod, actor: User) -> None:
    """Freeze an approved period: no more updates, edits or target changes."""
    _require_manager(actor, "lock a period")
    if period.locked:
        raise ValidationError({"period": "the period is already locked"})
    statuses = {u.status for u in period.updates}
    if UpdateStatus.APPROVED not in statuses:
        raise ValidationError({"period": "only a period with an approved actual can be locked"})
    waiting = statuses & {UpdateStatus.DRAFT, UpdateStatus.SUBMITTED, UpdateStatus.RETURNED}
    if waiting:
        raise ValidationError(
            {"period": "the period still has updates in draft, submitted or returned"}
        )
    with _audited(session, actor, "period locked"):
        period.locked = True


def unlock_period(session: Session, period: IndicatorPeriod, actor: User, reason: str) -> None:
    _require_manager(actor, "unlock a period")
    if not reason or not reason.strip():
        raise ValidationError({"reason": "say why the period is unlocked"})
    if not period.locked:
        raise ValidationError({"period": "the period is not locked"})
    with _audited(session, actor, f"period unlocked: {reason.strip()}"):
        period.locked = False


# --- reporting and approval ------------------------------------------------------


def _actual_fields(
    indicator: Indicator,
    value: Any,
    numerator: Any,
    denominator: Any,
    narrative: str | None,
    prefix: str = "",
) -> dict[str, Any]:
    """Checked value / numerator / denominator / narrative for the indicator's measure."""
    measure = indicator.measure
    value_, num, den = (
        _decimal(value, f"{prefix}value"),
        _decimal(numerator, f"{prefix}numerator"),
        _decimal(denominator, f"{prefix}denominator"),
    )
    if measure == IndicatorMeasure.QUALITATIVE:
        if not prefix and not (narrative and narrative.strip()):
            raise ValidationError({"narrative": "a qualitative indicator is reported as text"})
        return {"value": None, "numerator": None, "denominator": None}
    if measure == IndicatorMeasure.PERCENTAGE:
        if value_ is not None:
            raise ValidationError(
                {f"{prefix}value": "report a percentage as numerator over denominator"}
            )
        if num is None or den is None:
            raise ValidationError(
                {f"{prefix}numerator": "a percentage needs both a numerator and a denominator"}
            )
        if den <= 0:
            raise ValidationError({f"{prefix}denominator": "the denominator must be above zero"})
        if num < 0:
            raise ValidationError({f"{prefix}numerator": "the numerator cannot be negative"})
        if num > den:
            raise ValidationError(
                {f"{prefix}numerator": f"the numerator ({num}) exceeds the denominator ({den})"}
            )
        return {"value": None, "numerator": num, "denominator": den}
    if num is not None or den is not None:
        raise ValidationError(
            {f"{prefix}value": f"a {measure.label.lower()} indicator takes a value"}
        )
    if value_ is None:
        raise ValidationError({f"{prefix}value": "enter the actual value"})
    if indicator.aggregation == IndicatorAggregation.CUMULATIVE and value_ < 0:
        raise ValidationError(
            {
                f"{prefix}value": "a cumulative indicator adds period values up; they cannot be negative"
            }
        )
    return {"value": value_, "numerator": None, "denominator": None}


def _update_values(
    indicator: Indicator, total: Mapping[str, Any], disaggregations: Disaggregations
) -> list[UpdateValue]:
    """Category actuals, checked against the total: no dimension may exceed it."""
    known = _categories(indicator)
    rows: list[UpdateValue] = []
    for dimension, values in disaggregations.items():
        sums = {"value": Decimal(0), "numerator": Decimal(0), "denominator": Decimal(0)}
        for name, raw in values.items():
            prefix = f"{dimension}.{name}."
            if (dimension, name) not in known:
                raise ValidationError(
                    {f"{dimension}.{name}": f"{indicator.code} has no category {dimension}/{name}"}
                )
            if indicator.measure == IndicatorMeasure.PERCENTAGE:
                numerator, denominator = raw if raw is not None else (None, None)
                fields = _actual_fields(indicator, None, numerator, denominator, None, prefix)
            else:
                fields = _actual_fields(indicator, raw, None, None, None, prefix)
            for key in sums:
                sums[key] += fields[key] or 0
            rows.append(UpdateValue(category=known[(dimension, name)], **fields))
        for key, label in (
            ("value", "value"),
            ("numerator", "numerator"),
            ("denominator", "denominator"),
        ):
            limit = total.get(key)
            if limit is not None and sums[key] > limit:
                raise ValidationError(
                    {
                        dimension: f"the {dimension} {label}s add up to {_plain(sums[key])}, more than the total {_plain(limit)}"
                    }
                )
    return rows


def report_update(
    session: Session,
    period: IndicatorPeriod,
    actor: User,
    *,
    value: Any = None,
    numerator: Any = None,
    denominator: Any = None,
    narrative: str | None = None,
    comment: str | None = None,
    evidence_links: Sequence[str] = (),
    disaggregations: Disaggregations | None = None,
) -> IndicatorUpdate:
    """A partner or manager enters an actual for a period, as a draft."""
    indicator = period.indicator
    _check_may_report(actor, indicator)
    _check_unlocked(period)
    fields = _actual_fields(indicator, value, numerator, denominator, narrative)
    values = _update_values(indicator, fields, disaggregations or {})
    update = IndicatorUpdate(
        period=period,
        values=values,
        status=UpdateStatus.DRAFT,
        narrative=narrative,
        comment=comment,
        evidence_links=_links(evidence_links),
        reported_by=actor.email,
        reporting_organisation_id=actor.organisation_id,
        **fields,
    )
    with _audited(session, actor, "actual reported (draft)"):
        session.add(update)
    return update


def _links(links: Sequence[str]) -> list[str]:
    cleaned = [link.strip() for link in links if link and link.strip()]
    for link in cleaned:
        check_web_address(link, "evidence_links")
    return cleaned


def edit_update(
    session: Session,
    update: IndicatorUpdate,
    actor: User,
    *,
    value: Any = None,
    numerator: Any = None,
    denominator: Any = None,
    narrative: str | None = None,
    comment: str | None = None,
    evidence_links: Sequence[str] | None = None,
    disaggregations: Disaggregations | None = None,
) -> IndicatorUpdate:
    """Change a draft or a returned update; submitted and approved ones are frozen."""
    period = update.period
    _check_may_report(actor, period.indicator)
    _check_unlocked(period)
    if update.status not in (UpdateStatus.DRAFT, UpdateStatus.RETURNED):
        raise ValidationError(
            {"status": f"a {update.status.label.lower()} update cannot be edited"}
        )
    fields = _actual_fields(period.indicator, value, numerator, denominator, narrative)
    new_values = _update_values(period.indicator, fields, disaggregations or {})
    with _audited(session, actor, "actual edited"):
        for key, new in fields.items():
            setattr(update, key, new)
        update.narrative = narrative
        update.comment = comment
        if evidence_links is not None:
            update.evidence_links = _links(evidence_links)
        existing = {v.category_id: v for v in update.values}
        keep: list[UpdateValue] = []
        for row in new_values:
            current = existing.get(row.category.id)
            if current is None:
                keep.append(row)
                continue
            current.value, current.numerator, current.denominator = (
                row.value,
                row.numerator,
                row.denominator,
            )
            keep.append(current)
        update.values = keep
    return update


def submit_update(session: Session, update: IndicatorUpdate, actor: User) -> IndicatorUpdate:
    """Send a draft (or a corrected returned update) to the managers for approval."""
    _check_may_report(actor, update.period.indicator)
    _check_unlocked(update.period)
    if update.status not in (UpdateStatus.DRAFT, UpdateStatus.RETURNED):
        raise ValidationError(
            {
                "status": f"only a draft or returned update can be submitted, not a {update.status.label.lower()} one"
            }
        )
    with _audited(session, actor, "submitted for approval"):
        update.status = UpdateStatus.SUBMITTED
        update.submitted_at = utcnow()
    return update


def approve_update(session: Session, update: IndicatorUpdate, actor: User) -> IndicatorUpdate:
    """A manager approves a submitted update: from now on it counts in progress and reports."""
    _require_manager(actor, "approve an update")
    _check_unlocked(update.period)
    if update.status != UpdateStatus.SUBMITTED:
        raise ValidationError(
            {
                "status": f"only a submitted update can be approved, not a {update.status.label.lower()} one"
            }
        )
    with _audited(session, actor, "approved"):
        update.status = UpdateStatus.APPROVED
        update.reviewed_by = actor.email
        update.reviewed_at = utcnow()
        update.return_reason = None
    return update


def return_update(
    session: Session, update: IndicatorUpdate, actor: User, reason: str
) -> IndicatorUpdate:
    """A manager sends a submitted update back to its reporter, saying why."""
    _require_manager(actor, "return an update")
    _check_unlocked(update.period)
    if not reason or not reason.strip():
        raise ValidationError({"reason": "say why the update goes back, so it can be fixed"})
    if update.status != UpdateStatus.SUBMITTED:
        raise ValidationError(
            {
                "status": f"only a submitted update can be returned, not a {update.status.label.lower()} one"
            }
        )
    with _audited(session, actor, f"returned: {reason.strip()}"):
        update.status = UpdateStatus.RETURNED
        update.reviewed_by = actor.email
        update.reviewed_at = utcnow()
        update.return_reason = reason.strip()
    return update


# --- snapshot for progress -------------------------------------------------------


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many small acyclic objects.

    A large snapshot creates a few hundred thousand tuples and dataclasses; the
    collector would otherwise scan them again and again (half the build time at
    2,000 indicators). Nothing built here forms a cycle, so nothing leaks.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# How much of each indicator the snapshot holds:
# - "periods": every period with its targets and latest approved actual, per category too
#   (indicator tracking table, reports, indicator pages);
# - "series": each period's total target and actual, no disaggregation (logframe page:
#   progress, status and sparklines);
# - "figures": no periods; the figures of the totals and of each category computed by
#   the database (``coordination progress``).
Detail = Literal["periods", "series", "figures"]


def load_progress_snapshot(
    session: Session,
    project_codes: Sequence[str] | None = None,
    *,
    detail: Detail = "periods",
) -> list[ProjectData]:
    """Plain data for :mod:`coordination.analysis.progress` (see :func:`_load_snapshot`)."""
    with _collector_paused():
        return _load_snapshot(session, project_codes, detail)


def _load_snapshot(
    session: Session, project_codes: Sequence[str] | None, detail: Detail
) -> list[ProjectData]:
    """Plain data for :mod:`coordination.analysis.progress`, in a fixed number of queries.

    With ``detail="periods"``, nine SELECTs whatever the number of indicators:
    projects, results, indicators, categories, periods, category targets, approved
    updates, their category values, and a count of updates still waiting. Only the
    latest approved update of each period becomes its actual. With "series", one
    SELECT of the periods' totals replaces the last five, and neither categories nor
    dimensions are loaded. With "figures", the database reduces the periods of each indicator
    and of each of its categories to a :class:`Series` (one statement), so no period
    row reaches Python. Numbers are cast to floats in SQL: converting tens of thousands
    of Decimals in Python would cost more than the queries.
    """
    # Core execution: plain rows, none of the ORM's per-row bookkeeping.
    connection = session.connection()
    project_query = select(
        Project.id,
        Project.code,
        Project.title,
        Project.start_date,
        Project.end_date,
        Project.currency,
    ).order_by(Project.code)
    if project_codes is not None:
        project_query = project_query.where(Project.code.in_(list(project_codes)))
    projects = connection.execute(project_query).all()
    if project_codes is not None and len(projects) < len(set(project_codes)):
        missing = set(project_codes) - {p.code for p in projects}
        raise NotFound(f"no project with code {', '.join(sorted(missing))}")
    ids = [p.id for p in projects]
    if not ids:
        return []

    results = connection.execute(
        select(
            Result.id,
            Result.project_id,
            Result.parent_id,
            Result.code,
            Result.title,
            Result.level,
            Result.position,
            Result.description,
            Result.assumptions,
        ).where(Result.project_id.in_(ids))
    ).all()
    result_by_id = {r.id: r for r in results}
    indicators = connection.execute(
        select(
            Indicator.id,
            Indicator.result_id,
            Indicator.code,
            Indicator.title,
            Indicator.measure,
            Indicator.aggregation,
            Indicator.ascending,
            Indicator.unit,
            _as_float(Indicator.baseline_value),
            Indicator.position,
        )
        .join(Result, Result.id == Indicator.result_id)
        .where(Result.project_id.in_(ids))
    ).all()
    indicator_scope = select(Indicator.id).join(Result).where(Result.project_id.in_(ids))
    # A "series" snapshot carries no disaggregation, so it needs no categories.
    categories = (
        []
        if detail == "series"
        else connection.execute(
            select(
                DimensionCategory.id,
                DimensionCategory.name,
                _as_float(DimensionCategory.baseline_value),
                IndicatorDimension.indicator_id,
                IndicatorDimension.name.label("dimension"),
            )
            .join(IndicatorDimension)
            .where(IndicatorDimension.indicator_id.in_(indicator_scope))
            .order_by(IndicatorDimension.position, DimensionCategory.position)
        ).all()
    )
    category_key = {c.id: (c.dimension, c.name) for c in categories}
    summarised = detail == "figures"
    series: dict[int, Series] = {}
    category_series: dict[int, dict[tuple[str, str], Series]] = {}
    if summarised:
        if connection.dialect.name == "postgresql":
            # The planner prices the correlated seeks high enough to JIT-compile the
            # reductions, which then costs more than it saves (200 ms of 800).
            connection.exec_driver_sql("SET LOCAL jit = off")
        owners = {c.id: (c.indicator_id, category_key[c.id]) for c in categories}
        series, category_series = _series(connection, indicator_scope, owners)
    per_indicator = detail != "periods"  # pending counts per indicator, not per period
    pending = _pending_by_indicator(connection, indicator_scope) if per_indicator else {}
    if detail == "periods":
        periods_by_indicator = _periods(connection, indicator_scope, category_key)
    elif detail == "series":
        periods_by_indicator = _period_totals(connection, indicator_scope)
    else:
        periods_by_indicator = {}

    dims: dict[int, dict[str, list[str]]] = defaultdict(dict)
    baselines: dict[int, dict[tuple[str, str], float | None]] = defaultdict(dict)
    for c in categories:
        dims[c.indicator_id].setdefault(c.dimension, []).append(c.name)
        baselines[c.indicator_id][(c.dimension, c.name)] = c[2]

    order = _logframe_order(results)
    by_project: dict[int, list[IndicatorData]] = defaultdict(list)
    project_by_id = {p.id: p for p in projects}
    for i in sorted(indicators, key=lambda i: (order[i.result_id], i.position, i.code)):
        result = result_by_id[i.result_id]
        project = project_by_id[result.project_id]
        by_project[result.project_id].append(
            IndicatorData(
                id=i.id,
                code=i.code,
                title=i.title,
                measure=i.measure.value,
                aggregation=i.aggregation.value,
                ascending=i.ascending,
                baseline=i[8],
                periods=tuple(periods_by_indicator.get(i.id, [])),
                dimensions=tuple((d, tuple(c)) for d, c in dims.get(i.id, {}).items()),
                category_baselines=baselines.get(i.id, {}),
                result_code=result.code,
                result_title=result.title,
                level=result.level.value,
                unit=i.unit,
                currency=project.currency,
                project_code=project.code,
                series=series.get(i.id, NO_PERIODS) if summarised else None,
                category_series=category_series.get(i.id, {}) if summarised else None,
                pending=pending.get(i.id, 0) if per_indicator else None,
            )
        )
    results_by_project: dict[int, list[ResultData]] = defaultdict(list)
    for r in sorted(results, key=lambda r: order[r.id]):
        parent = result_by_id.get(r.parent_id) if r.parent_id else None
        results_by_project[r.project_id].append(
            ResultData(
                code=r.code,
                title=r.title,
                level=r.level.value,
                parent_code=parent.code if parent else None,
                position=r.position,
                description=r.description,
                assumptions=r.assumptions,
            )
        )
    return [
        ProjectData(
            code=p.code,
            title=p.title,
            start=p.start_date,
            end=p.end_date,
            currency=p.currency,
            results=tuple(results_by_project.get(p.id, [])),
            indicators=tuple(by_project.get(p.id, [])),
        )
        for p in projects
    ]


def _periods(
    connection: Any, indicator_scope: Any, category_key: Mapping[int, tuple[str, str]]
) -> dict[int, list[PeriodData]]:
    """Every period with its targets and latest approved actual, per category too."""
    periods = connection.execute(
        select(
            IndicatorPeriod.id,
            IndicatorPeriod.indicator_id,
            IndicatorPeriod.start_date,
            IndicatorPeriod.end_date,
            _as_float(IndicatorPeriod.target_value),
            IndicatorPeriod.comment,
            IndicatorPeriod.locked,
        )
        .where(IndicatorPeriod.indicator_id.in_(indicator_scope))
        .order_by(IndicatorPeriod.start_date)
    ).all()
    period_scope = select(IndicatorPeriod.id).where(
        IndicatorPeriod.indicator_id.in_(indicator_scope)
    )
    targets = connection.execute(
        select(
            PeriodTarget.period_id,
            PeriodTarget.category_id,
            _as_float(PeriodTarget.target_value),
        ).where(PeriodTarget.period_id.in_(period_scope))
    ).all()
    approved_scope = select(IndicatorUpdate.id).where(
        IndicatorUpdate.period_id.in_(period_scope),
        IndicatorUpdate.status == UpdateStatus.APPROVED,
    )
    # Ordered so that the last row of each period is its latest approval, the one
    # _counting_update() picks.
    approved = connection.execute(
        select(
            IndicatorUpdate.period_id,
            IndicatorUpdate.id,
            _as_float(IndicatorUpdate.value),
            _as_float(IndicatorUpdate.numerator),
            _as_float(IndicatorUpdate.denominator),
            IndicatorUpdate.narrative,
            IndicatorUpdate.comment,
        )
        .where(IndicatorUpdate.id.in_(approved_scope))
        .order_by(
            IndicatorUpdate.period_id,
            IndicatorUpdate.reviewed_at,
            IndicatorUpdate.id,
        )
    ).all()
    approved_values = connection.execute(
        select(
            UpdateValue.update_id,
            UpdateValue.category_id,
            _as_float(UpdateValue.value),
            _as_float(UpdateValue.numerator),
            _as_float(UpdateValue.denominator),
        ).where(UpdateValue.update_id.in_(approved_scope))
    ).all()
    waiting = connection.execute(
        select(IndicatorUpdate.period_id, func.count())
        .where(
            IndicatorUpdate.period_id.in_(period_scope),
            IndicatorUpdate.status != UpdateStatus.APPROVED,
        )
        .group_by(IndicatorUpdate.period_id)
    ).all()

    period_targets: dict[int, dict[tuple[str, str], float | None]] = defaultdict(dict)
    for period_id, category_id, target in targets:
        period_targets[period_id][category_key[category_id]] = target
    latest = {row[0]: row for row in approved}  # the last approval of a period wins
    wanted = {row[1] for row in latest.values()}
    category_actuals: dict[int, dict[tuple[str, str], Actual]] = defaultdict(dict)
    for update_id, category_id, value, numerator, denominator in approved_values:
        if update_id in wanted:
            category_actuals[update_id][category_key[category_id]] = Actual(
                value, numerator, denominator
            )
    pending = dict(waiting)

    periods_by_indicator: dict[int, list[PeriodData]] = defaultdict(list)
    empty: dict[tuple[str, str], Any] = {}
    for period_id, indicator_id, start, end, target, comment, locked in periods:
        best = latest.get(period_id)
        periods_by_indicator[indicator_id].append(
            PeriodData(
                start=start,
                end=end,
                target=target,
                actual=Actual(best[2], best[3], best[4]) if best is not None else None,
                category_targets=period_targets.get(period_id, empty),
                category_actuals=category_actuals.get(best[1], empty) if best else empty,
                narrative=best[5] if best is not None else None,
                comment=comment,
                update_comment=best[6] if best is not None else None,
                pending=pending.get(period_id, 0),
                locked=locked,
            )
        )
    return periods_by_indicator


def _counting_update(period_id: Any) -> Any:
    """The approved update that counts for a period: the last one reviewed.

    A correlated subquery answered by one seek in ``ix_indicator_update_counting``:
    no sort, where a window over all updates would sort them all. (Approving always
    stamps ``reviewed_at``; the id breaks ties.)
    """
    return (
        select(IndicatorUpdate.id)
        .where(
            IndicatorUpdate.period_id == period_id,
            IndicatorUpdate.status == UpdateStatus.APPROVED,
        )
        .order_by(IndicatorUpdate.reviewed_at.desc(), IndicatorUpdate.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def _period_actuals(indicator_scope: Any) -> Any:
    """One row per period: its indicator and measure, start date, total target and
    the id of the approved update that counts (NULL when none)."""
    return (
        select(
            IndicatorPeriod.id.label("period_id"),
            IndicatorPeriod.indicator_id,
            Indicator.measure,
            IndicatorPeriod.start_date,
            IndicatorPeriod.target_value.label("target"),
            _counting_update(IndicatorPeriod.id).label("update_id"),
        )
        .join(Indicator, Indicator.id == IndicatorPeriod.indicator_id)
        .where(IndicatorPeriod.indicator_id.in_(indicator_scope))
        # Evaluated once per statement, not once per row that reads it.
        .cte("period_actuals")
        .prefix_with("MATERIALIZED")
    )


def _period_totals(connection: Any, indicator_scope: Any) -> dict[int, list[PeriodData]]:
    """Each period's total target and latest approved actual (for sparklines)."""
    p = _period_actuals(indicator_scope).c
    rows = connection.execute(
        select(
            p.indicator_id,
            p.start_date,
            IndicatorPeriod.end_date,
            _as_float(p.target),
            IndicatorUpdate.id,
            _as_float(IndicatorUpdate.value),
            _as_float(IndicatorUpdate.numerator),
            _as_float(IndicatorUpdate.denominator),
        )
        .join(IndicatorPeriod, IndicatorPeriod.id == p.period_id)
        .outerjoin(IndicatorUpdate, IndicatorUpdate.id == p.update_id)
        .order_by(p.indicator_id, p.start_date)
    ).all()
    periods: dict[int, list[PeriodData]] = defaultdict(list)
    for indicator_id, start, end, target, update_id, value, numerator, denominator in rows:
        actual = Actual(value, numerator, denominator) if update_id is not None else None
        periods[indicator_id].append(PeriodData(start, end, target, actual))
    return periods


def _series(
    connection: Any,
    indicator_scope: Any,
    categories: Mapping[int, tuple[int, tuple[str, str]]],
) -> tuple[dict[int, Series], dict[int, dict[tuple[str, str], Series]]]:
    """The :class:`Series` of each indicator's totals and of each of its categories.

    The same reduction as :func:`coordination.analysis.progress.summarise`, done by the
    database: sums, counts and the dates of the last target and of the last actual
    that counts, grouped by indicator (or category); then the values on those dates,
    found by index. One row per indicator and category reaches Python instead of one
    per period and category (tests compare both ways on every measure and aggregation).
    Category targets and category actuals are reduced separately, each driven by its
    own table, so no period x category row is ever built. One statement: the three
    reductions share the periods' counting updates, computed once. ``categories``
    maps a category's id to its indicator's id and its (dimension, name).
    """
    p = _period_actuals(indicator_scope)
    at_target, at_latest = aliased(IndicatorPeriod), aliased(IndicatorPeriod)
    nothing = null()

    update, latest = aliased(IndicatorUpdate), aliased(IndicatorUpdate)
    totals = _reduce(
        select(
            p.c.indicator_id,
            p.c.measure,
            p.c.start_date,
            p.c.target,
            update.id.label("actual_id"),
            update.value,
            update.numerator,
            update.denominator,
        ).outerjoin(update, update.id == p.c.update_id),
        ["indicator_id"],
    ).subquery("totals")
    t = totals.c
    total_rows = (
        select(
            literal(_TOTAL).label("part"),
            t.indicator_id.label("key"),
            *_target_sums(totals),
            _as_float(at_target.target_value),
            *_actual_sums(totals),
            _as_float(at_latest.target_value),
            _as_float(latest.value),
            _as_float(latest.numerator),
            _as_float(latest.denominator),
        )
        .outerjoin(at_target, _on_date(at_target, t.indicator_id, t.target_date))
        .outerjoin(at_latest, _on_date(at_latest, t.indicator_id, t.latest_date))
        .outerjoin(latest, latest.id == _counting_update(at_latest.id))
    )

    # Category targets: driven by the targets set, one seek per period.
    targets = _reduce(
        select(
            p.c.indicator_id,
            PeriodTarget.category_id,
            p.c.measure,
            p.c.start_date,
            PeriodTarget.target_value.label("target"),
        ).join(PeriodTarget, PeriodTarget.period_id == p.c.period_id),
        ["indicator_id", "category_id"],
        actuals=False,
    ).subquery("category_targets")
    last = aliased(PeriodTarget)
    c = targets.c
    target_rows = (
        select(
            literal(_TARGETS).label("part"),
            c.category_id,
            *_target_sums(targets),
            _as_float(last.target_value),
            *[nothing] * 9,
        )
        .outerjoin(at_target, _on_date(at_target, c.indicator_id, c.target_date))
        .outerjoin(last, and_(last.period_id == at_target.id, last.category_id == c.category_id))
    )

    # Category actuals: driven by the values of the updates that count.
    actuals = _reduce(
        select(
            p.c.indicator_id,
            UpdateValue.category_id,
            p.c.measure,
            p.c.start_date,
            UpdateValue.update_id.label("actual_id"),
            UpdateValue.value,
            UpdateValue.numerator,
            UpdateValue.denominator,
        ).join(UpdateValue, UpdateValue.update_id == p.c.update_id),
        ["indicator_id", "category_id"],
        targets=False,
    ).subquery("category_actuals")
    latest_target, latest_value = aliased(PeriodTarget), aliased(UpdateValue)
    a = actuals.c
    actual_rows = (
        select(
            literal(_ACTUALS).label("part"),
            a.category_id,
            *[nothing] * 2,
            *_actual_sums(actuals),
            _as_float(latest_target.target_value),
            _as_float(latest_value.value),
            _as_float(latest_value.numerator),
            _as_float(latest_value.denominator),
        )
        .outerjoin(at_latest, _on_date(at_latest, a.indicator_id, a.latest_date))
        .outerjoin(
            latest_target,
            and_(
                latest_target.period_id == at_latest.id,
                latest_target.category_id == a.category_id,
            ),
        )
        .outerjoin(
            latest_value,
            and_(
                latest_value.update_id == _counting_update(at_latest.id),
                latest_value.category_id == a.category_id,
            ),
        )
    )

    series: dict[int, Series] = {}
    target_part: dict[int, Sequence[Any]] = {}
    actual_part: dict[int, Sequence[Any]] = {}
    for part, key, *fields in connection.execute(union_all(total_rows, target_rows, actual_rows)):
        if part == _TOTAL:
            series[key] = Series(*fields)
        elif part == _TARGETS:
            target_part[key] = fields[:2]
        else:
            actual_part[key] = fields[2:]
    category_series: dict[int, dict[tuple[str, str], Series]] = defaultdict(dict)
    for category_id in target_part.keys() | actual_part.keys():
        indicator_id, key = categories[category_id]
        category_series[indicator_id][key] = Series(
            *target_part.get(category_id, _NO_TARGETS),
            *actual_part.get(category_id, _NO_ACTUALS),
        )
    return series, category_series


_TOTAL, _TARGETS, _ACTUALS = 0, 1, 2  # the parts of _series()'s statement
# A Series' fields in order: target_sum and last_target first, then the actuals' fields.
_NO_TARGETS = astuple(NO_PERIODS)[:2]
_NO_ACTUALS = astuple(NO_PERIODS)[2:]


def _on_date(period: Any, indicator_id: Any, start_date: Any) -> Any:
    """Join condition: the period of ``indicator_id`` that starts on ``start_date``."""
    return and_(period.indicator_id == indicator_id, period.start_date == start_date)


def _reduce(rows: Any, keys: list[str], *, targets: bool = True, actuals: bool = True) -> Any:
    """Period ``rows`` grouped by ``keys``: sums and counts, with two dates, that of the
    last period with a target and that of the last period whose actual counts.

    ``rows`` has measure and start_date; target when ``targets``; actual_id (NULL
    without an approved actual), value, numerator and denominator when ``actuals``.
    """
    r = rows.selected_columns
    columns = []
    if targets:
        columns += [
            func.sum(r.target).label("target_sum"),
            func.max(case((r.target.is_not(None), r.start_date))).label("target_date"),
        ]
    if actuals:
        # An actual counts when it has a value; a percentage, when it can be computed.
        counts = case(
            (
                r.measure == IndicatorMeasure.PERCENTAGE,
                case((and_(r.numerator.is_not(None), func.coalesce(r.denominator, 0) != 0), 1)),
            ),
            (r.value.is_not(None), 1),
        )

        def counted(column: Any) -> Any:
            return func.coalesce(func.sum(case((counts == 1, func.coalesce(column, 0)))), 0)

        columns += [
            func.count(r.actual_id).label("actuals"),
            func.count(counts).label("reported"),
            counted(r.value).label("value_sum"),
            counted(r.numerator).label("numerator_sum"),
            counted(r.denominator).label("denominator_sum"),
            func.max(case((counts == 1, r.start_date))).label("latest_date"),
        ]
    group = [r[key] for key in keys]
    return rows.with_only_columns(*group, *columns, maintain_column_froms=True).group_by(*group)


def _target_sums(reduced: Any) -> list[Any]:
    return [_as_float(reduced.c.target_sum)]


def _actual_sums(reduced: Any) -> list[Any]:
    c = reduced.c
    return [
        c.actuals,
        c.reported,
        _as_float(c.value_sum),
        _as_float(c.numerator_sum),
        _as_float(c.denominator_sum),
    ]


def _pending_by_indicator(connection: Any, indicator_scope: Any) -> dict[int, int]:
    """Updates in draft, submitted or returned, per indicator."""
    rows = connection.execute(
        select(IndicatorPeriod.indicator_id, func.count())
        .join(IndicatorUpdate, IndicatorUpdate.period_id == IndicatorPeriod.id)
        .where(
            IndicatorPeriod.indicator_id.in_(indicator_scope),
            IndicatorUpdate.status != UpdateStatus.APPROVED,
        )
        .group_by(IndicatorPeriod.indicator_id)
    ).all()
    return dict(rows)


def _as_float(column: Any) -> Any:
    return cast(column, Float)


def _logframe_order(results: Sequence[Any]) -> dict[int, int]:
    """Depth-first order of results: each result right after its parent, by position."""
    children: dict[int | None, list[Any]] = defaultdict(list)
    ids = {r.id for r in results}
    for r in results:
        children[r.parent_id if r.parent_id in ids else None].append(r)
    order: dict[int, int] = {}

    def walk(parent: int | None) -> None:
        for r in sorted(children.get(parent, []), key=lambda r: (r.position, r.code)):
            if r.id not in order:
                order[r.id] = len(order)
                walk(r.id)

    walk(None)
    for r in results:  # anything left in a cycle goes last
        order.setdefault(r.id, len(order))
    return order


# --- demo / import loader --------------------------------------------------------


def load_logframe(session: Session, data: Mapping[str, Any]) -> Project:
    """Upsert a logframe from plain data (``fixtures/demo/logframe.yaml``).

    Results match on (project, code), indicators on (result, code), periods on
    (indicator, start date): running it twice changes nothing. Actuals in the data
    become updates in the state they name (``approved``, ``submitted``, ``draft``)
    when the period has none yet.
    """
    project_data = data["project"]
    project = session.scalars(select(Project).where(Project.code == project_data["code"])).first()
    if project is None:
        project = Project(
            code=project_data["code"],
            title=project_data["title"],
            start_date=project_data.get("start_date"),
            end_date=project_data.get("end_date"),
            currency=project_data.get("currency"),
            description=project_data.get("description"),
        )
        session.add(project)
        session.flush()
    reporter = data.get("reported_by", "demo@coordination.example")
    organisations = {o.acronym: o for o in session.scalars(select(Organisation))}
    existing = {
        r.code: r for r in session.scalars(select(Result).where(Result.project_id == project.id))
    }

    def load(node: Mapping[str, Any], parent: Result | None, position: int) -> None:
        result = existing.get(node["code"])
        if result is None:
            result = create_result(
                session,
                project,
                code=node["code"],
                title=node["title"],
                level=node["level"],
                parent=parent,
                description=node.get("description"),
                assumptions=node.get("assumptions"),
                position=position,
            )
            existing[result.code] = result
        else:
            for key in ("description", "assumptions"):
                if node.get(key) and not getattr(result, key):
                    setattr(result, key, node[key])
            if result.parent_id is None and parent is not None and result.level != ResultLevel.GOAL:
                result.parent = parent
        for index, spec in enumerate(node.get("indicators", [])):
            _load_indicator(session, result, spec, index, organisations, reporter)
        for index, child in enumerate(node.get("children", [])):
            load(child, result, index)

    for index, node in enumerate(data.get("results", [])):
        load(node, None, index)
    session.flush()
    return project


def _load_indicator(
    session: Session,
    result: Result,
    spec: Mapping[str, Any],
    position: int,
    organisations: Mapping[str, Organisation],
    reporter: str,
) -> None:
    indicator = next((i for i in result.indicators if i.code == spec["code"]), None)
    if indicator is None:
        baseline = spec.get("baseline") or {}
        indicator = create_indicator(
            session,
            result,
            code=spec["code"],
            title=spec["title"],
            definition=spec.get("definition"),
            measure=spec.get("measure", "unit"),
            aggregation=spec.get("aggregation", "cumulative"),
            ascending=spec.get("ascending", True),
            unit=spec.get("unit"),
            baseline_value=baseline.get("value"),
            baseline_date=baseline.get("date"),
            baseline_comment=baseline.get("comment"),
            means_of_verification=spec.get("means_of_verification"),
            data_source=spec.get("data_source"),
            collection_frequency=spec.get("collection_frequency"),
            responsible_organisation=organisations.get(spec.get("responsible_organisation", "")),
            dimensions=spec.get("dimensions"),
            position=position,
        )
    periods = {p.start_date: p for p in indicator.periods}
    for period_spec in spec.get("periods", []):
        period = periods.get(period_spec["start"])
        if period is None:
            period = create_period(
                session,
                indicator,
                start_date=period_spec["start"],
                end_date=period_spec["end"],
                target=period_spec.get("target"),
                targets=period_spec.get("targets"),
                comment=period_spec.get("comment"),
            )
            periods[period.start_date] = period
        actual = period_spec.get("actual")
        if actual is None or period.updates:
            continue
        fields = _actual_fields(
            indicator,
            actual.get("value"),
            actual.get("numerator"),
            actual.get("denominator"),
            actual.get("narrative"),
        )
        disaggregations = {
            dim: {name: tuple(v) if isinstance(v, list) else v for name, v in values.items()}
            for dim, values in (actual.get("disaggregations") or {}).items()
        }
        status = UpdateStatus(actual.get("status", "approved"))
        now = utcnow()
        values = _update_values(indicator, fields, disaggregations)
        update = IndicatorUpdate(
            period=period,
            values=values,
            status=status,
            narrative=actual.get("narrative"),
            comment=actual.get("comment"),
            evidence_links=_links(actual.get("evidence_links", [])),
            reported_by=reporter,
            reporting_organisation_id=indicator.responsible_organisation_id,
            submitted_at=now if status != UpdateStatus.DRAFT else None,
            reviewed_by=reporter
            if status in (UpdateStatus.APPROVED, UpdateStatus.RETURNED)
            else None,
            reviewed_at=now if status in (UpdateStatus.APPROVED, UpdateStatus.RETURNED) else None,
            return_reason=actual.get("return_reason"),
            **fields,
        )
        session.add(update)
        if actual.get("lock") and status == UpdateStatus.APPROVED:
            period.locked = True
    session.flush()
