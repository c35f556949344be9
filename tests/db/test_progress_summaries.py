"""The figures the database computes ("figures" and "series" snapshots) are the figures
the analysis computes from every period ("periods" snapshot), on every kind of data."""

import random
from datetime import date

import pytest
from sqlalchemy import event, select

from coordination.analysis.progress import (
    Actual,
    IndicatorData,
    PeriodData,
    indicator_progress,
    project_progress,
    summarise,
)
from coordination.models import Result, User
from coordination.services import results as svc
from coordination.vocab import UserRole
from tests import factories

TODAY = date(2025, 7, 1)
MEASURES = ("unit", "currency", "percentage", "qualitative")
AGGREGATIONS = ("cumulative", "latest")


def _approve(session, period, manager, **values):
    update = svc.report_update(session, period, manager, **values)
    svc.submit_update(session, update, manager)
    svc.approve_update(session, update, manager)
    return update


def _values(rng, measure, with_categories):
    """Random actual fields that respect the rules (parts never exceed the total)."""
    if measure == "qualitative":
        return {"narrative": "Policy dialogue held"}
    if measure == "percentage":
        denominator = rng.choice([10, 40, 80])
        numerator = rng.randint(0, denominator)
        values = {"numerator": numerator, "denominator": denominator}
        if with_categories:
            female_den = rng.randint(0, denominator)
            female = (min(rng.randint(0, female_den), numerator), female_den)
            values["disaggregations"] = {"sex": {"female": female if female_den else None}}
        return values
    value = rng.randint(0, 60)
    values = {"value": value}
    if with_categories:
        female = rng.randint(0, value)
        parts = {"female": female}
        if rng.random() < 0.7:
            parts["male"] = value - female
        values["disaggregations"] = {"sex": parts}
    return values


