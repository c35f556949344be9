"""Indicator progress, status and roll-ups: pure functions over a plain snapshot.

The snapshot (:class:`ProjectData` and friends) holds only *approved* actuals; the
loader in :mod:`coordination.services.results` builds it with a fixed number of
queries. Everything here is arithmetic on frozen dataclasses.

The figures of a series of periods depend only on a few sums and on its last
values: :class:`Series`. :func:`summarise` computes one from periods; the loader can
instead compute it in SQL (one row per indicator and per category instead of one
per period), and the rules below then apply unchanged to either.

Rules
-----
Figures of an indicator (``indicator_figures``):

- cumulative, units or currency: actual = sum of the approved period actuals,
  target = sum of all period targets (the life-of-project target).
- cumulative, percentage: actual = 100 x (sum of numerators) / (sum of
  denominators), never an average of period percentages; target = the last
  period's target (a percentage is a level, it cannot be summed).
- latest value: actual and target of the latest period that has an approved actual.
- qualitative: no figures, progress ``None``.

Progress = (actual - baseline) / (target - baseline); a descending indicator has a
target below its baseline, so the same formula gives its share of the way down.
``None`` when data are missing or target equals baseline.

Status compares progress with the progress expected by now: the share of the
project's time elapsed for cumulative indicators, 1 for latest-value indicators
(their target is the one of the period the actual belongs to, which is already
due). ``progress >= on_track x expected`` is on track, ``>= at_risk x expected``
at risk, anything lower off track; see :class:`Thresholds`.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

__all__ = [
    "Actual",
    "CategoryProgress",
    "Figures",
    "IndicatorData",
    "IndicatorProgress",
    "PeriodData",
    "ProjectData",
    "ResultData",
    "Series",
    "SeriesPoint",
    "Thresholds",
    "elapsed_share",
    "indicator_figures",
    "indicator_progress",
    "progress_ratio",
    "project_progress",
    "rollup_programme",
    "rollup_results",
    "status_for",
    "summarise",
]

ON_TRACK, AT_RISK, OFF_TRACK, NO_DATA = "on track", "at risk", "off track", "no data"
STATUSES = (ON_TRACK, AT_RISK, OFF_TRACK, NO_DATA)
_SEVERITY = {ON_TRACK: 0, AT_RISK: 1, OFF_TRACK: 2, NO_DATA: 3}

Category = tuple[str, str]  # (dimension, category)


@dataclass(frozen=True)
class Actual:
    """An approved actual: a value, or a numerator over a denominator for percentages."""

    value: float | None = None
    numerator: float | None = None
    denominator: float | None = None


@dataclass(frozen=True)
class PeriodData:
    start: date
    end: date
    target: float | None = None
    actual: Actual | None = None  # the latest approved update, if any
    category_targets: Mapping[Category, float | None] = field(default_factory=dict)
    category_actuals: Mapping[Category, Actual] = field(default_factory=dict)
    narrative: str | None = None
    comment: str | None = None  # the period's own comment
    update_comment: str | None = None  # the reporter's comment on the approved actual
    pending: int = 0  # updates still in draft or waiting for approval
    locked: bool = False


@dataclass(frozen=True)
class Series:
    """What progress needs to know of a series of (target, approved actual) pairs.

    An actual *counts* (``reported``) when it has a value; for a percentage, when it
    has a numerator and a non-zero denominator. The ``latest_*`` fields belong to the
    last period, in period order, whose actual counts; ``last_target`` to the last
    period that has a target.
    """

    target_sum: float | None = None  # None when no period has a target
    last_target: float | None = None
    actuals: int = 0  # periods with an approved actual, counting or not
    reported: int = 0
    value_sum: float = 0.0
    numerator_sum: float = 0.0
    denominator_sum: float = 0.0
    latest_target: float | None = None
    latest_value: float | None = None
    latest_numerator: float | None = None
    latest_denominator: float | None = None


NO_PERIODS = Series()


@dataclass(frozen=True)
class SeriesPoint:
    """One period of an indicator over time, as charts and sparklines show it."""

    start: date
    end: date
    target: float | None  # to date for cumulative indicators, the period's own otherwise
    actual: float | None  # None where the period has no approved actual yet


@dataclass(frozen=True)
class IndicatorData:
    code: str
    title: str
    measure: str = "unit"  # unit / percentage / currency / qualitative
    aggregation: str = "cumulative"  # cumulative / latest
    ascending: bool = True
    baseline: float | None = None
    periods: tuple[PeriodData, ...] = ()
    dimensions: tuple[tuple[str, tuple[str, ...]], ...] = ()
    category_baselines: Mapping[Category, float | None] = field(default_factory=dict)
    result_code: str = ""
    result_title: str = ""
    level: str = ""
    unit: str | None = None
    currency: str | None = None
    project_code: str = ""
    id: int | None = None
    # Set by a loader that computed the series in SQL; None: computed from periods.
    series: Series | None = None
    category_series: Mapping[Category, Series] | None = None
    pending: int | None = None  # updates waiting; None: the sum over periods
    points: tuple[SeriesPoint, ...] | None = None  # over time; None: from periods


@dataclass(frozen=True)
class ResultData:
    code: str
    title: str
    level: str
    parent_code: str | None = None
    position: int = 0
    description: str | None = None
    assumptions: str | None = None


@dataclass(frozen=True)
class ProjectData:
    code: str
    title: str
    start: date | None = None
    end: date | None = None
    currency: str | None = None
    results: tuple[ResultData, ...] = ()
    indicators: tuple[IndicatorData, ...] = ()


@dataclass(frozen=True)
class Figures:
    """What progress is computed from. Percentages carry their summed parts."""

    baseline: float | None
    target: float | None
    actual: float | None
    numerator: float | None = None
    denominator: float | None = None
    periods_reported: int = 0


@dataclass(frozen=True)
class Thresholds:
    """Status cut-offs as shares of the expected progress (documented in docs/results.md)."""

    on_track: float = 0.9
    at_risk: float = 0.6

    def __post_init__(self) -> None:
        if not 0 <= self.at_risk <= self.on_track:
            raise ValueError("thresholds need 0 <= at_risk <= on_track")


@dataclass(frozen=True)
class CategoryProgress:
    target: float | None
    actual: float | None
    progress: float | None


@dataclass(frozen=True)
class IndicatorProgress:
    indicator: IndicatorData
    figures: Figures
    progress: float | None
    expected: float
    status: str
    disaggregations: Mapping[str, Mapping[str, CategoryProgress]]
    pending: int

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of ``coordination progress --format json``."""
        ind = self.indicator
        return {
            "code": ind.code,
            "title": ind.title,
            "project": ind.project_code,
            "result": ind.result_code,
            "level": ind.level,
            "measure": ind.measure,
            "aggregation": ind.aggregation,
            "ascending": ind.ascending,
            "unit": ind.unit,
            "baseline": self.figures.baseline,
            "target": self.figures.target,
            "actual": self.figures.actual,
            "progress": _round(self.progress),
            "status": self.status,
            "pending_updates": self.pending,
            "disaggregations": {
                dimension: {
                    name: {
                        "target": c.target,
                        "actual": c.actual,
                        "progress": _round(c.progress),
                    }
                    for name, c in categories.items()
                }
                for dimension, categories in self.disaggregations.items()
            },
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _percent(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return 100.0 * numerator / denominator


def _value(measure: str, actual: Actual | None) -> float | None:
    if actual is None:
        return None
    if measure == "percentage":
        return _percent(actual.numerator, actual.denominator)
    return actual.value


def progress_ratio(
    baseline: float | None, target: float | None, actual: float | None
) -> float | None:
    """(actual - baseline) / (target - baseline); a missing baseline counts as zero.

    >>> progress_ratio(0, 200, 150)
    0.75
    >>> progress_ratio(40, 20, 30)  # descending: from 40 down to 20, now at 30
    0.5
    >>> progress_ratio(10, 10, 12) is None  # no distance to cover: undefined
    True
    """
    if target is None or actual is None:
        return None
    base = baseline or 0.0
    if target == base:
        return None
    return (actual - base) / (target - base)


def summarise(measure: str, periods: Sequence[tuple[float | None, Actual | None]]) -> Series:
    """The :class:`Series` of (target, approved actual) pairs given in period order.

    >>> s = summarise("unit", [(100, Actual(80)), (100, Actual(None)), (120, None)])
    >>> s.target_sum, s.last_target, s.actuals, s.reported, s.value_sum, s.latest_target
    (320, 120, 2, 1, 80, 100)
    """
    targets = [t for t, _ in periods if t is not None]
    actuals = [(t, a) for t, a in periods if a is not None]
    reported = [(t, a) for t, a in actuals if _value(measure, a) is not None]
    latest_target, latest = reported[-1] if reported else (None, Actual())
    return Series(
        target_sum=sum(targets) if targets else None,
        last_target=targets[-1] if targets else None,
        actuals=len(actuals),
        reported=len(reported),
        value_sum=sum(a.value or 0.0 for _, a in reported),
        numerator_sum=sum(a.numerator or 0.0 for _, a in reported),
        denominator_sum=sum(a.denominator or 0.0 for _, a in reported),
        latest_target=latest_target,
        latest_value=latest.value,
        latest_numerator=latest.numerator,
        latest_denominator=latest.denominator,
    )


def _figures(measure: str, aggregation: str, baseline: float | None, series: Series) -> Figures:
    """Figures of a series under the indicator's measure and aggregation rule."""
    if measure == "qualitative":
        return Figures(None, None, None, periods_reported=series.actuals)
    if not series.reported:
        target = None if aggregation == "latest" else _cumulative_target(measure, series)
        return Figures(baseline, target, None)
    if aggregation == "latest":
        latest = Actual(series.latest_value, series.latest_numerator, series.latest_denominator)
        return Figures(
            baseline,
            series.latest_target,
            _value(measure, latest),
            series.latest_numerator,
            series.latest_denominator,
            series.reported,
        )
    if measure == "percentage":
        return Figures(
            baseline,
            series.last_target,
            _percent(series.numerator_sum, series.denominator_sum),
            series.numerator_sum,
            series.denominator_sum,
            series.reported,
        )
    return Figures(baseline, series.target_sum, series.value_sum, periods_reported=series.reported)


def _cumulative_target(measure: str, series: Series) -> float | None:
    # A percentage is a level: its life-of-project target is the last one set.
    return series.last_target if measure == "percentage" else series.target_sum


def _total_series(indicator: IndicatorData) -> Series:
    if indicator.series is not None:
        return indicator.series
    return summarise(indicator.measure, [(p.target, p.actual) for p in indicator.periods])


def _category_series(indicator: IndicatorData, key: Category) -> Series:
    if indicator.category_series is not None:
        return indicator.category_series.get(key, NO_PERIODS)
    return summarise(
        indicator.measure,
        [(p.category_targets.get(key), p.category_actuals.get(key)) for p in indicator.periods],
    )


def _pending(indicator: IndicatorData) -> int:
    if indicator.pending is not None:
        return indicator.pending
    return sum(p.pending for p in indicator.periods)


def indicator_figures(indicator: IndicatorData) -> Figures:
    """Baseline, target and actual of an indicator under its aggregation rule.

    >>> periods = (
    ...     PeriodData(date(2024, 1, 1), date(2024, 12, 31), 100, Actual(80)),
    ...     PeriodData(date(2025, 1, 1), date(2025, 12, 31), 100, Actual(70)),
    ...     PeriodData(date(2026, 1, 1), date(2026, 12, 31), 100),
    ... )
    >>> indicator_figures(IndicatorData("1.1", "People trained", baseline=0, periods=periods))
    Figures(baseline=0, target=300, actual=150, numerator=None, denominator=None, periods_reported=2)
    """
    return _figures(
        indicator.measure, indicator.aggregation, indicator.baseline, _total_series(indicator)
    )


def elapsed_share(start: date | None, end: date | None, today: date) -> float:
    """Share of the project's time that has passed on ``today``, between 0 and 1.

    >>> elapsed_share(date(2024, 1, 1), date(2025, 1, 1), date(2024, 7, 2))
    0.5
    """
    if start is None or end is None or end <= start:
        return 1.0
    share = (today - start).days / (end - start).days
    return round(min(1.0, max(0.0, share)), 4)


def status_for(
    progress: float | None, expected: float, thresholds: Thresholds = Thresholds()
) -> str:
    """On track / at risk / off track / no data.

    >>> status_for(0.5, 0.5), status_for(0.35, 0.5), status_for(0.1, 0.5), status_for(None, 0.5)
    ('on track', 'at risk', 'off track', 'no data')
    """
    if progress is None:
        return NO_DATA
    if expected <= 0 or progress >= thresholds.on_track * expected:
        return ON_TRACK
    if progress >= thresholds.at_risk * expected:
        return AT_RISK
    return OFF_TRACK


def _category_progress(indicator: IndicatorData) -> dict[str, dict[str, CategoryProgress]]:
    result: dict[str, dict[str, CategoryProgress]] = {}
    for dimension, categories in indicator.dimensions:
        result[dimension] = {}
        for category in categories:
            key = (dimension, category)
            baseline = indicator.category_baselines.get(key)
            figures = _figures(
                indicator.measure,
                indicator.aggregation,
                baseline,
                _category_series(indicator, key),
            )
            result[dimension][category] = CategoryProgress(
                figures.target,
                figures.actual,
                progress_ratio(figures.baseline, figures.target, figures.actual),
            )
    return result


def indicator_progress(
    indicator: IndicatorData,
    *,
    start: date | None,
    end: date | None,
    today: date,
    thresholds: Thresholds = Thresholds(),
) -> IndicatorProgress:
    """Figures, progress, status and per-category progress of one indicator."""
    figures = indicator_figures(indicator)
    progress = progress_ratio(figures.baseline, figures.target, figures.actual)
    expected = 1.0 if indicator.aggregation == "latest" else elapsed_share(start, end, today)
    return IndicatorProgress(
        indicator=indicator,
        figures=figures,
        progress=progress,
        expected=expected,
        status=status_for(progress, expected, thresholds),
        disaggregations=_category_progress(indicator),
        pending=_pending(indicator),
    )


def project_progress(
    project: ProjectData, *, today: date, thresholds: Thresholds = Thresholds()
) -> list[IndicatorProgress]:
    """Progress of every indicator of a project, in logframe order."""
    return [
        indicator_progress(
            indicator, start=project.start, end=project.end, today=today, thresholds=thresholds
        )
        for indicator in project.indicators
    ]


def rollup_results(
    results: Sequence[ResultData], progress: Iterable[IndicatorProgress]
) -> dict[str, dict[str, Any]]:
    """Each result's indicators, its own and its descendants', summarised.

    Indicators of one result measure different things, so their values are never
    added up. A result gets the count of its indicators per status, its ``status``
    (the most frequent status among indicators with data, ties going to the worse
    one) and ``progress``, the median of the indicators' progress capped to [0, 1].

    >>> results = [ResultData("O1", "Outcome", "outcome"), ResultData("1.1", "Output", "output", "O1")]
    >>> ind = IndicatorProgress(IndicatorData("a", "A", result_code="1.1"), Figures(0, 10, 5), 0.5, 0.5,
    ...                         "on track", {}, 0)
    >>> rollup_results(results, [ind])["O1"]["counts"]["on track"]
    1
    """
    children: dict[str | None, list[str]] = defaultdict(list)
    for result in results:
        children[result.parent_code].append(result.code)
    own: dict[str, list[IndicatorProgress]] = defaultdict(list)
    for item in progress:
        own[item.indicator.result_code].append(item)

    summary: dict[str, dict[str, Any]] = {}

    def collect(code: str, seen: frozenset[str]) -> list[IndicatorProgress]:
        items = list(own.get(code, []))
        for child in children.get(code, []):
            if child not in seen:  # a cycle in bad data must not loop forever
                items += collect(child, seen | {child})
        return items

    for result in results:
        items = collect(result.code, frozenset({result.code}))
        counts = Counter(item.status for item in items)
        with_data = {s: n for s, n in counts.items() if s != NO_DATA}
        status = (
            max(with_data, key=lambda s: (with_data[s], _SEVERITY[s])) if with_data else NO_DATA
        )
        ratios = [min(1.0, max(0.0, i.progress)) for i in items if i.progress is not None]
        summary[result.code] = {
            "code": result.code,
            "title": result.title,
            "level": result.level,
            "indicators": len(items),
            "counts": {s: counts.get(s, 0) for s in STATUSES},
            "status": status,
            "progress": round(statistics.median(ratios), 4) if ratios else None,
        }
    return summary


def _weighted(values: Sequence[tuple[float | None, float | None]]) -> float | None:
    """Denominator-weighted mean: the ratio the combined population would have."""
    pairs = [(v, w) for v, w in values if v is not None and w]
    total = sum(w for _, w in pairs)
    return sum(v * w for v, w in pairs) / total if total else None


def _combine(measure: str, parts: Sequence[Figures]) -> Figures:
    def total(values: Iterable[float | None]) -> float | None:
        present = [v for v in values if v is not None]
        return sum(present) if present else None

    if measure == "qualitative":
        return Figures(None, None, None)
    if measure == "percentage":
        numerator = total(p.numerator for p in parts)
        denominator = total(p.denominator for p in parts)
        return Figures(
            _weighted([(p.baseline, p.denominator) for p in parts]),
            _weighted([(p.target, p.denominator) for p in parts]),
            _percent(numerator, denominator),
            numerator,
            denominator,
            max((p.periods_reported for p in parts), default=0),
        )
    return Figures(
        total(p.baseline for p in parts),
        total(p.target for p in parts),
        total(p.actual for p in parts),
        periods_reported=max((p.periods_reported for p in parts), default=0),
    )


def rollup_programme(
    projects: Sequence[ProjectData],
    *,
    today: date,
    thresholds: Thresholds = Thresholds(),
) -> list[IndicatorProgress]:
    """Country-level projects rolled up into a regional programme, by indicator code.

    Units and currency add up (baselines, targets, actuals, each category);
    percentages add numerators and denominators and recompute the ratio, with
    baseline and target weighted by each country's denominator; never an average of
    percentages. Qualitative indicators get no figures. Currency indicators in
    different currencies cannot be added and raise ``ValueError``. Because period
    values of cumulative indicators are never negative, adding a period can only
    raise a rolled-up cumulative actual.
    """
    groups: dict[str, list[tuple[ProjectData, IndicatorData]]] = defaultdict(list)
    for project in projects:
        for indicator in project.indicators:
            groups[indicator.code].append((project, indicator))
    starts = [p.start for p in projects if p.start]
    ends = [p.end for p in projects if p.end]
    start, end = (min(starts) if starts else None), (max(ends) if ends else None)

    combined: list[IndicatorProgress] = []
    for code, members in groups.items():
        first = members[0][1]
        measures = {i.measure for _, i in members}
        if len(measures) > 1:
            raise ValueError(f"indicator {code} is measured differently: {sorted(measures)}")
        if first.measure == "currency":
            currencies = {i.currency or p.currency for p, i in members}
            if len(currencies) > 1:
                raise ValueError(
                    f"indicator {code} mixes currencies {sorted(map(str, currencies))}"
                )
        parts = [indicator_figures(i) for _, i in members]
        figures = _combine(first.measure, parts)
        disaggregations = _combine_categories(first.measure, [i for _, i in members])
        progress = progress_ratio(figures.baseline, figures.target, figures.actual)
        expected = 1.0 if first.aggregation == "latest" else elapsed_share(start, end, today)
        combined.append(
            IndicatorProgress(
                indicator=replace(first, project_code="+".join(p.code for p, _ in members)),
                figures=figures,
                progress=progress,
                expected=expected,
                status=status_for(progress, expected, thresholds),
                disaggregations=disaggregations,
                pending=sum(_pending(i) for _, i in members),
            )
        )
    return combined


def _combine_categories(
    measure: str, indicators: Sequence[IndicatorData]
) -> dict[str, dict[str, CategoryProgress]]:
    parts: dict[Category, list[Figures]] = defaultdict(list)
    order: dict[str, list[str]] = {}
    for indicator in indicators:
        for dimension, categories in indicator.dimensions:
            names = order.setdefault(dimension, [])
            for category in categories:
                if category not in names:
                    names.append(category)
                key = (dimension, category)
                parts[key].append(
                    _figures(
                        indicator.measure,
                        indicator.aggregation,
                        indicator.category_baselines.get(key),
                        _category_series(indicator, key),
                    )
                )
    result: dict[str, dict[str, CategoryProgress]] = {}
    for dimension, names in order.items():
        result[dimension] = {}
        for name in names:
            figures = _combine(measure, parts[(dimension, name)])
            result[dimension][name] = CategoryProgress(
                figures.target,
                figures.actual,
                progress_ratio(figures.baseline, figures.target, figures.actual),
            )
    return result
