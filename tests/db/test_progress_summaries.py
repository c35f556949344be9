"""The figures the database computes ("figures" and "series" snapshots) are the figures
the analysis computes from every period ("periods" snapshot), on every kind of data."""

import json
import random
from datetime import date

import pytest
from sqlalchemy import event, func, select

from coordination.analysis.iptt import indicator_series
from coordination.analysis.progress import (
    Actual,
    IndicatorData,
    PeriodData,
    indicator_progress,
    project_progress,
    summarise,
)
from coordination.models import Indicator, Result, User
from coordination.models.results import indicator_progress_cache
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


def test_series_snapshot_keeps_each_indicator_s_points_for_sparklines(session, varied):
    full, _ = _progress(session, "periods")
    light, _ = _progress(session, "series")
    bare, _ = _progress(session, "figures")
    for a, b, c in zip(full.indicators, light.indicators, bare.indicators, strict=True):
        assert b.points is not None and list(b.points) == indicator_series(a), a.code
        assert b.periods == () and b.dimensions == () and a.points is None
        assert c.periods == () and c.dimensions == a.dimensions and c.points is None
        assert c.series is not None and a.series is None and b.series == c.series


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


def _count_statements(session, engine, detail):
    seen: list[str] = []

    def listener(*args):
        seen.append(args[2])

    event.listen(engine, "before_cursor_execute", listener)
    try:
        svc.load_progress_snapshot(session, ["VARIED"], detail=detail)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return seen


@pytest.mark.parametrize("detail", ["figures", "series"])
def test_database_figures_take_a_fixed_number_of_statements(session, engine, varied, detail):
    cold = _count_statements(session, engine, detail)
    assert any("period_actuals" in s for s in cold)  # the figures were computed
    session.commit()
    # Stored: the next read is the indicators with their figures, nothing reduced.
    warm = _count_statements(session, engine, detail)
    assert not any("period_actuals" in s for s in warm)
    assert len(warm) == (
        4 if detail == "figures" else 3
    )  # projects, results, indicators(, categories)

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
    # Ten new indicators are computed (by id) in as many statements as all of them were.
    again = _count_statements(session, engine, detail)
    assert len(again) == len(cold) <= 11
    session.commit()
    assert len(_count_statements(session, engine, detail)) == len(warm)


# --- the stored figures follow every change -------------------------------------


def _check_cache_is_current(session):
    """Figures and series read (from the store where current) equal those computed
    from every period, and every row of the store is current afterwards."""
    _, expected = _progress(session, "periods")
    _, got = _progress(session, "figures")
    assert _diff(got, expected) == []
    full, _ = _progress(session, "periods")
    light, _ = _progress(session, "series")
    for a, b in zip(full.indicators, light.indicators, strict=True):
        assert list(b.points) == indicator_series(a), a.code
    stale = select(func.count()).where(indicator_progress_cache.c.payload.is_(None))
    assert session.scalar(stale) == 0


def _indicator(session, code):
    return session.scalars(select(Indicator).where(Indicator.code == code)).one()


def _period(session, code, year):
    return next(p for p in _indicator(session, code).periods if p.start_date.year == year)


CHANGES = {
    "report a draft": lambda s, m: svc.report_update(s, _period(s, "I1", 2025), m, value=7),
    "approve a new actual": lambda s, m: _approve(
        s, _period(s, "I2", 2025), m, value=11, disaggregations={"sex": {"female": 3}}
    ),
    "approve a percentage": lambda s, m: _approve(
        s, _period(s, "I9", 2024), m, numerator=1, denominator=2
    ),
    "return an update": lambda s, m: svc.return_update(
        s, _submitted(s, _period(s, "I3", 2025), m), m, "figures do not add up"
    ),
    "edit a draft": lambda s, m: svc.edit_update(
        s, svc.report_update(s, _period(s, "I5", 2025), m, value=1), m, value=2
    ),
    "change a target": lambda s, m: svc.update_period(
        s, _period(s, "I2", 2024), m, target=99, targets={"sex": {"female": 40}}, reason="revised"
    ),
    "add a period": lambda s, m: _replace_period(s, "I6", 2026),
    "delete a period": lambda s, m: s.delete(_period(s, "I7", 2024)),
    "delete an approved update": lambda s, m: s.delete(
        next(u for p in _indicator(s, "I2").periods for u in p.updates if u.status == "approved")
    ),
    # A unit indicator's value actuals stop counting when it becomes a percentage.
    "change an indicator's measure": lambda s, m: setattr(
        _indicator(s, "I1"), "measure", "percentage"
    ),
    "add a dimension": lambda s, m: svc.add_dimension(
        s, _indicator(s, "I4"), "country", ["KH", "VN"]
    ),
}


