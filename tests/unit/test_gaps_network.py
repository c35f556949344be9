"""Gaps and the stakeholder network on plain data (no database)."""

from __future__ import annotations

import json
import math
from datetime import date

import networkx as nx
import pytest

from coordination.analysis.gaps import (
    BrandGap,
    ConstituencyGap,
    CoverageGap,
    active_interventions,
    constituency_gaps,
    coverage_gaps,
    partnership_gaps,
    project_scope,
)
from coordination.analysis.network import (
    annotate,
    build_network,
    export_network,
    network_metrics,
)
from coordination.analysis.overlaps import find_overlaps
from coordination.analysis.snapshot import (
    AreaRecord,
    BodyMembershipRecord,
    InterventionRecord,
    OrganisationRecord,
    PartnershipRecord,
    Place,
    ProjectRecord,
    Snapshot,
)

TODAY = date(2025, 6, 1)
ORGS = {
    1: OrganisationRecord(1, "NGO1", "NGO one", "ngo", "none"),
    2: OrganisationRecord(2, "NGO2", "NGO two", "ngo", "none"),
    3: OrganisationRecord(3, "GOV", "Ministry", "government", "government", "BD"),
    4: OrganisationRecord(4, "UNION", "Union", "workers_organisation", "workers", "BD"),
    5: OrganisationRecord(5, "BRAND", "Brand", "brand", "none"),
    6: OrganisationRecord(6, "EMP", "Employers", "employers_organisation", "employers", "BD"),
}


CHATTOGRAM = (Place("BD", 1),)


def record(code, lead, *, themes=("gender-equality",), places=CHATTOGRAM, **kw):
    values = {
        "id": abs(hash(code)) % 10_000,
        "code": code,
        "lead": lead,
        "intervention_type": "training",
        "start": date(2025, 1, 1),
        "end": date(2025, 12, 31),
        "themes": frozenset(themes),
        "places": frozenset(places),
        "target_groups": frozenset({"women-workers"}),
    }
    values.update(kw)
    return InterventionRecord(**values)


def snapshot(interventions, **kw):
    values = {
        "interventions": tuple(interventions),
        "organisations": ORGS,
        "projects": (
            ProjectRecord(
                1,
                "P",
                "implementation",
                frozenset({"BD"}),
                frozenset({"gender-equality", "social-dialogue"}),
            ),
        ),
        "areas": {
            1: AreaRecord(1, "BD", "BD-B", "Chattogram"),
            2: AreaRecord(2, "BD", "BD-C", "Dhaka"),
        },
    }
    values.update(kw)
    return Snapshot(**values)


# --- partnership gaps -------------------------------------------------------------------------


def test_partnership_gaps_rank_by_strength_and_skip_partners_and_body_peers():
    records = [
        record("A1", 1),
        record("A2", 1, places=(Place("BD"),)),
        record("B1", 2),
        record("G1", 3),
        record("U1", 4),
    ]
    data = snapshot(
        records,
        partnerships=(PartnershipRecord(1, frozenset({1, 3})),),
        memberships=(BodyMembershipRecord(7, 2, None, None), BodyMembershipRecord(7, 4)),
    )
    pairs = find_overlaps(records, today=TODAY).pairs
    gaps = partnership_gaps(data, pairs)
    # NGO1-GOV partner, NGO2-UNION sit on body 7; the same organisation is never a gap
    assert {(g.a, g.b) for g in gaps} == {
        ("NGO1", "NGO2"),
        ("NGO1", "UNION"),
        ("GOV", "NGO2"),
        ("GOV", "UNION"),
    }
    first = gaps[0]
    assert (first.a, first.b, first.overlaps) in {("NGO1", "NGO2", 2), ("NGO1", "UNION", 2)}
    assert first.score == max(g.score for g in gaps)
    assert all(a.score >= b.score for a, b in zip(gaps, gaps[1:], strict=False))
    assert gaps[0].as_dict()["pairs"] == [list(p) for p in gaps[0].pairs]


