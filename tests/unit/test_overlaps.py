"""Overlap analysis: the definitions pinned by examples, the fast path checked against brute force."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coordination.analysis.overlaps import (
    DUPLICATE,
    OVERLAP,
    find_overlaps,
    is_duplicate,
    overlap,
    overlap_clusters,
    overlapping_pairs,
    reference_clusters,
    reference_pairs,
    score_pair,
)
from coordination.analysis.snapshot import DecisionRecord, InterventionRecord, Place, fingerprint

TODAY = date(2026, 1, 1)
BD, BD_C, BD_D, VN = Place("BD"), Place("BD", 1), Place("BD", 2), Place("VN")


def record(
    code: str,
    *,
    start: date = date(2025, 1, 1),
    end: date | None = date(2025, 6, 30),
    themes=("gender-equality",),
    places=(BD_C,),
    groups=("women-workers",),
    kind: str = "training",
    lead: int = 1,
    status: str = "implementation",
    title: str = "",
    version: int = 1,
) -> InterventionRecord:
    return InterventionRecord(
        id=hash(code) & 0xFFFF,
        code=code,
        lead=lead,
        intervention_type=kind,
        start=start,
        end=end,
        themes=frozenset(themes),
        places=frozenset(places),
        target_groups=frozenset(groups),
        title=title,
        status=status,
        version=version,
    )


# --- the definition, one rule at a time ---------------------------------------------------


def test_same_area_same_theme_same_months_overlap():
    assert overlap(record("A"), record("B"), TODAY)


def test_no_shared_theme_no_overlap():
    assert not overlap(record("A"), record("B", themes=("productivity",)), TODAY)


def test_different_areas_of_one_country_do_not_overlap():
    assert not overlap(record("A", places=(BD_C,)), record("B", places=(BD_D,)), TODAY)


def test_country_level_overlaps_any_place_in_that_country():
    assert overlap(record("A", places=(BD,)), record("B", places=(BD_D,)), TODAY)
    assert overlap(record("A", places=(BD,)), record("B", places=(BD,)), TODAY)
    assert not overlap(record("A", places=(BD,)), record("B", places=(VN,)), TODAY)


def test_one_shared_place_among_several_is_enough():
    assert overlap(record("A", places=(BD_C, VN)), record("B", places=(BD_D, VN)), TODAY)


def test_dates_are_inclusive():
    a = record("A", end=date(2025, 3, 31))
    assert overlap(a, record("B", start=date(2025, 3, 31), end=date(2025, 4, 30)), TODAY)
    assert not overlap(a, record("B", start=date(2025, 4, 1), end=date(2025, 4, 30)), TODAY)


def test_open_end_means_ongoing_until_today():
    ongoing = record("A", start=date(2024, 1, 1), end=None)
    assert overlap(ongoing, record("B", start=date(2025, 12, 31), end=date(2026, 3, 1)), TODAY)
    assert not overlap(ongoing, record("B", start=date(2026, 1, 2), end=date(2026, 3, 1)), TODAY)


def test_an_intervention_does_not_overlap_itself_and_cancelled_ones_overlap_nothing():
    a = record("A")
    assert not overlap(a, a, TODAY)
    assert not overlap(a, record("B", status="cancelled"), TODAY)


def test_duplicate_needs_a_shared_target_group_and_the_same_type():
    a = record("A")
    assert is_duplicate(a, record("B"), TODAY)
    assert not is_duplicate(a, record("B", groups=("smes",)), TODAY)
    assert not is_duplicate(a, record("B", kind="research"), TODAY)
    assert not is_duplicate(a, record("B", places=(BD_D,)), TODAY)


# --- scores and reasons ------------------------------------------------------------------------


def test_score_is_higher_the_more_two_interventions_share():
    a = record("A", title="Gender training for women workers in Chattogram")
    twin = score_pair(a, record("B", title="Gender training of women workers, Chattogram"), TODAY)
    loose = score_pair(
        a,
        record(
            "C",
            places=(BD,),
            groups=("smes",),
            kind="research",
            start=date(2025, 6, 1),
            end=date(2026, 6, 1),
            themes=("gender-equality", "productivity"),
        ),
        TODAY,
    )
    assert twin.kind == DUPLICATE and loose.kind == OVERLAP
    assert 0 <= loose.score < twin.score <= 1
    assert "similar_text" in twin.reasons and "same_type" in twin.reasons
    assert "same_type" not in loose.reasons
    assert twin.days == 181 and loose.days == 30
    assert loose.places == (BD_C,)


def test_identical_pairs_score_one_and_flag_the_same_organisation():
    pair = score_pair(record("B", title="x y z"), record("A", title="x y z"), TODAY)
    assert (pair.a, pair.b) == ("A", "B")
    assert pair.same_organisation and "same_organisation" in pair.reasons
    # identical records share everything except words (3 letters minimum): 0.8 of 1
    assert pair.score == 0.8
    other = score_pair(record("A", lead=1), record("B", lead=2), TODAY)
    assert not other.same_organisation


def test_as_dict_has_the_cli_json_shape():
    pair = score_pair(record("A"), record("B", lead=2), TODAY)
    assert pair.as_dict(lambda p: "BD-C") == {
        "a": "A",
        "b": "B",
        "kind": "duplicate",
        "score": pair.score,
        "same_organisation": False,
        "shared": {
            "themes": ["gender-equality"],
            "places": ["BD-C"],
            "target_groups": ["women-workers"],
            "days": 181,
        },
        "reasons": list(pair.reasons),
    }


# --- the report: filters, clusters, decisions -----------------------------------------------


def test_find_overlaps_filters_by_kind_and_score():
    records = [
        record("A"),
        record("B", lead=2),
        record("C", places=(BD,), kind="research", lead=3),
        record("D", places=(BD_D,), lead=4),
    ]
    report = find_overlaps(records, today=TODAY)
    assert {(p.a, p.b) for p in report.pairs} == {("A", "B"), ("A", "C"), ("B", "C"), ("C", "D")}
    # Per theme and place: C (country level) meets both areas, but A and B in area C
    # and D in area D are two clusters, with C in each.
    assert [(c.codes, c.themes, c.places) for c in report.clusters] == [
        (("A", "B", "C"), ("gender-equality",), (BD_C,)),
        (("C", "D"), ("gender-equality",), (BD_D,)),
    ]
    duplicates = find_overlaps(records, today=TODAY, duplicates_only=True)
    assert [(p.a, p.b) for p in duplicates.pairs] == [("A", "B")]
    best = report.pairs[0].score
    assert [p.score for p in find_overlaps(records, today=TODAY, min_score=best).pairs] == [best]


def _decision(a: InterventionRecord, b: InterventionRecord, kind="complementary"):
    return DecisionRecord(
        a=a.code,
        b=b.code,
        decision=kind,
        a_version=a.version,
        b_version=b.version,
        a_fingerprint=fingerprint(a),
        b_fingerprint=fingerprint(b),
    )


def test_decided_pairs_are_suppressed_until_either_intervention_changes():
    a, b = record("A"), record("B", lead=2)
    decision = _decision(a, b)
    report = find_overlaps([a, b], today=TODAY, decisions=[decision])
    assert list(report.pairs) == []
    assert [(p.a, p.b, d.decision) for p, d in report.decided] == [("A", "B", "complementary")]
    # a row edit bumps the version
    report = find_overlaps([a, record("B", lead=2, version=2)], today=TODAY, decisions=[decision])
    assert [(p.a, p.b) for p in report.pairs] == [("A", "B")]
    # a link-table edit (a new target group) keeps the version but changes the fingerprint
    edited = record("A", groups=("women-workers", "smes"))
    report = find_overlaps([edited, b], today=TODAY, decisions=[decision])
    assert [(p.a, p.b) for p in report.pairs] == [("A", "B")] and report.decided == ()


def test_records_without_themes_or_places_overlap_nothing():
    records = [record("A"), record("B", themes=()), record("C", places=())]
    assert overlapping_pairs(records, TODAY) == []
    assert overlap_clusters(records, TODAY) == []


# --- the fast algorithm equals the brute-force definition -----------------------------------

THEMES = ["t1", "t2", "t3"]
GROUPS = ["g1", "g2", "g3"]
PLACES = [Place("AA"), Place("AA", 1), Place("AA", 2), Place("AA", 3), Place("BB"), Place("BB", 4)]
BASE = date(2025, 1, 1)


@st.composite
def records_strategy(draw):
    n = draw(st.integers(min_value=0, max_value=40))
    records = []
    for index in range(n):
        start = BASE + timedelta(days=draw(st.integers(0, 120)))
        end = draw(
            st.one_of(
                st.none(),
                st.integers(0, 60).map(lambda d, s=start: s + timedelta(days=d)),
            )
        )
        records.append(
            InterventionRecord(
                id=index,
                code=f"I{index:03d}",
                lead=draw(st.integers(1, 4)),
                intervention_type=draw(st.sampled_from(["training", "research"])),
                start=start,
                end=end,
                themes=frozenset(draw(st.sets(st.sampled_from(THEMES), max_size=2))),
                places=frozenset(draw(st.sets(st.sampled_from(PLACES), max_size=3))),
                target_groups=frozenset(draw(st.sets(st.sampled_from(GROUPS), max_size=2))),
                status=draw(st.sampled_from(["implementation"] * 5 + ["cancelled"])),
            )
        )
    return records


today_strategy = st.dates(min_value=date(2024, 12, 1), max_value=date(2025, 8, 1))


@settings(max_examples=300, deadline=None)
@given(records=records_strategy(), today=today_strategy)
def test_fast_pairs_equal_brute_force(records, today):
    fast = [(a.code, b.code) for a, b in overlapping_pairs(records, today)]
    assert len(fast) == len(set(fast))
    assert set(fast) == reference_pairs(records, today)


@settings(max_examples=300, deadline=None)
@given(records=records_strategy(), today=today_strategy)
def test_fast_duplicates_equal_brute_force(records, today):
    fast = {(a.code, b.code) for a, b in overlapping_pairs(records, today, duplicates_only=True)}
    assert fast == reference_pairs(records, today, duplicates_only=True)


@settings(max_examples=300, deadline=None)
@given(records=records_strategy(), today=today_strategy)
def test_fast_clusters_equal_brute_force_components(records, today):
    fast = [c.codes for c in overlap_clusters(records, today)]
    assert fast == reference_clusters(records, today)


@settings(max_examples=100, deadline=None)
@given(records=records_strategy(), today=today_strategy)
def test_every_reported_pair_is_scored_and_bound_by_its_cluster(records, today):
    report = find_overlaps(records, today=today)
    by_code = {r.code: r for r in records}
    for pair in report.pairs:
        assert 0.0 <= pair.score <= 1.0
        # the array scoring of the fast path agrees with scoring one pair at a time
        single = score_pair(by_code[pair.a], by_code[pair.b], today)
        assert abs(single.score - pair.score) <= 0.0011
        assert single.kind == pair.kind and single.parts == pair.parts
        assert pair.kind == (
            DUPLICATE if is_duplicate(by_code[pair.a], by_code[pair.b], today) else OVERLAP
        )
        # some cluster holds both, bound by a theme they share
        assert any(
            {pair.a, pair.b} <= set(c.codes) and set(pair.themes) & set(c.themes)
            for c in report.clusters
        )


@pytest.mark.parametrize("today", [date(2024, 1, 1)])
def test_open_end_starting_after_today_lasts_one_day(today):
    future = record("A", start=date(2025, 1, 1), end=None)
    assert overlap(future, record("B", start=date(2025, 1, 1), end=date(2025, 1, 1)), today)
    assert not overlap(future, record("B", start=date(2025, 1, 2), end=date(2025, 2, 1)), today)


@settings(max_examples=100, deadline=None)
@given(records=records_strategy(), today=today_strategy)
def test_pairs_found_in_small_chunks_are_the_same(records, today):
    import coordination.analysis.overlaps as module

    whole = overlapping_pairs(records, today)
    chunk, module._PAIR_CHUNK = module._PAIR_CHUNK, 3
    try:
        assert overlapping_pairs(records, today) == whole
    finally:
        module._PAIR_CHUNK = chunk
