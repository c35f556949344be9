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

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from coordination.db import utcnow
from coordination.errors import ValidationError
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
from coordination.services.progress_snapshot import Detail, load_progress_snapshot
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