def test_no_overlaps_no_partnership_gaps():
    data = snapshot([record("A1", 1), record("B1", 2, places=(Place("BD", 2),))])
    assert partnership_gaps(data, find_overlaps(data.interventions, today=TODAY).pairs) == []


# --- constituency gaps ----------------------------------------------------------------------


def test_constituency_gaps_per_country_and_theme_of_the_projects_scope():
    data = snapshot(
        [
            record("G1", 3),
            record("E1", 6, themes=("social-dialogue",)),
            record("U-closed", 4, status="closed"),
            record("U-ended", 4, end=date(2025, 5, 31)),
            record("U-elsewhere", 4, places=(Place("VN"),)),
        ]
    )
    assert project_scope(data) == {("BD", "gender-equality"), ("BD", "social-dialogue")}
    gaps, _ = constituency_gaps(data, TODAY)
    assert gaps == [
        ConstituencyGap("BD", "gender-equality", ("employers", "workers")),
        ConstituencyGap("BD", "social-dialogue", ("government", "workers")),
    ]
    assert gaps[0].as_dict() == {
        "kind": "constituency",
        "country": "BD",
        "theme": "gender-equality",
        "missing": ["employers", "workers"],
    }


def test_partners_count_as_active_and_closed_projects_are_out_of_scope():
    data = snapshot(
        [record("N1", 1, partners=frozenset({3, 4, 6}))],
        projects=(
            ProjectRecord(
                1, "P", "implementation", frozenset({"BD"}), frozenset({"gender-equality"})
            ),
            ProjectRecord(2, "OLD", "closed", frozenset({"VN"}), frozenset({"gender-equality"})),
        ),
    )
    assert constituency_gaps(data, TODAY)[0] == []


def test_brands_need_a_workers_partner_in_each_country_they_work_in():
    brand_work = [
        record("B-BD", 5),
        record("B-VN", 5, places=(Place("VN"),)),
        record("U-VN", 4, places=(Place("VN"),)),
    ]
    assert constituency_gaps(snapshot(brand_work), TODAY)[1] == [
        BrandGap("BRAND", "BD"),
        BrandGap("BRAND", "VN"),
    ]
    # a partnership that names Bangladesh covers Bangladesh only
    named = snapshot(
        brand_work, partnerships=(PartnershipRecord(1, frozenset({4, 5}), frozenset({"BD"})),)
    )
    assert constituency_gaps(named, TODAY)[1] == [BrandGap("BRAND", "VN")]
    # one that names no country covers where the union is based or active (BD and VN)
    anywhere = snapshot(brand_work, partnerships=(PartnershipRecord(1, frozenset({4, 5})),))
    assert constituency_gaps(anywhere, TODAY)[1] == []
    # a partnership with a non-union does not count
    other = snapshot(brand_work, partnerships=(PartnershipRecord(1, frozenset({1, 5})),))
    assert len(constituency_gaps(other, TODAY)[1]) == 2


# --- coverage gaps ---------------------------------------------------------------------------


def test_coverage_gaps_per_cell_and_recorded_area():
    data = snapshot(
        [
            record("G-CTG", 1),  # gender in Chattogram
            record("G-DHK-old", 1, places=(Place("BD", 2),), status="closed"),  # Dhaka, closed
            record("SD-BD", 4, themes=("social-dialogue",), places=(Place("BD"),)),
        ]
    )
    assert coverage_gaps(data, TODAY) == [CoverageGap("gender-equality", "BD", "BD-C")]


def test_whole_cells_without_any_active_intervention():
    data = snapshot([record("G-future", 1, status="pipeline", start=date(2026, 1, 1), end=None)])
    assert [r.code for r in active_interventions(data.interventions, TODAY)] == ["G-future"]
    # the whole country has no social dialogue, nor has Chattogram, where work is recorded
    assert coverage_gaps(data, TODAY) == [
        CoverageGap("social-dialogue", "BD", None),
        CoverageGap("social-dialogue", "BD", "BD-B"),
    ]


# --- network ---------------------------------------------------------------------------------


