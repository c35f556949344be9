"""The stakeholder network: who is linked to whom, who brokers, who is left out.

Organisations are nodes (keyed by acronym). Two organisations are linked by each
partnership they share, each body they both sit on, each meeting they both attended and
each intervention they both lead or take part in. An edge keeps a count per kind
(``partnership``, ``body``, ``meeting``, ``intervention``), their sum as ``weight``, its
inverse as ``distance`` (for shortest paths: strong ties are short) and the kinds
present as ``kinds`` (``"body;meeting"``), so that exports stay flat for Gephi,
Cytoscape and Kumu.
"""

from __future__ import annotations

import io
import json
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import networkx as nx

from coordination.analysis.snapshot import Snapshot

__all__ = [
    "EDGE_KINDS",
    "NetworkMetrics",
    "annotate",
    "build_network",
    "export_network",
    "network_metrics",
]

EDGE_KINDS = ("partnership", "body", "meeting", "intervention")
FORMATS = ("graphml", "gexf", "json")


@dataclass(frozen=True, slots=True)
class NetworkMetrics:
    """Centralities per organisation, plus communities and isolates.

    ``constraint`` is Burt's structural-hole constraint (low: a broker spanning groups
    that are otherwise apart; high: embedded in one closed group); isolates have none.
    """

    degree: dict[str, float]
    betweenness: dict[str, float]
    constraint: dict[str, float]
    communities: tuple[tuple[str, ...], ...]
    isolates: tuple[str, ...]

    def brokers(self, limit: int = 10) -> list[tuple[str, float]]:
        """The organisations with the highest betweenness (ties by name), most first."""
        ranked = sorted(self.betweenness.items(), key=lambda item: (-item[1], item[0]))
        return [(node, value) for node, value in ranked[:limit] if value > 0]


def build_network(snapshot: Snapshot) -> nx.Graph:
    """The organisation graph of a snapshot (a new graph; the snapshot is not changed).

    >>> from coordination.analysis.snapshot import OrganisationRecord, PartnershipRecord
    >>> orgs = {i: OrganisationRecord(i, a, a, "ngo", "none") for i, a in
    ...         [(1, "A"), (2, "B"), (3, "C")]}
    >>> g = build_network(Snapshot(organisations=orgs, meetings=(frozenset({1, 2}),),
    ...                   partnerships=(PartnershipRecord(9, frozenset({1, 2})),)))
    >>> g.edges["A", "B"]["kinds"], g.edges["A", "B"]["weight"], sorted(nx.isolates(g))
    ('meeting;partnership', 2.0, ['C'])
    """
    graph = nx.Graph()
    organisations = snapshot.organisations
    for organisation in sorted(organisations.values(), key=lambda o: o.acronym):
        graph.add_node(
            organisation.acronym,
            label=organisation.acronym,
            name=organisation.name,
            stakeholder_type=organisation.stakeholder_type,
            constituency=organisation.constituency,
            country=organisation.country or "",
        )

    counts: dict[tuple[str, str], Counter[str]] = {}

    def link(members: Iterable[int], kind: str) -> None:
        acronyms = sorted({organisations[m].acronym for m in members if m in organisations})
        for pair in combinations(acronyms, 2):
            counts.setdefault(pair, Counter())[kind] += 1

    for partnership in snapshot.partnerships:
        link(partnership.members, "partnership")
    bodies: dict[int, set[int]] = {}
    for membership in snapshot.memberships:
        bodies.setdefault(membership.body_id, set()).add(membership.organisation_id)
    for members in bodies.values():
        link(members, "body")
    for attendees in snapshot.meetings:
        link(attendees, "meeting")
    for intervention in snapshot.interventions:
        link(intervention.organisations, "intervention")

    for (a, b), kinds in sorted(counts.items()):
        weight = float(sum(kinds.values()))
        graph.add_edge(
            a,
            b,
            weight=weight,
            distance=1.0 / weight,
            kinds=";".join(sorted(kinds)),
            **{kind: kinds.get(kind, 0) for kind in EDGE_KINDS},
        )
    return graph


def network_metrics(graph: nx.Graph, *, seed: int = 0) -> NetworkMetrics:
    """Degree and betweenness centrality, constraint, communities (Louvain) and isolates.

    Betweenness follows the strongest ties (``distance``); communities are found with
    ``weight`` and a fixed ``seed`` so that two runs on the same data agree.
    """
    isolates = tuple(sorted(nx.isolates(graph)))
    connected = graph.subgraph(n for n in graph if graph.degree(n) > 0)
    constraint = {
        node: round(value, 6)
        for node, value in nx.constraint(connected, weight="weight").items()
        if not math.isnan(value)
    }
    communities = nx.community.louvain_communities(connected, weight="weight", seed=seed)
    return NetworkMetrics(
        degree={n: round(v, 6) for n, v in nx.degree_centrality(graph).items()},
        betweenness={
            n: round(v, 6) for n, v in nx.betweenness_centrality(graph, weight="distance").items()
        },
        constraint=constraint,
        communities=tuple(
            sorted((tuple(sorted(c)) for c in communities), key=lambda c: (-len(c), c))
        ),
        isolates=isolates,
    )


def annotate(graph: nx.Graph, metrics: NetworkMetrics) -> nx.Graph:
    """A copy of ``graph`` with each node's metrics as attributes (for export)."""
    annotated = graph.copy()
    community_of = {n: i for i, c in enumerate(metrics.communities, start=1) for n in c}
    for node, data in annotated.nodes(data=True):
        data["degree_centrality"] = metrics.degree.get(node, 0.0)
        data["betweenness"] = metrics.betweenness.get(node, 0.0)
        data["constraint"] = metrics.constraint.get(node, -1.0)  # -1: isolate, undefined
        data["community"] = community_of.get(node, 0)  # 0: isolate
        data["isolate"] = node in metrics.isolates
    return annotated


def export_network(graph: nx.Graph, fmt: str) -> bytes:
    """Serialise for Gephi or Cytoscape (``graphml``, ``gexf``) or Kumu (``json``).

    The JSON is a Kumu blueprint: ``{"elements": [...], "connections": [...]}``.
    """
    if fmt == "graphml":
        buffer = io.BytesIO()
        nx.write_graphml(graph, buffer, encoding="utf-8")
        return buffer.getvalue()
    if fmt == "gexf":
        buffer = io.BytesIO()
        nx.write_gexf(graph, buffer, encoding="utf-8")
        return buffer.getvalue()
    if fmt == "json":
        return (json.dumps(_blueprint(graph), indent=2, ensure_ascii=False) + "\n").encode()
    raise ValueError(f"unknown network format {fmt!r}; use one of {', '.join(FORMATS)}")


def _blueprint(graph: nx.Graph) -> dict[str, Any]:
    elements = []
    for node, data in graph.nodes(data=True):
        element = {"id": node, "label": node, "type": data.get("stakeholder_type", "")}
        element.update({k: v for k, v in data.items() if k not in ("label", "stakeholder_type")})
        elements.append(element)
    connections = []
    for a, b, data in graph.edges(data=True):
        connection = {"from": a, "to": b, "direction": "undirected", "type": data["kinds"]}
        connection.update({k: v for k, v in data.items() if k != "kinds"})
        connections.append(connection)
    return {"elements": elements, "connections": connections}
