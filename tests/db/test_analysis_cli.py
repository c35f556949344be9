"""The `overlaps`, `gaps` and `network` commands, invoked as a user would."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ElementTree

import networkx as nx
import pytest
from click.testing import CliRunner

from coordination.commands.analysis import (
    COMMANDS,
    gaps_command,
    network_command,
    overlaps_command,
)
from coordination.services.overlaps import decide_overlap
from tests import factories

TODAY = ["--today", "2025-06-01"]


@pytest.fixture
def scenario(session):
    data = factories.create_overlap_scenario(session)
    session.commit()
    return data


def run(command, db_url, *args):
    result = CliRunner().invoke(command, ["--database", db_url, *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_commands_are_exported_for_the_cli_group():
    assert [c.name for c in COMMANDS] == ["overlaps", "gaps", "network"]


def test_overlaps_json_lists_every_pair_and_the_clusters(db_url, scenario):
    document = json.loads(run(overlaps_command, db_url, "--format", "json", *TODAY))
    assert set(document) == {"pairs", "clusters"}
    pairs = {(p["a"], p["b"]): p for p in document["pairs"]}
    assert set(pairs) == {("CARE-GE-CTG", "FWF-GE-CTG"), ("IBC-SD-BD", "MOLE-SD-DHK")}
    duplicate = pairs[("CARE-GE-CTG", "FWF-GE-CTG")]
    assert duplicate["kind"] == "duplicate" and duplicate["same_organisation"] is False
    assert 0 < duplicate["score"] <= 1
    assert duplicate["shared"] == {
        "themes": ["gender-equality"],
        "places": ["BD-B"],
        "target_groups": ["women-workers"],
        "days": 153,
    }
    assert pairs[("IBC-SD-BD", "MOLE-SD-DHK")]["shared"]["places"] == ["BD-C"]
    assert document["clusters"] == [
        ["CARE-GE-CTG", "FWF-GE-CTG"],
        ["IBC-SD-BD", "MOLE-SD-DHK"],
    ]


def test_overlaps_filters(db_url, scenario):
    duplicates = json.loads(
        run(overlaps_command, db_url, "--format", "json", "--duplicates-only", *TODAY)
    )
    assert [(p["a"], p["b"]) for p in duplicates["pairs"]] == [("CARE-GE-CTG", "FWF-GE-CTG")]
    strict = json.loads(run(overlaps_command, db_url, "--format", "json", "--min-score", "1"))
    assert strict["pairs"] == []


def test_overlaps_csv_and_table(db_url, scenario):
    rows = list(
        csv.DictReader(io.StringIO(run(overlaps_command, db_url, "--format", "csv", *TODAY)))
    )
    assert [(r["a"], r["b"], r["kind"]) for r in rows] == [
        ("CARE-GE-CTG", "FWF-GE-CTG", "duplicate"),
        ("IBC-SD-BD", "MOLE-SD-DHK", "overlap"),
    ]
    assert rows[0]["places"] == "BD-B" and rows[0]["same_organisation"] == "no"
    table = run(overlaps_command, db_url, *TODAY)
    assert table.startswith("2 overlapping pairs (1 likely duplicates), 2 clusters")
    assert "CARE-GE-CTG" in table and "social-dialogue" in table


def test_decided_pairs_are_left_out(db_url, session, scenario):
    decide_overlap(session, "CARE-GE-CTG", "FWF-GE-CTG", "complementary", None, "c@ilo.org")
    session.commit()
    table = run(overlaps_command, db_url, *TODAY)
    assert "1 pairs already decided and left out" in table
    document = json.loads(run(overlaps_command, db_url, "--format", "json", *TODAY))
    assert [(p["a"], p["b"]) for p in document["pairs"]] == [("IBC-SD-BD", "MOLE-SD-DHK")]
    # a complementary pair still shows the missing partnership
    gaps = json.loads(run(gaps_command, db_url, "--format", "json", *TODAY))
    assert [(g["a"], g["b"]) for g in gaps["partnership_gaps"]] == [("CARE", "FWF")]
    decide_overlap(session, "CARE-GE-CTG", "FWF-GE-CTG", "not_related", None, "c@ilo.org")
    session.commit()
    gaps = json.loads(run(gaps_command, db_url, "--format", "json", *TODAY))
    assert gaps["partnership_gaps"] == []


def test_gaps_json_and_table(db_url, scenario):
    document = json.loads(run(gaps_command, db_url, "--format", "json", *TODAY))
    assert document["partnership_gaps"] == [
        {
            "a": "CARE",
            "b": "FWF",
            "overlaps": 1,
            "score": document["partnership_gaps"][0]["score"],
            "pairs": [["CARE-GE-CTG", "FWF-GE-CTG"]],
        }
    ]
    assert document["constituency_gaps"] == [
        {
            "kind": "constituency",
            "country": "BD",
            "theme": "gender-equality",
            "missing": ["government", "workers"],
        },
        {
            "kind": "constituency",
            "country": "BD",
            "theme": "social-dialogue",
            "missing": ["employers"],
        },
        {"kind": "brand_without_workers_partner", "brand": "HM", "country": "BD"},
    ]
    assert document["coverage_gaps"] == [
        {"theme": "gender-equality", "country": "BD", "area": "BD-D"}
    ]
    table = run(gaps_command, db_url, *TODAY)
    assert "Partnership gaps (1)" in table and "Coverage gaps (1)" in table


@pytest.mark.parametrize("fmt", ["graphml", "gexf"])
def test_network_exports_load_back(db_url, scenario, tmp_path, fmt):
    target = tmp_path / f"network.{fmt}"
    result = CliRunner().invoke(
        network_command, ["--database", db_url, "--format", fmt, "-o", str(target)]
    )
    assert result.exit_code == 0, result.output
    assert "organisations" in result.output and "top brokers: BGMEA" in result.output
    graph = nx.read_graphml(target) if fmt == "graphml" else nx.read_gexf(target)
    assert graph.number_of_nodes() == 6
    assert graph.edges["IBC", "MOLE"]["kinds"] == "body;meeting"
    assert float(graph.nodes["BGMEA"]["betweenness"]) > 0
    ElementTree.parse(target)  # well-formed XML


def test_network_json_is_a_kumu_blueprint_on_stdout(db_url, scenario):
    document = json.loads(run(network_command, db_url, "--format", "json"))
    labels = {e["label"] for e in document["elements"]}
    assert labels == {"CARE", "FWF", "MOLE", "BGMEA", "IBC", "HM"}
    connection = next(c for c in document["connections"] if {c["from"], c["to"]} == {"IBC", "MOLE"})
    assert connection["type"] == "body;meeting" and connection["direction"] == "undirected"


def test_commands_refuse_a_database_without_schema(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    for command in COMMANDS:
        result = CliRunner().invoke(command, ["--database", url])
        assert result.exit_code == 1
        assert "run 'coordination init' first" in result.output