@pytest.fixture
def network():
    data = snapshot(
        [
            record("J1", 1, partners=frozenset({2})),
            record("J2", 2, partners=frozenset({3})),
            record("J3", 3, partners=frozenset({4})),
        ],
        partnerships=(PartnershipRecord(1, frozenset({1, 2})),),
        memberships=(BodyMembershipRecord(9, 3), BodyMembershipRecord(9, 4)),
        meetings=(frozenset({3, 4, 99}),),  # 99: an organisation not in the snapshot
    )
    return build_network(data)


def test_network_edges_keep_kinds_and_weights(network):
    assert set(network.nodes) == {"NGO1", "NGO2", "GOV", "UNION", "BRAND", "EMP"}
    edge = network.edges["NGO1", "NGO2"]
    assert (edge["kinds"], edge["weight"], edge["partnership"], edge["intervention"]) == (
        "intervention;partnership",
        2.0,
        1,
        1,
    )
    assert network.edges["GOV", "UNION"]["kinds"] == "body;intervention;meeting"
    assert network.edges["GOV", "UNION"]["distance"] == pytest.approx(1 / 3)
    assert network.nodes["GOV"]["constituency"] == "government"


def test_network_metrics_find_brokers_communities_and_isolates(network):
    metrics = network_metrics(network)
    assert metrics.isolates == ("BRAND", "EMP")
    # the chain NGO1 - NGO2 - GOV - UNION: the middle two broker
    assert {n for n, _ in metrics.brokers(2)} == {"NGO2", "GOV"}
    assert metrics.betweenness["NGO1"] == 0
    assert metrics.constraint["NGO1"] == pytest.approx(1.0)
    assert metrics.constraint["NGO2"] < 1.0
    assert "BRAND" not in metrics.constraint
    assert sorted(n for c in metrics.communities for n in c) == ["GOV", "NGO1", "NGO2", "UNION"]
    assert metrics == network_metrics(network)  # the seed makes runs agree
    assert metrics.degree["BRAND"] == 0.0


def test_annotate_copies_and_exports_round_trip(network, tmp_path):
    metrics = network_metrics(network)
    annotated = annotate(network, metrics)
    assert "betweenness" not in network.nodes["GOV"]  # the input is not changed
    assert annotated.nodes["BRAND"]["community"] == 0
    assert annotated.nodes["BRAND"]["constraint"] == -1.0
    for fmt, reader in (("graphml", nx.read_graphml), ("gexf", nx.read_gexf)):
        path = tmp_path / f"n.{fmt}"
        path.write_bytes(export_network(annotated, fmt))
        loaded = reader(path)
        assert set(loaded.nodes) == set(network.nodes)
        assert math.isclose(float(loaded.nodes["GOV"]["betweenness"]), metrics.betweenness["GOV"])
    blueprint = json.loads(export_network(annotated, "json"))
    assert {e["id"] for e in blueprint["elements"]} == set(network.nodes)
    assert len(blueprint["connections"]) == network.number_of_edges()
    with pytest.raises(ValueError, match="unknown network format"):
        export_network(network, "dot")


def test_partnership_gaps_read_pair_lists_and_plain_pairs_alike():
    records = [record("A1", 1), record("A2", 1, places=(Place("BD"),)), record("B1", 2)]
    data = snapshot(records)
    report = find_overlaps(records, today=TODAY)
    from_arrays = partnership_gaps(data, report.pairs)
    from_objects = partnership_gaps(data, list(report.pairs))
    assert from_arrays == from_objects
    (gap,) = partnership_gaps(data, report.pairs, examples=1)
    assert (gap.a, gap.b, gap.overlaps, len(gap.pairs)) == ("NGO1", "NGO2", 2, 1)
    # several sets add up (the CLI adds pairs a coordinator judged complementary)
    (twice,) = partnership_gaps(data, report.pairs, list(report.pairs))
    assert twice.overlaps == 4 and twice.score == pytest.approx(2 * gap.score)
    assert partnership_gaps(data) == []