@pytest.fixture
def varied(session):
    """Indicators of every measure, aggregation and direction, with gaps everywhere:
    periods without targets or actuals, several approvals of one period, updates
    waiting or returned, categories with targets but no actuals and the reverse."""
    rng = random.Random(20261202)
    manager = User(email="manager@ilo.org", password_hash="x", role=UserRole.MANAGER)
    session.add(manager)
    project = factories.create_project(
        session, code="VARIED", start_date=date(2023, 1, 1), end_date=date(2026, 12, 31)
    )
    outcome = svc.create_result(session, project, code="O1", title="Outcome", level="outcome")
    number = 0
    for measure in MEASURES:
        for aggregation in AGGREGATIONS:
            for ascending in (True, False):
                number += 1
                dimensions = {"sex": ["female", "male"]} if number % 4 else None
                indicator = svc.create_indicator(
                    session,
                    outcome,
                    code=f"I{number}",
                    title=f"{measure} {aggregation}",
                    measure=measure,
                    aggregation=aggregation,
                    ascending=ascending,
                    baseline_value=None if measure == "qualitative" else rng.choice([None, 5]),
                    dimensions=dimensions,
                )
                for year in range(2023, 2027):
                    target = None if rng.random() < 0.25 else rng.randint(20, 90)
                    targets = None
                    if dimensions and target is not None and rng.random() < 0.8:
                        targets = {"sex": {"female": target // 2}}
                        if rng.random() < 0.5:
                            targets["sex"]["male"] = target - target // 2
                    if measure == "qualitative":
                        target = targets = None
                    period = svc.create_period(
                        session,
                        indicator,
                        start_date=date(year, 1, 1),
                        end_date=date(year, 12, 31),
                        target=target,
                        targets=targets,
                    )
                    if year == 2026:
                        continue  # the future: nothing reported yet
                    for _ in range(rng.choice([0, 1, 1, 2])):
                        _approve(
                            session, period, manager, **_values(rng, measure, bool(dimensions))
                        )
                    if rng.random() < 0.3:
                        draft = svc.report_update(
                            session, period, manager, **_values(rng, measure, False)
                        )
                        if rng.random() < 0.5:
                            svc.submit_update(session, draft, manager)
    session.commit()
    return project


def _progress(session, detail):
    (data,) = svc.load_progress_snapshot(session, ["VARIED"], detail=detail)
    return data, [item.as_dict() for item in project_progress(data, today=TODAY)]


def test_database_figures_equal_figures_from_periods(session, varied):
    _, expected = _progress(session, "periods")
    assert len(expected) == 16
    # the data really has every case the reductions must handle
    assert {i["status"] for i in expected} >= {"no data", "on track", "off track"}
    assert any(i["pending_updates"] for i in expected)
    assert any(
        c["actual"] is None and c["target"] is not None
        for i in expected
        for d in i["disaggregations"].values()
        for c in d.values()
    )
    _, got = _progress(session, "figures")
    assert [i["code"] for i in got] == [i["code"] for i in expected]
    assert _diff(got, expected) == []
    # The logframe page's snapshot: the same totals, without disaggregations.
    _, got = _progress(session, "series")
    assert all(i.pop("disaggregations") == {} for i in got)
    totals = [{k: v for k, v in i.items() if k != "disaggregations"} for i in expected]
    assert _diff(got, totals) == []


def _diff(got, expected):
    """Indicator-by-indicator differences (floats compared approximately)."""
    problems = []
    for g, e in zip(got, expected, strict=True):
        for key in e:
            same = (
                g[key] == pytest.approx(e[key]) if isinstance(e[key], float) else g[key] == e[key]
            )
            if key == "disaggregations":
                same = (
                    all(
                        g[key][d][c][f] == pytest.approx(e[key][d][c][f])
                        for d in e[key]
                        for c in e[key][d]
                        for f in e[key][d][c]
                    )
                    and g[key].keys() == e[key].keys()
                )
            if not same:
                problems.append((e["code"], key, g[key], e[key]))
    return problems


def test_series_snapshot_keeps_each_period_total_for_sparklines(session, varied):
    full, _ = _progress(session, "periods")
    light, _ = _progress(session, "series")
    bare, _ = _progress(session, "figures")
    for a, b, c in zip(full.indicators, light.indicators, bare.indicators, strict=True):
        assert [(p.start, p.end, p.target, p.actual) for p in a.periods] == [
            (p.start, p.end, p.target, p.actual) for p in b.periods
        ]
        assert all(not p.category_actuals for p in b.periods) and b.dimensions == ()
        assert c.periods == () and c.dimensions == a.dimensions
        assert c.series is not None and a.series is None and b.series is None


def test_the_last_approval_counts_in_the_database_too(session, varied):
    manager = session.scalars(select(User)).one()
    indicator = svc.create_indicator(
        session,
        session.scalars(select(Result).where(Result.code == "O1")).one(),
        code="LAST",
        title="Latest approval wins",
        aggregation="latest",
        dimensions={"sex": ["female", "male"]},
    )
    period = svc.create_period(
        session, indicator, start_date=date(2024, 1, 1), end_date=date(2024, 12, 31), target=50
    )
    _approve(session, period, manager, value=10, disaggregations={"sex": {"female": 4}})
    _approve(session, period, manager, value=30, disaggregations={"sex": {"male": 12}})
    session.commit()
    for detail in ("periods", "figures"):
        _, items = _progress(session, detail)
        (last,) = [i for i in items if i["code"] == "LAST"]
        assert last["actual"] == 30 and last["target"] == 50
        assert last["disaggregations"]["sex"]["male"]["actual"] == 12
        assert last["disaggregations"]["sex"]["female"]["actual"] is None


@pytest.mark.parametrize("detail", ["figures", "series"])
def test_database_figures_take_a_fixed_number_of_statements(session, engine, varied, detail):
    def statements() -> int:
        seen: list[str] = []

        def listener(*args):
            seen.append(args[2])

        event.listen(engine, "before_cursor_execute", listener)
        try:
            svc.load_progress_snapshot(session, ["VARIED"], detail=detail)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(seen)

    before = statements()
    manager = session.scalars(select(User)).one()
    result = session.scalars(select(Result).where(Result.code == "O1")).one()
    for n in range(10):
        indicator = svc.create_indicator(
            session, result, code=f"MORE{n}", title="more", dimensions={"sex": ["female", "male"]}
        )
        period = svc.create_period(
            session, indicator, start_date=date(2024, 1, 1), end_date=date(2024, 12, 31)
        )
        _approve(session, period, manager, value=3, disaggregations={"sex": {"female": 1}})
    session.commit()
    assert statements() == before <= 8


def test_summarise_follows_the_counting_rules():
    pairs = [
        (10, Actual(None, 3, 4)),  # a percentage: counts
        (None, Actual(None, 2, None)),  # no denominator: an actual that does not count
        (30, None),
    ]
    series = summarise("percentage", pairs)
    assert (series.target_sum, series.last_target) == (40, 30)
    assert (series.actuals, series.reported) == (2, 1)
    assert (series.numerator_sum, series.denominator_sum) == (3, 4)
    assert (series.latest_target, series.latest_numerator) == (10, 3)
    assert summarise("unit", pairs).reported == 0  # no value: nothing counts as a unit
    # The same indicator from periods or from its series: the same progress.
    periods = tuple(
        PeriodData(date(2020 + i, 1, 1), date(2020 + i, 12, 31), t, a)
        for i, (t, a) in enumerate(pairs)
    )
    from_periods = IndicatorData("P", "p", measure="percentage", periods=periods)
    from_series = IndicatorData("P", "p", measure="percentage", series=series, pending=0)
    one = indicator_progress(from_periods, start=None, end=None, today=TODAY)
    other = indicator_progress(from_series, start=None, end=None, today=TODAY)
    assert one.figures == other.figures and one.figures.actual == 75.0
