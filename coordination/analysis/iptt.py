"""The indicator tracking table (IPTT) and progress-over-time series: pure functions.

Both read the same snapshot as :mod:`coordination.analysis.progress` (only approved
actuals) and follow its aggregation rules, so a chart or a table cell never tells a
different story from the progress figure beside it:

- a cumulative indicator's series runs the sums forward period by period (units and
  currency add values; percentages add numerators and denominators and recompute
  the ratio), so it never goes down;
- a latest-value indicator's series is each period's own target and actual;
- a qualitative indicator has no series.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from coordination.analysis.progress import (
    Actual,
    IndicatorData,
    IndicatorProgress,
    ProjectData,
    ResultData,
    SeriesPoint,
)

__all__ = [
    "IpttCell",
    "IpttPeriod",
    "IpttRow",
    "SeriesPoint",
    "filter_progress",
    "indicator_series",
    "iptt_periods",
    "iptt_rows",
    "period_actual",
    "result_depths",
    "sex_categories",
]

SEX = "sex"


@dataclass(frozen=True)
class IpttPeriod:
    start: date
    end: date

    @property
    def label(self) -> str:
        return f"{self.start.isoformat()} – {self.end.isoformat()}"


@dataclass(frozen=True)
class IpttCell:
    target: float | None
    actual: float | None
    achieved: float | None  # actual / target, None when either is missing or target is 0


@dataclass(frozen=True)
class IpttRow:
    item: IndicatorProgress
    cells: tuple[IpttCell | None, ...]  # one per IPTT period; None: no such period
    sex: tuple[IpttCell | None, ...]  # one per sex category


def period_actual(measure: str, actual: Actual | None) -> float | None:
    """A period's approved actual as one number (percentages as 0-100).

    >>> period_actual("percentage", Actual(None, 30, 120))
    25.0
    >>> period_actual("unit", Actual(12)), period_actual("unit", None)
    (12, None)
    """
    if actual is None:
        return None
    if measure == "percentage":
        if actual.numerator is None or not actual.denominator:
            return None
        return 100.0 * actual.numerator / actual.denominator
    if measure == "qualitative":
        return None
    return actual.value


def _achieved(target: float | None, actual: float | None) -> float | None:
    if target is None or actual is None or target == 0:
        return None
    return actual / target


def indicator_series(indicator: IndicatorData) -> list[SeriesPoint]:
    """Target and actual per period, following the indicator's aggregation rule.

    >>> from coordination.analysis.progress import PeriodData
    >>> periods = (
    ...     PeriodData(date(2024, 1, 1), date(2024, 6, 30), 10, Actual(4)),
    ...     PeriodData(date(2024, 7, 1), date(2024, 12, 31), 10, Actual(7)),
    ...     PeriodData(date(2025, 1, 1), date(2025, 6, 30), 10),
    ... )
    >>> [(p.target, p.actual) for p in indicator_series(IndicatorData("1", "T", periods=periods))]
    [(10.0, 4.0), (20.0, 11.0), (30.0, None)]
    """
    if indicator.points is not None:  # stored by the loader
        return list(indicator.points)
    if indicator.measure == "qualitative":
        return []
    points: list[SeriesPoint] = []
    if indicator.aggregation == "latest":
        for p in indicator.periods:
            points.append(
                SeriesPoint(p.start, p.end, p.target, period_actual(indicator.measure, p.actual))
            )
        return points
    target_sum: float | None = None
    value_sum = numerator_sum = denominator_sum = 0.0
    reported = False
    for p in indicator.periods:
        if indicator.measure == "percentage":
            target = p.target if p.target is not None else target_sum  # a level: the latest
            target_sum = target
        else:
            if p.target is not None:
                target_sum = (target_sum or 0.0) + p.target
            target = target_sum
        actual: float | None = None
        if p.actual is not None:
            if indicator.measure == "percentage":
                if p.actual.numerator is not None and p.actual.denominator:
                    numerator_sum += p.actual.numerator
                    denominator_sum += p.actual.denominator
                    reported = True
            elif p.actual.value is not None:
                value_sum += p.actual.value
                reported = True
            if reported:
                actual = (
                    100.0 * numerator_sum / denominator_sum
                    if indicator.measure == "percentage"
                    else value_sum
                )
        points.append(SeriesPoint(p.start, p.end, target, actual))
    return points


def result_depths(results: Sequence[ResultData]) -> dict[str, int]:
    """How deep each result sits in the chain (top level 0).

    >>> result_depths([ResultData("G", "g", "goal"), ResultData("O1", "o", "outcome", "G")])
    {'G': 0, 'O1': 1}
    """
    parent = {r.code: r.parent_code for r in results}
    depths: dict[str, int] = {}
    for code in parent:
        depth, seen, current = 0, {code}, parent[code]
        while current is not None and current in parent and current not in seen:
            seen.add(current)
            depth += 1
            current = parent[current]
        depths[code] = depth
    return depths


def _descendants(results: Sequence[ResultData], code: str) -> set[str]:
    children: dict[str | None, list[str]] = {}
    for r in results:
        children.setdefault(r.parent_code, []).append(r.code)
    found, stack = {code}, [code]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def filter_progress(
    project: ProjectData,
    progress: Iterable[IndicatorProgress],
    *,
    level: str | None = None,
    under: str | None = None,
    status: str | None = None,
) -> list[IndicatorProgress]:
    """Indicators whose result is at ``level``, lies under result ``under`` (itself
    included) and whose status is ``status``; an empty criterion keeps everything.
    """
    inside = _descendants(project.results, under) if under else None
    return [
        item
        for item in progress
        if (not level or item.indicator.level == level)
        and (inside is None or item.indicator.result_code in inside)
        and (not status or item.status == status)
    ]


def iptt_periods(indicators: Iterable[IndicatorData]) -> list[IpttPeriod]:
    """The distinct reporting periods of the indicators, in date order: the columns."""
    return sorted(
        {IpttPeriod(p.start, p.end) for i in indicators for p in i.periods},
        key=lambda p: (p.start, p.end),
    )


def sex_categories(indicators: Iterable[IndicatorData]) -> list[str]:
    """The categories of every "sex" dimension, in first-seen order."""
    names: list[str] = []
    for indicator in indicators:
        for dimension, categories in indicator.dimensions:
            if dimension.lower() == SEX:
                names += [c for c in categories if c not in names]
    return names


def iptt_rows(
    progress: Sequence[IndicatorProgress],
    periods: Sequence[IpttPeriod],
    sex: Sequence[str],
) -> list[IpttRow]:
    """One row per indicator: each period's target, actual and share achieved, and
    the life-of-project figures per sex category.
    """
    column = {(p.start, p.end): index for index, p in enumerate(periods)}
    rows = []
    for item in progress:
        cells: list[IpttCell | None] = [None] * len(periods)
        measure = item.indicator.measure
        for p in item.indicator.periods:
            actual = period_actual(measure, p.actual)
            cells[column[(p.start, p.end)]] = IpttCell(
                p.target, actual, _achieved(p.target, actual)
            )
        by_sex = {k.lower(): v for k, v in item.disaggregations.items()}.get(SEX, {})
        sex_cells = tuple(
            IpttCell(c.target, c.actual, _achieved(c.target, c.actual))
            if (c := by_sex.get(name)) is not None
            else None
            for name in sex
        )
        rows.append(IpttRow(item, tuple(cells), sex_cells))
    return rows
