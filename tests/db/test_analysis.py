"""Coordination analysis from the database: snapshot, overlaps, gaps, network, decisions."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import event, func, select

from coordination.analysis.gaps import (
    BrandGap,
    ConstituencyGap,
    CoverageGap,
    constituency_gaps,
    coverage_gaps,
    partnership_gaps,
)
from coordination.analysis.network import build_network, network_metrics
from coordination.analysis.overlaps import DUPLICATE, OVERLAP, find_overlaps
from coordination.analysis.snapshot import (
    Place,
    load_interventions,
    load_overlap_snapshot,
    load_snapshot,
)
from coordination.errors import ValidationError
from coordination.models import AuditEntry, OverlapDecision
from coordination.services.overlaps import decide_overlap, undo_overlap_decision
from tests import factories

TODAY = date(2025, 6, 1)


class QueryCounter:
    def __init__(self, engine):
        self.engine, self.count = engine, 0

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._count)

    def _count(self, *args, **kwargs):
        self.count += 1


@pytest.fixture
def scenario(session):
    data = factories.create_overlap_scenario(session)
    session.commit()
    return data


def test_snapshot_is_plain_data_loaded_in_a_handful_of_queries(engine, session, scenario):
    with engine.connect() as connection, QueryCounter(engine) as counter:
        snapshot = load_snapshot(connection)
    assert counter.count == 18  # one per table, whatever the number of rows
    records = {r.code: r for r in snapshot.interventions}
    assert len(records) == 7
    ctg = factories.area(session, "BD-B")
    fwf = records["FWF-GE-CTG"]
    assert fwf.places == frozenset({Place("BD", ctg.id)})
    assert fwf.themes == frozenset({"gender-equality"})
    assert fwf.target_groups == frozenset({"women-workers", "female-leaders"})
    assert fwf.partners == frozenset({scenario["organisations"]["BGMEA"].id})
    assert (
        records["IBC-SD-BD"].places == frozenset({Place("BD")}) and records["IBC-SD-BD"].end is None
    )
    assert snapshot.place_label(Place("BD", ctg.id)) == "BD-B"
    assert {o.acronym for o in snapshot.organisations.values()} >= {"CARE", "FWF", "IBC"}
    assert snapshot.projects[0].countries == frozenset({"BD"})
    assert len(snapshot.meetings) == 1 and len(snapshot.memberships) == 2

    with engine.connect() as connection, QueryCounter(engine) as counter:
        load_interventions(connection, details=False)
    assert counter.count == 4


def test_scenario_finds_the_deliberate_duplicate_and_nothing_else(engine, scenario):
    with engine.connect() as connection:
        snapshot = load_overlap_snapshot(connection)
    report = find_overlaps(snapshot.interventions, today=TODAY)
    found = {(p.a, p.b): p for p in report.pairs}
    assert set(found) == {("CARE-GE-CTG", "FWF-GE-CTG"), ("IBC-SD-BD", "MOLE-SD-DHK")}
    duplicate = found[("CARE-GE-CTG", "FWF-GE-CTG")]
    assert duplicate.kind == DUPLICATE and not duplicate.same_organisation
    assert duplicate.target_groups == ("women-workers",) and duplicate.days == 153
    assert "similar_text" in duplicate.reasons
    assert found[("IBC-SD-BD", "MOLE-SD-DHK")].kind == OVERLAP
    assert [c.codes for c in report.clusters] == [
        ("CARE-GE-CTG", "FWF-GE-CTG"),
        ("IBC-SD-BD", "MOLE-SD-DHK"),
    ]


def test_scenario_gaps(session, engine, scenario):
    with engine.connect() as connection:
        snapshot = load_snapshot(connection)
    report = find_overlaps(snapshot.interventions, today=TODAY)
    gaps = partnership_gaps(snapshot, report.pairs)
    # MOLE and IBC overlap but sit on the same council: no gap between them.
    assert [(g.a, g.b, g.overlaps) for g in gaps] == [("CARE", "FWF", 1)]

    constituencies, brands = constituency_gaps(snapshot, TODAY)
    assert constituencies == [
        ConstituencyGap("BD", "gender-equality", ("government", "workers")),
        ConstituencyGap("BD", "social-dialogue", ("employers",)),
    ]
    assert brands == [BrandGap("HM", "BD")]
    assert coverage_gaps(snapshot, TODAY) == [CoverageGap("gender-equality", "BD", "BD-D")]

    org = scenario["organisations"]
    factories.create_partnership(session, [org["HM"], org["IBC"]])
    factories.create_partnership(session, [org["CARE"], org["FWF"]])
    session.commit()
    with engine.connect() as connection:
        snapshot = load_snapshot(connection)
    assert constituency_gaps(snapshot, TODAY)[1] == []
    assert partnership_gaps(snapshot, report.pairs) == []


def test_scenario_network(engine, scenario):
    with engine.connect() as connection:
        graph = build_network(load_snapshot(connection))
    assert graph.edges["IBC", "MOLE"]["kinds"] == "body;meeting"
    assert graph.edges["IBC", "MOLE"]["weight"] == 2.0
    assert graph.edges["BGMEA", "FWF"]["kinds"] == "intervention"
    metrics = network_metrics(graph)
    assert {"CARE", "HM"} <= set(metrics.isolates)
    assert metrics.brokers(1) == [("BGMEA", metrics.betweenness["BGMEA"])]


def _pairs(engine):
    with engine.connect() as connection:
        snapshot = load_overlap_snapshot(connection)
    report = find_overlaps(snapshot.interventions, today=TODAY, decisions=snapshot.decisions)
    return {(p.a, p.b) for p in report.pairs}, {(p.a, p.b) for p, _ in report.decided}


def test_decision_suppresses_the_pair_until_an_intervention_changes(session, engine, scenario):
    row = decide_overlap(
        session,
        "FWF-GE-CTG",
        "CARE-GE-CTG",
        "complementary",
        " same province ",
        "coordinator@ilo.org",
    )
    session.commit()
    assert (row.a_code, row.b_code, row.note) == ("CARE-GE-CTG", "FWF-GE-CTG", "same province")
    pairs, decided = _pairs(engine)
    assert decided == {("CARE-GE-CTG", "FWF-GE-CTG")}
    assert pairs == {("IBC-SD-BD", "MOLE-SD-DHK")}

    # a change to a link table only (one more target group) brings the pair back
    intervention = scenario["interventions"]["CARE-GE-CTG"]
    intervention.target_groups.append(factories.target_group(session, "migrant-workers"))
    session.commit()
    pairs, decided = _pairs(engine)
    assert ("CARE-GE-CTG", "FWF-GE-CTG") in pairs and decided == set()

    # deciding again (it replaces the earlier verdict) suppresses it again; a column edit
    # (a new title bumps the version) brings it back once more
    decide_overlap(session, "CARE-GE-CTG", "FWF-GE-CTG", "confirmed_duplicate", None, "c@ilo.org")
    session.commit()
    assert session.scalar(select(func.count()).select_from(OverlapDecision)) == 1
    assert _pairs(engine)[1] == {("CARE-GE-CTG", "FWF-GE-CTG")}
    scenario["interventions"]["FWF-GE-CTG"].title = "Renamed"
    session.commit()
    assert ("CARE-GE-CTG", "FWF-GE-CTG") in _pairs(engine)[0]

    entries = session.scalars(
        select(AuditEntry).where(AuditEntry.entity_type == "OverlapDecision")
    ).all()
    assert [e.action for e in entries] == ["create", "update"]

    assert undo_overlap_decision(session, "FWF-GE-CTG", "CARE-GE-CTG") is True
    assert undo_overlap_decision(session, "FWF-GE-CTG", "CARE-GE-CTG") is False


@pytest.mark.parametrize(
    ("a", "b", "decision", "actor", "field"),
    [
        ("CARE-GE-CTG", "NOPE", "complementary", "x@ilo.org", "b_code"),
        ("CARE-GE-CTG", "CARE-GE-CTG", "complementary", "x@ilo.org", "b_code"),
        ("CARE-GE-CTG", "FWF-GE-CTG", "maybe", "x@ilo.org", "decision"),
        ("CARE-GE-CTG", "FWF-GE-CTG", "complementary", " ", "decided_by"),
    ],
)
def test_decide_overlap_rejects_bad_input(session, scenario, a, b, decision, actor, field):
    with pytest.raises(ValidationError) as raised:
        decide_overlap(session, a, b, decision, None, actor)
    assert field in raised.value.errors