def _replace_period(session, code, year):
    """A new period (each year of the project already has one): deleted, then added."""
    indicator = _indicator(session, code)
    session.delete(_period(session, code, year))
    session.flush()
    session.expire(indicator, ["periods"])
    return svc.create_period(
        session,
        indicator,
        start_date=date(year, 1, 1),
        end_date=date(year, 6, 30),
        target=5,
    )


def _submitted(session, period, manager):
    update = svc.report_update(session, period, manager, value=4)
    svc.submit_update(session, update, manager)
    return update


@pytest.mark.parametrize("change", list(CHANGES))
def test_stored_figures_follow_every_change(session, varied, change):
    manager = session.scalars(select(User)).one()
    _progress(session, "figures")
    session.commit()  # every indicator's figures stored
    assert (
        session.scalar(select(func.count()).where(indicator_progress_cache.c.payload.is_not(None)))
        == 16
    )
    CHANGES[change](session, manager)
    session.flush()
    _check_cache_is_current(session)  # in the changing transaction
    session.commit()
    _check_cache_is_current(session)  # and after it


def test_figures_are_read_from_the_store_until_a_change(session, varied):
    """A stored row is what the snapshot shows (so the store is really read), until a
    change to its indicator makes it stale."""
    manager = session.scalars(select(User)).one()
    _progress(session, "figures")
    session.commit()
    indicator = _indicator(session, "I2")
    row = indicator_progress_cache.c
    payload = json.loads(
        session.scalar(select(row.payload).where(row.indicator_id == indicator.id))
    )
    payload["series"][4] += 1000  # value_sum: what a stale row would show
    session.execute(
        indicator_progress_cache.update()
        .where(row.indicator_id == indicator.id)
        .values(payload=json.dumps(payload))
    )
    session.commit()
    (tampered,) = [i for i in _progress(session, "figures")[1] if i["code"] == "I2"]
    _, expected = _progress(session, "periods")
    (true,) = [i for i in expected if i["code"] == "I2"]
    assert tampered["actual"] == true["actual"] + 1000
    svc.report_update(session, _period(session, "I2", 2025), manager, value=1)
    session.commit()
    (fresh,) = [i for i in _progress(session, "figures")[1] if i["code"] == "I2"]
    assert fresh["actual"] == true["actual"]


def test_figures_computed_before_a_change_are_never_stored_as_current(session, varied):
    """A reader stores what it computed only under the revision it read: a change
    committed in between (a concurrent writer) wins, on an existing row or a new one."""
    from coordination.services.progress_snapshot import _store_figures

    manager = session.scalars(select(User)).one()
    row = indicator_progress_cache.c
    first = _indicator(session, "I1")
    second = _indicator(session, "I2")
    session.commit()
    # I1 had a stale row at revision r when the reader looked; I2 none at all.
    _progress(session, "figures")
    session.commit()
    revision = session.scalar(select(row.revision).where(row.indicator_id == first.id))
    session.execute(indicator_progress_cache.delete().where(row.indicator_id == second.id))
    session.commit()
    # The writer commits first...
    svc.report_update(session, _period(session, "I1", 2025), manager, value=1)
    svc.report_update(session, _period(session, "I2", 2025), manager, value=1)
    session.commit()
    # ...then the reader stores what it computed from the older data.
    with session.get_bind().begin() as connection:
        _store_figures(
            [(first.id, revision, "old", "[]"), (second.id, None, "old", "[]")], connection
        )
    stored = dict(session.execute(select(row.indicator_id, row.payload)).all())
    assert stored[first.id] is None and stored[second.id] is None
    _check_cache_is_current(session)


def test_a_figures_store_that_fails_still_serves_the_figures(session, varied, monkeypatch, caplog):
    from sqlalchemy.exc import OperationalError

    from coordination.services import progress_snapshot

    def broken(payloads, connection):
        raise OperationalError("INSERT", {}, Exception("database is read-only"))

    monkeypatch.setattr(progress_snapshot, "_store_figures", broken)
    _, expected = _progress(session, "periods")
    _, got = _progress(session, "figures")
    assert _diff(got, expected) == []
    assert "indicator figures not stored" in caplog.text
    stored = select(func.count()).where(indicator_progress_cache.c.payload.is_not(None))
    assert session.scalar(stored) == 0


def test_deleting_an_indicator_deletes_its_stored_figures(session, varied):
    _progress(session, "figures")
    session.commit()
    session.expire_all()  # its periods unloaded: the database deletes them (passive)
    session.delete(_indicator(session, "I3"))
    session.commit()
    row = indicator_progress_cache.c
    assert session.scalar(select(func.count()).select_from(indicator_progress_cache)) == 15
    assert session.scalar(select(func.count()).where(row.payload.is_(None))) == 0


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
