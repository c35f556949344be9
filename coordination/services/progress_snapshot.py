"""Progress snapshots: the plain data :mod:`coordination.analysis.progress` reads.

A snapshot is loaded in a fixed number of statements, whatever the number of
indicators (see :func:`load_progress_snapshot`). What the progress dashboard and the
logframe need of each indicator (its figures reduced from the periods, its points over
time, the updates waiting) is kept in ``indicator_progress_cache``: read with the
indicators themselves, and computed by the database (then stored) only for indicators
changed since (:func:`coordination.models.results._mark_progress_stale` marks them in
the same transaction as the change).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import astuple, dataclass
from datetime import date
from functools import partial
from typing import Any, Literal

from sqlalchemy import (
    Connection,
    Float,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from coordination.analysis.iptt import indicator_series
from coordination.analysis.progress import (
    NO_PERIODS,
    Actual,
    IndicatorData,
    PeriodData,
    ProjectData,
    ResultData,
    Series,
    SeriesPoint,
)
from coordination.collector import collector_paused
from coordination.errors import NotFound
from coordination.models import (
    DimensionCategory,
    Indicator,
    IndicatorDimension,
    IndicatorPeriod,
    IndicatorUpdate,
    PeriodTarget,
    Project,
    Result,
    UpdateValue,
)
from coordination.models.results import indicator_progress_cache
from coordination.services._derived import store_derived
from coordination.vocab import IndicatorMeasure, UpdateStatus

__all__ = ["Detail", "load_progress_snapshot"]


# How much of each indicator the snapshot holds:
# - "periods": every period with its targets and latest approved actual, per category too
#   (indicator tracking table, reports, indicator pages);
# - "series": no periods and no disaggregation; the figures of the totals and the points
#   over time (logframe page: progress, status and sparklines);
# - "figures": no periods; the figures of the totals and of each category
#   (``coordination progress``).
Detail = Literal["periods", "series", "figures"]


def load_progress_snapshot(
    session: Session,
    project_codes: Sequence[str] | None = None,
    *,
    detail: Detail = "periods",
) -> list[ProjectData]:
    """Plain data for :mod:`coordination.analysis.progress` (see :func:`_load_snapshot`)."""
    with collector_paused():
        return _load_snapshot(session, project_codes, detail)


def _load_snapshot(
    session: Session, project_codes: Sequence[str] | None, detail: Detail
) -> list[ProjectData]:
    """Plain data for :mod:`coordination.analysis.progress`, in a fixed number of queries.

    With ``detail="periods"``, nine SELECTs whatever the number of indicators:
    projects, results, indicators, categories, periods, category targets, approved
    updates, their category values, and a count of updates still waiting. Only the
    latest approved update of each period becomes its actual. With "series" and
    "figures", each indicator's stored :class:`_Figures` come with the indicator, so no
    period row reaches Python (three more statements, and a write, compute and store
    those of indicators changed since they were stored): the reduced :class:`Series` of
    the totals, and with "figures" of each category, with "series" the points over time
    (and no categories are loaded). Numbers are cast to floats in SQL: converting tens of
    thousands of Decimals in Python would cost more than the queries.
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
    cached = detail != "periods"
    cache = indicator_progress_cache.c
    indicator_query = (
        select(
            Indicator.id,
            Indicator.result_id,
            Indicator.code,
            Indicator.title,
            Indicator.measure,
            Indicator.aggregation,
            Indicator.ascending,
            Indicator.unit,
            _as_float(Indicator.baseline_value).label("baseline"),
            Indicator.position,
            *([cache.revision, cache.payload] if cached else []),
            *([cache.points] if detail == "series" else []),
        )
        .join(Result, Result.id == Indicator.result_id)
        .where(Result.project_id.in_(ids))
    )
    if cached:
        indicator_query = indicator_query.outerjoin(
            indicator_progress_cache, cache.indicator_id == Indicator.id
        )
    indicators = connection.execute(indicator_query).all()
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
    figures = _cached_figures(session, indicators, indicator_scope) if cached else {}
    if detail == "periods":
        periods_by_indicator = _periods(connection, indicator_scope, category_key)
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
        found = figures.get(i.id)
        by_project[result.project_id].append(
            IndicatorData(
                id=i.id,
                code=i.code,
                title=i.title,
                measure=i.measure.value,
                aggregation=i.aggregation.value,
                ascending=i.ascending,
                baseline=i.baseline,
                periods=tuple(periods_by_indicator.get(i.id, [])),
                dimensions=tuple((d, tuple(c)) for d, c in dims.get(i.id, {}).items()),
                category_baselines=baselines.get(i.id, {}),
                result_code=result.code,
                result_title=result.title,
                level=result.level.value,
                unit=i.unit,
                currency=project.currency,
                project_code=project.code,
                series=found.series if found else None,
                category_series=(
                    {
                        category_key[category]: series
                        for category, series in found.categories.items()
                        if category in category_key  # one deleted since: stale anyway
                    }
                    if detail == "figures" and found
                    else None
                ),
                pending=found.pending if found else None,
                points=tuple(found.points) if detail == "series" and found else None,
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


# --- each indicator's cached figures ----------------------------------------------


@dataclass(frozen=True)
class _Figures:
    """What the dashboard and the logframe need of one indicator, without its periods'
    rows: the reduced series of its totals and of each category (by category id), the
    updates waiting, and its points over time (what a sparkline draws).

    Stored as two JSON texts, ``payload`` and ``points``, so that a snapshot that
    draws nothing neither reads nor decodes the points.
    """

    series: Series
    categories: Mapping[int, Series]
    pending: int
    points: Sequence[SeriesPoint] = ()

    def encode(self) -> tuple[str, str]:
        payload = {
            "series": astuple(self.series),
            "categories": {str(c): astuple(s) for c, s in self.categories.items()},
            "pending": self.pending,
        }
        points = [[p.start.isoformat(), p.end.isoformat(), p.target, p.actual] for p in self.points]
        return _compact(payload), _compact(points)

    @classmethod
    def decode(cls, payload: str, points: str | None) -> _Figures:
        data = json.loads(payload)
        return cls(
            series=Series(*data["series"]),
            categories={int(c): Series(*s) for c, s in data["categories"].items()},
            pending=data["pending"],
            points=()
            if points is None
            else [
                SeriesPoint(date.fromisoformat(start), date.fromisoformat(end), target, actual)
                for start, end, target, actual in json.loads(points)
            ],
        )


def _compact(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"))


def _cached_figures(
    session: Session, indicators: Sequence[Any], indicator_scope: Any
) -> dict[int, _Figures]:
    """Each indicator's figures: stored ones as read, the others computed and stored.

    ``indicators`` are rows with ``id``, ``revision`` and ``payload`` (NULL when there
    is no row yet or a change made it stale), and ``points`` when they are wanted.
    """
    figures: dict[int, _Figures] = {}
    stale: dict[int, int | None] = {}
    for row in indicators:
        if row.payload is None:
            stale[row.id] = row.revision
        else:
            figures[row.id] = _Figures.decode(row.payload, getattr(row, "points", None))
    if not stale:
        return figures
    # A few changed indicators are named; many are computed with the rest (a list of
    # thousands of ids would cost more, and could pass SQLite's parameter limit).
    scope = list(stale) if len(stale) <= _NAMED_AT_MOST else indicator_scope
    computed = _compute_figures(session.connection(), scope, indicators)
    for indicator_id in stale:
        figures[indicator_id] = computed.get(indicator_id, _NO_FIGURES)
    # In id order, as writers mark them: two transactions taking row locks in opposite
    # orders on PostgreSQL could deadlock.
    texts = [
        (indicator_id, revision, *figures[indicator_id].encode())
        for indicator_id, revision in sorted(stale.items())
    ]
    store_derived(session, partial(_store_figures, texts), what="indicator figures")
    return figures


_NO_FIGURES = _Figures(NO_PERIODS, {}, 0)
_NAMED_AT_MOST = 500


def _compute_figures(
    connection: Connection, indicator_scope: Any, indicators: Sequence[Any]
) -> dict[int, _Figures]:
    """The figures of the indicators in ``indicator_scope`` (a query or a list of ids),
    computed by the database in three statements; ``indicators`` are rows with ``id``,
    ``measure`` and ``aggregation`` (the rules of their points over time)."""
    if connection.dialect.name == "postgresql":
        # The planner prices the correlated seeks high enough to JIT-compile the
        # reductions, which then costs more than it saves (200 ms of 800).
        connection.exec_driver_sql("SET LOCAL jit = off")
    series, category_series = _series(connection, indicator_scope)
    periods = _period_totals(connection, indicator_scope)
    pending = _pending_by_indicator(connection, indicator_scope)
    rules = {i.id: (i.measure.value, i.aggregation.value) for i in indicators}
    figures = {}
    for indicator_id in series.keys() | periods.keys() | pending.keys():
        measure, aggregation = rules[indicator_id]
        shape = IndicatorData(
            code="",
            title="",
            measure=measure,
            aggregation=aggregation,
            periods=tuple(periods.get(indicator_id, ())),
        )
        figures[indicator_id] = _Figures(
            series=series.get(indicator_id, NO_PERIODS),
            categories=category_series.get(indicator_id, {}),
            pending=pending.get(indicator_id, 0),
            points=indicator_series(shape),
        )
    return figures


def _store_figures(
    texts: Sequence[tuple[int, int | None, str, str]], connection: Connection
) -> None:
    """Store figures computed at the revisions read; where a change came in between
    (the revision moved, or a row appeared), store nothing: the next reader computes."""
    table = indicator_progress_cache
    c = table.c
    fresh = [
        {"indicator_id": i, "revision": 0, "payload": payload, "points": points}
        for i, revision, payload, points in texts
        if revision is None
    ]
    if fresh:
        module: Any = postgresql if connection.dialect.name == "postgresql" else sqlite
        connection.execute(module.insert(table).on_conflict_do_nothing(), fresh)
    stale = [
        {"key": i, "seen": revision, "data": payload, "over_time": points}
        for i, revision, payload, points in texts
        if revision is not None
    ]
    if stale:
        connection.execute(
            table.update()
            .where(c.indicator_id == bindparam("key"), c.revision == bindparam("seen"))
            .values(payload=bindparam("data"), points=bindparam("over_time")),
            stale,
        )


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
    connection: Any, indicator_scope: Any
) -> tuple[dict[int, Series], dict[int, dict[int, Series]]]:
    """The :class:`Series` of each indicator's totals and of each of its categories.

    The same reduction as :func:`coordination.analysis.progress.summarise`, done by the
    database: sums, counts and the dates of the last target and of the last actual
    that counts, grouped by indicator (or category); then the values on those dates,
    found by index. One row per indicator and category reaches Python instead of one
    per period and category (tests compare both ways on every measure and aggregation).
    Category targets and category actuals are reduced separately, each driven by its
    own table, so no period x category row is ever built. One statement: the three
    reductions share the periods' counting updates, computed once. Category series
    come by indicator, then by category id.
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
            t.indicator_id.label("owner"),
            nothing.label("category"),
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
            c.indicator_id,
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
            a.indicator_id,
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
    target_part: dict[tuple[int, int], Sequence[Any]] = {}
    actual_part: dict[tuple[int, int], Sequence[Any]] = {}
    statement = union_all(total_rows, target_rows, actual_rows)
    for part, indicator_id, category_id, *fields in connection.execute(statement):
        if part == _TOTAL:
            series[indicator_id] = Series(*fields)
        elif part == _TARGETS:
            target_part[indicator_id, category_id] = fields[:2]
        else:
            actual_part[indicator_id, category_id] = fields[2:]
    category_series: dict[int, dict[int, Series]] = defaultdict(dict)
    for key in target_part.keys() | actual_part.keys():
        indicator_id, category_id = key
        category_series[indicator_id][category_id] = Series(
            *target_part.get(key, _NO_TARGETS),
            *actual_part.get(key, _NO_ACTUALS),
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
