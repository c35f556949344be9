"""Progress arithmetic checked against hand calculations, for every measure,
direction and aggregation; roll-ups; the monotonic cumulative guarantee."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coordination.analysis.progress import (
    Actual,
    IndicatorData,
    PeriodData,
    ProjectData,
    ResultData,
    Thresholds,
    indicator_progress,
    rollup_programme,
    rollup_results,
    status_for,
)

START, END = date(2024, 1, 1), date(2026, 12, 31)
MID = date(2025, 7, 2)  # 548 of 1095 days: 0.5005 of the project's time


def years(*rows):
    """PeriodData for 2024, 2025, 2026 from (target, actual) pairs."""
    return tuple(
        PeriodData(date(2024 + i, 1, 1), date(2024 + i, 12, 31), target, actual)
        for i, (target, actual) in enumerate(rows)
    )


def progress(indicator, today=MID, **kw):
    return indicator_progress(indicator, start=START, end=END, today=today, **kw)


def test_cumulative_units_ascending():
    # targets 100 + 150 + 250 = 500; actuals 120 + 110 = 230; baseline 0 -> 230 / 500
    ind = IndicatorData(
        "1",
        "Leaders trained",
        baseline=0,
        periods=years((100, Actual(120)), (150, Actual(110)), (250, None)),
    )
    result = progress(ind)
    assert (result.figures.target, result.figures.actual) == (500, 230)
    assert result.progress == pytest.approx(0.46)
    assert result.expected == pytest.approx(0.5005, abs=1e-4)
    assert result.status == "on track"  # 0.46 >= 0.9 * 0.5005


def test_cumulative_currency_with_baseline():
    # (actual - baseline) / (target - baseline) = (600 - 100) / (1100 - 100)
    ind = IndicatorData(
        "2",
        "Finance mobilised",
        measure="currency",
        baseline=100,
        periods=years((500, Actual(250)), (600, Actual(350))),
    )
    assert progress(ind).progress == pytest.approx(0.5)


def test_latest_value_descending():
    # a level going down from 40 % to 20 %: latest approved period is 2025 at 35, target 30
    ind = IndicatorData(
        "3",
        "Pay gap",
        measure="unit",
        aggregation="latest",
        ascending=False,
        baseline=40,
        periods=years((35, Actual(38)), (30, Actual(35)), (20, None)),
    )
    result = progress(ind)
    assert (result.figures.target, result.figures.actual) == (30, 35)
    assert result.progress == pytest.approx((35 - 40) / (30 - 40))  # 0.5
    assert result.expected == 1.0  # the 2025 target is due
    assert result.status == "off track"  # 0.5 < 0.6


def test_latest_percentage_is_the_latest_ratio():
    ind = IndicatorData(
        "4",
        "Women in committees",
        measure="percentage",
        aggregation="latest",
        baseline=20,
        periods=years(
            (30, Actual(numerator=9, denominator=30)), (40, Actual(numerator=14, denominator=40))
        ),
    )
    result = progress(ind)
    assert result.figures.actual == pytest.approx(35.0)
    assert result.progress == pytest.approx((35 - 20) / (40 - 20))
    assert result.status == "at risk"  # 0.6 <= 0.75 < 0.9 of the expected 1.0


def test_cumulative_percentage_recomputes_the_ratio_never_averages():
    # 1 of 10, then 60 of 90: ratio 61 / 100 = 61 %, whereas the mean of 10 % and 66.7 % is 38.3 %
    ind = IndicatorData(
        "5",
        "Factories applying tools",
        measure="percentage",
        baseline=0,
        periods=years(
            (50, Actual(numerator=1, denominator=10)), (80, Actual(numerator=60, denominator=90))
        ),
    )
    result = progress(ind)
    assert result.figures.actual == pytest.approx(61.0)
    assert result.figures.target == 80  # the last period's target: percentages do not add up
    assert result.progress == pytest.approx(61 / 80)


def test_qualitative_and_missing_data_give_none():
    qual = IndicatorData(
        "6", "Policy adopted", measure="qualitative", periods=years((None, Actual()))
    )
    assert progress(qual).progress is None and progress(qual).status == "no data"
    empty = IndicatorData("7", "Nothing yet", periods=years((10, None)))
    assert progress(empty).progress is None and progress(empty).status == "no data"
    flat = IndicatorData(
        "8", "No change planned", baseline=5, aggregation="latest", periods=years((5, Actual(5)))
    )
    assert progress(flat).progress is None


def test_status_thresholds_are_configurable():
    assert status_for(0.3, 0.5) == "at risk"
    assert status_for(0.3, 0.5, Thresholds(on_track=0.5, at_risk=0.2)) == "on track"
    assert status_for(0.05, 0.5, Thresholds(on_track=0.5, at_risk=0.2)) == "off track"
    assert status_for(0.0, 0.0) == "on track"  # nothing expected yet
    with pytest.raises(ValueError):
        Thresholds(on_track=0.5, at_risk=0.8)


def test_sex_disaggregated_progress():
    female, male = ("sex", "female"), ("sex", "male")
    periods = (
        PeriodData(
            date(2024, 1, 1),
            date(2024, 12, 31),
            100,
            Actual(90),
            {female: 60, male: 40},
            {female: Actual(50), male: Actual(40)},
        ),
        PeriodData(
            date(2025, 1, 1),
            date(2025, 12, 31),
            100,
            Actual(80),
            {female: 70, male: 30},
            {female: Actual(70), male: Actual(10)},
        ),
    )
    ind = IndicatorData(
        "9", "Trained", baseline=0, periods=periods, dimensions=(("sex", ("female", "male")),)
    )
    result = progress(ind).as_dict()
    assert result["disaggregations"]["sex"]["female"] == {
        "target": 130,
        "actual": 120,
        "progress": round(120 / 130, 4),
    }
    assert result["disaggregations"]["sex"]["male"] == {
        "target": 70,
        "actual": 50,
        "progress": round(50 / 70, 4),
    }


def test_result_rollup_counts_descendants():
    results = [ResultData("O1", "Outcome", "outcome"), ResultData("1.1", "Output", "output", "O1")]
    on = progress(
        IndicatorData("a", "A", baseline=0, result_code="O1", periods=years((10, Actual(9)))),
        today=END,
    )
    off = progress(
        IndicatorData("b", "B", baseline=0, result_code="1.1", periods=years((10, Actual(1)))),
        today=END,
    )
    none = progress(IndicatorData("c", "C", result_code="1.1"), today=END)
    summary = rollup_results(results, [on, off, none])
    assert summary["O1"]["counts"] == {"on track": 1, "at risk": 0, "off track": 1, "no data": 1}
    assert summary["O1"]["status"] == "off track"  # a tie goes to the worse status
    assert summary["O1"]["progress"] == pytest.approx((0.9 + 0.1) / 2)
    assert summary["1.1"]["indicators"] == 2


def country(code, numerator, denominator, trained, target=100, currency="USD"):
    return ProjectData(
        code,
        code,
        START,
        END,
        currency,
        indicators=(
            IndicatorData(
                "P",
                "Share",
                measure="percentage",
                aggregation="latest",
                baseline=10,
                periods=years((target, Actual(numerator=numerator, denominator=denominator))),
            ),
            IndicatorData("T", "Trained", baseline=0, periods=years((target, Actual(trained)))),
        ),
    )


def test_programme_rollup_sums_units_and_recomputes_ratios():
    rolled = {
        p.indicator.code: p
        for p in rollup_programme(
            [country("KH", 10, 100, 30, target=50), country("BD", 270, 300, 60, target=90)],
            today=MID,
        )
    }
    share = rolled["P"].figures
    assert share.actual == pytest.approx(100 * 280 / 400)  # 70 %, not mean(10 %, 90 %) = 50 %
    assert share.target == pytest.approx((50 * 100 + 90 * 300) / 400)  # denominator-weighted
    assert rolled["T"].figures.actual == 90 and rolled["T"].figures.target == 140
    assert rolled["T"].indicator.project_code == "KH+BD"


def test_programme_rollup_refuses_mixed_currencies():
    a = ProjectData(
        "A", "A", START, END, "USD", indicators=(IndicatorData("C", "c", measure="currency"),)
    )
    b = ProjectData(
        "B", "B", START, END, "EUR", indicators=(IndicatorData("C", "c", measure="currency"),)
    )
    with pytest.raises(ValueError, match="mixes currencies"):
        rollup_programme([a, b], today=MID)


values = st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=6)


@given(kh=values, bd=values, extra=st.integers(min_value=0, max_value=10_000))
def test_cumulative_rollups_never_go_down_when_a_period_is_added(kh, bd, extra):
    def project(code, actuals):
        periods = tuple(
            PeriodData(date(2024, 1, 1 + i), date(2024, 1, 1 + i), 1000, Actual(v))
            for i, v in enumerate(actuals)
        )
        return ProjectData(
            code,
            code,
            START,
            END,
            indicators=(IndicatorData("T", "Trained", baseline=0, periods=periods),),
        )

    before = rollup_programme([project("KH", kh), project("BD", bd)], today=MID)[0]
    after = rollup_programme([project("KH", [*kh, extra]), project("BD", bd)], today=MID)[0]
    assert after.figures.actual >= before.figures.actual
