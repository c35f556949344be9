"""Overlapping and likely duplicate interventions, and the clusters they form.

Definitions (``docs/analysis.md`` explains them for coordinators):

- Two different interventions **overlap** when they share a theme, share a place (the
  same area, or the same country where at least one of the two is recorded at country
  level only: two different areas of one country do not overlap) and their date ranges
  intersect, dates inclusive, an open end meaning "ongoing until today". Cancelled
  interventions overlap nothing.
- An overlap is a **likely duplicate** when the two also share a target group and have
  the same intervention type.
- **Clusters** are the connected groups of the overlap graph, each with the themes and
  places that bind it.

The fast path never compares all pairs. Records are split into blocks by theme and
country (and, for duplicates, by type and target group too); inside a block the
country-level records meet every area's records, and each area's records meet only each
other. Within such a group every pair is place-compatible, so overlap is interval
intersection: a sweep in start order with a heap of open intervals lists the pairs in
O(n log n + pairs), and a sweep that only tracks the furthest end gives the connected
components in O(n log n) without listing any pair. :func:`reference_pairs` and
:func:`reference_clusters` are the brute-force definitions the tests compare against.
"""

from __future__ import annotations

import heapq
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from coordination.analysis.snapshot import DecisionRecord, InterventionRecord, Place, fingerprint
from coordination.text import fold

__all__ = [
    "Cluster",
    "DUPLICATE",
    "OVERLAP",
    "OverlapPair",
    "OverlapReport",
    "SCORE_WEIGHTS",
    "find_overlaps",
    "is_duplicate",
    "overlap",
    "overlap_clusters",
    "overlapping_pairs",
    "reference_clusters",
    "reference_pairs",
    "score_pair",
    "shared_places",
]

DUPLICATE = "duplicate"
OVERLAP = "overlap"
CANCELLED = "cancelled"

# How much each shared dimension adds to a pair's score (they sum to 1).
SCORE_WEIGHTS: dict[str, float] = {
    "themes": 0.15,
    "places": 0.15,
    "target_groups": 0.20,
    "days": 0.15,
    "type": 0.15,
    "text": 0.20,
}
SIMILAR_TEXT = 0.3  # token overlap from which titles and descriptions count as similar
_STOPWORDS = frozenset(
    "and the for with from into our their this that des les pour avec sur dans".split()
)


@dataclass(frozen=True, slots=True)
class OverlapPair:
    """Two overlapping interventions (codes in order), how much they share and why."""

    a: str
    b: str
    kind: str
    score: float
    same_organisation: bool
    themes: tuple[str, ...]
    places: tuple[Place, ...]
    target_groups: tuple[str, ...]
    days: int
    reasons: tuple[str, ...]
    parts: tuple[tuple[str, float], ...] = ()  # each dimension's similarity in [0, 1]

    def as_dict(self, place_label: Callable[[Place], str] | None = None) -> dict[str, Any]:
        """The JSON shape of ``coordination overlaps --format json``."""
        label = place_label or _default_place_label
        return {
            "a": self.a,
            "b": self.b,
            "kind": self.kind,
            "score": self.score,
            "same_organisation": self.same_organisation,
            "shared": {
                "themes": list(self.themes),
                "places": [label(p) for p in self.places],
                "target_groups": list(self.target_groups),
                "days": self.days,
            },
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True, slots=True)
class Cluster:
    """A connected group of overlapping interventions and what binds it."""

    codes: tuple[str, ...]
    themes: tuple[str, ...]
    places: tuple[Place, ...]


@dataclass(frozen=True, slots=True)
class OverlapReport:
    pairs: tuple[OverlapPair, ...]
    clusters: tuple[Cluster, ...]
    # Pairs a coordinator already decided on (both interventions unchanged since).
    decided: tuple[tuple[OverlapPair, DecisionRecord], ...] = field(default=())


def _default_place_label(place: Place) -> str:
    return place.country if place.area is None else f"{place.country}:{place.area}"


# --- the definitions, pair by pair ----------------------------------------------------


def _span(record: InterventionRecord, today: date) -> tuple[int, int]:
    """Inclusive day ordinals; an open end runs until today (or the start, if later)."""
    start = record.start.toordinal()
    end = record.end.toordinal() if record.end is not None else max(today.toordinal(), start)
    return start, end


def shared_places(a: InterventionRecord, b: InterventionRecord) -> set[Place]:
    """Where two interventions meet: the more precise of each pair of compatible places.

    >>> bd, bd_c, bd_d = Place("BD"), Place("BD", 1), Place("BD", 2)
    >>> r = lambda *p: InterventionRecord(0, "", 0, "", date(2025, 1, 1), None,
    ...                                   frozenset(), frozenset(p))
    >>> sorted(shared_places(r(bd), r(bd_c, bd_d)))
    [Place(country='BD', area=1), Place(country='BD', area=2)]
    >>> shared_places(r(bd_c), r(bd_d))
    set()
    """
    met: set[Place] = set()
    for p in a.places:
        for q in b.places:
            if p.country != q.country:
                continue
            if p.area == q.area or q.area is None:
                met.add(p)
            elif p.area is None:
                met.add(q)
    return met


def overlap(a: InterventionRecord, b: InterventionRecord, today: date) -> bool:
    """The definition of an overlap, for one pair.

    >>> r = lambda code, start, end, *places: InterventionRecord(
    ...     0, code, 0, "training", start, end, frozenset({"gender-equality"}),
    ...     frozenset(places))
    >>> a = r("A", date(2025, 1, 1), date(2025, 3, 31), Place("BD", 1))
    >>> overlap(a, r("B", date(2025, 3, 31), None, Place("BD")), date(2026, 1, 1))
    True
    >>> overlap(a, r("C", date(2025, 1, 1), None, Place("BD", 2)), date(2026, 1, 1))
    False
    """
    if a.code == b.code or a.status == CANCELLED or b.status == CANCELLED:
        return False
    if a.themes.isdisjoint(b.themes) or not shared_places(a, b):
        return False
    a_start, a_end = _span(a, today)
    b_start, b_end = _span(b, today)
    return a_start <= b_end and b_start <= a_end


def is_duplicate(a: InterventionRecord, b: InterventionRecord, today: date) -> bool:
    """An overlap that also shares a target group and has the same intervention type."""
    return (
        a.intervention_type == b.intervention_type
        and not a.target_groups.isdisjoint(b.target_groups)
        and overlap(a, b, today)
    )


def _tokens(record: InterventionRecord) -> frozenset[str]:
    words = re.findall(r"[a-z0-9]+", fold(f"{record.title} {record.description}"))
    return frozenset(w for w in words if len(w) > 2 and w not in _STOPWORDS)


def _jaccard(x: frozenset[Any] | set[Any], y: frozenset[Any] | set[Any]) -> float:
    union = len(x | y)
    return len(x & y) / union if union else 0.0


def score_pair(
    a: InterventionRecord,
    b: InterventionRecord,
    today: date,
    *,
    tokens: Callable[[InterventionRecord], frozenset[str]] = _tokens,
) -> OverlapPair:
    """Score an overlapping pair in [0, 1] from what the two share, with the reasons.

    The score is a weighted sum (:data:`SCORE_WEIGHTS`) of the overlap of themes, places
    and target groups (Jaccard), of the shared days over the shorter duration, of the
    same type (0 or 1) and of the word overlap of titles and descriptions.
    """
    if b.code < a.code:
        a, b = b, a
    themes = a.themes & b.themes
    places = shared_places(a, b)
    groups = a.target_groups & b.target_groups
    a_start, a_end = _span(a, today)
    b_start, b_end = _span(b, today)
    days = max(0, min(a_end, b_end) - max(a_start, b_start) + 1)
    shorter = min(a_end - a_start, b_end - b_start) + 1
    same_type = a.intervention_type == b.intervention_type
    text = _jaccard(tokens(a), tokens(b))
    parts = (
        ("themes", _jaccard(a.themes, b.themes)),
        ("places", len(places) / len(a.places | b.places)),
        ("target_groups", _jaccard(a.target_groups, b.target_groups)),
        ("days", days / shorter),
        ("type", 1.0 if same_type else 0.0),
        ("text", text),
    )
    score = round(sum(SCORE_WEIGHTS[name] * value for name, value in parts), 3)
    same_organisation = a.lead == b.lead
    reasons = ["shared_themes", "shared_places", "shared_dates"]
    if groups:
        reasons.append("shared_target_groups")
    if same_type:
        reasons.append("same_type")
    if text >= SIMILAR_TEXT:
        reasons.append("similar_text")
    if same_organisation:
        reasons.append("same_organisation")
    return OverlapPair(
        a=a.code,
        b=b.code,
        kind=DUPLICATE if groups and same_type else OVERLAP,
        score=score,
        same_organisation=same_organisation,
        themes=tuple(sorted(themes)),
        places=tuple(sorted(places)),
        target_groups=tuple(sorted(groups)),
        days=days,
        reasons=tuple(reasons),
        parts=tuple((name, round(value, 3)) for name, value in parts),
    )


# --- the fast path -----------------------------------------------------------------------


class _Prepared:
    """Records in start order with their day spans as plain int lists (index = rank)."""

    __slots__ = ("records", "starts", "ends")

    def __init__(self, records: Sequence[InterventionRecord], today: date) -> None:
        usable = [r for r in records if r.status != CANCELLED and r.themes and r.places]
        spans = [_span(r, today) for r in usable]
        order = sorted(range(len(usable)), key=spans.__getitem__)
        self.records = [usable[i] for i in order]
        self.starts = [spans[i][0] for i in order]
        self.ends = [spans[i][1] for i in order]


def _blocks(
    prepared: _Prepared, keys: Callable[[InterventionRecord], Iterable[Any]]
) -> tuple[dict[tuple[Any, str], list[int]], dict[tuple[Any, str], dict[int, list[int]]]]:
    """Country-level and area-level member lists per (key, country), each in start order."""
    country_level: dict[tuple[Any, str], list[int]] = defaultdict(list)
    area_level: dict[tuple[Any, str], dict[int, list[int]]] = defaultdict(dict)
    for index, record in enumerate(prepared.records):
        record_keys = list(keys(record))
        for place in record.places:
            for key in record_keys:
                block = (key, place.country)
                if place.area is None:
                    country_level[block].append(index)
                else:
                    area_level[block].setdefault(place.area, []).append(index)
    return country_level, area_level


def _pairs_within(members: list[int], starts: list[int], ends: list[int], found: set[int], n: int):
    active: list[tuple[int, int]] = []
    for j in members:
        start = starts[j]
        while active and active[0][0] < start:
            heapq.heappop(active)
        for _, i in active:
            if i != j:
                found.add(i * n + j if i < j else j * n + i)
        heapq.heappush(active, (ends[j], j))


def _pairs_between(
    left: list[int], right: list[int], starts: list[int], ends: list[int], found: set[int], n: int
):
    active_left: list[tuple[int, int]] = []
    active_right: list[tuple[int, int]] = []
    li = ri = 0
    while li < len(left) or ri < len(right):
        if ri == len(right) or (li < len(left) and left[li] <= right[ri]):
            j, own, other = left[li], active_left, active_right
            li += 1
        else:
            j, own, other = right[ri], active_right, active_left
            ri += 1
        start = starts[j]
        while other and other[0][0] < start:
            heapq.heappop(other)
        for _, i in other:
            if i != j:
                found.add(i * n + j if i < j else j * n + i)
        heapq.heappush(own, (ends[j], j))


def _theme_keys(record: InterventionRecord) -> Iterable[Any]:
    return record.themes


def _duplicate_keys(record: InterventionRecord) -> Iterable[Any]:
    return [
        (record.intervention_type, theme, group)
        for theme in record.themes
        for group in record.target_groups
    ]


def _pair_ranks(prepared: _Prepared, *, duplicates_only: bool) -> Iterator[tuple[int, int]]:
    n = len(prepared.records)
    country_level, area_level = _blocks(
        prepared, _duplicate_keys if duplicates_only else _theme_keys
    )
    starts, ends = prepared.starts, prepared.ends
    found: set[int] = set()
    for block in country_level.keys() | area_level.keys():
        whole = country_level.get(block, [])
        if whole:
            _pairs_within(whole, starts, ends, found, n)
        for members in area_level.get(block, {}).values():
            _pairs_within(members, starts, ends, found, n)
            if whole:
                _pairs_between(whole, members, starts, ends, found, n)
    for packed in sorted(found):
        yield divmod(packed, n)


def overlapping_pairs(
    records: Sequence[InterventionRecord], today: date, *, duplicates_only: bool = False
) -> list[tuple[InterventionRecord, InterventionRecord]]:
    """Every overlapping (or likely duplicate) pair, without comparing all pairs.

    >>> r = lambda code, area: InterventionRecord(
    ...     0, code, 0, "training", date(2025, 1, 1), date(2025, 6, 30),
    ...     frozenset({"gender-equality"}), frozenset({Place("BD", area)}))
    >>> [(a.code, b.code) for a, b in overlapping_pairs(
    ...     [r("A", 1), r("B", 1), r("C", 2), r("D", None)], date(2026, 1, 1))]
    [('A', 'B'), ('A', 'D'), ('B', 'D'), ('C', 'D')]
    """
    prepared = _Prepared(records, today)
    pairs = []
    for i, j in _pair_ranks(prepared, duplicates_only=duplicates_only):
        a, b = prepared.records[i], prepared.records[j]
        pairs.append((a, b) if a.code < b.code else (b, a))
    pairs.sort(key=lambda pair: (pair[0].code, pair[1].code))
    return pairs


class _UnionFind:
    __slots__ = ("parent",)

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        parent = self.parent
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def union(self, x: int, y: int) -> None:
        rx, ry = self.find(x), self.find(y)
        if rx != ry:
            self.parent[max(rx, ry)] = min(rx, ry)


def _sweep_components(
    members: Iterable[int],
    ends: list[int],
    starts: list[int],
    union_find: _UnionFind,
    area_members: set[int] | frozenset[int],
    on_component: Callable[[int, bool], None],
) -> None:
    """Union each run of chained intervals; report each run of two or more members."""
    first = -1
    reach = -1
    size = 0
    precise = False
    for j in members:
        if first >= 0 and starts[j] <= reach:
            union_find.union(first, j)
            size += 1
            precise = precise or j in area_members
            if ends[j] > reach:
                reach = ends[j]
            continue
        if size > 1:
            on_component(first, precise)
        first, reach, size, precise = j, ends[j], 1, j in area_members
    if size > 1:
        on_component(first, precise)


def _clusters(prepared: _Prepared) -> list[Cluster]:
    n = len(prepared.records)
    union_find = _UnionFind(n)
    country_level, area_level = _blocks(prepared, _theme_keys)
    starts, ends = prepared.starts, prepared.ends
    binders: list[tuple[int, str, Place]] = []
    empty: frozenset[int] = frozenset()

    for block in country_level.keys() | area_level.keys():
        theme, country = block
        whole = country_level.get(block, [])
        areas = area_level.get(block, {})

        if not areas:
            _sweep_components(
                whole,
                ends,
                starts,
                union_find,
                empty,
                lambda first, _p, t=theme, c=country: binders.append((first, t, Place(c))),
            )
            continue
        for area, members in areas.items():
            merged = heapq.merge(whole, members) if whole else members
            _sweep_components(
                _unique(merged),
                ends,
                starts,
                union_find,
                set(members),
                lambda first, precise, t=theme, c=country, a=area: binders.append(
                    (first, t, Place(c, a) if precise else Place(c))
                ),
            )

    themes: dict[int, set[str]] = defaultdict(set)
    places: dict[int, set[Place]] = defaultdict(set)
    for first, theme, place in binders:
        root = union_find.find(first)
        themes[root].add(theme)
        places[root].add(place)
    groups: dict[int, list[str]] = defaultdict(list)
    for index in range(n):
        root = union_find.find(index)
        if root in themes:
            groups[root].append(prepared.records[index].code)
    clusters = [
        Cluster(
            codes=tuple(sorted(codes)),
            themes=tuple(sorted(themes[root])),
            places=tuple(sorted(places[root])),
        )
        for root, codes in groups.items()
    ]
    clusters.sort(key=lambda c: (-len(c.codes), c.codes))
    return clusters


def _unique(indices: Iterable[int]) -> Iterator[int]:
    """Drop repeats from a sorted stream (a record at country level and in an area)."""
    last = -1
    for index in indices:
        if index != last:
            yield index
            last = index


def overlap_clusters(records: Sequence[InterventionRecord], today: date) -> list[Cluster]:
    """Connected groups of overlapping interventions, without listing the pairs.

    >>> r = lambda code, start, end: InterventionRecord(
    ...     0, code, 0, "training", date(2025, 1, start), date(2025, 1, end),
    ...     frozenset({"productivity"}), frozenset({Place("VN")}))
    >>> [c.codes for c in overlap_clusters(
    ...     [r("A", 1, 5), r("B", 5, 9), r("C", 9, 9), r("D", 20, 25)], date(2026, 1, 1))]
    [('A', 'B', 'C')]
    """
    return _clusters(_Prepared(records, today))


def find_overlaps(
    records: Sequence[InterventionRecord],
    *,
    today: date,
    decisions: Iterable[DecisionRecord] = (),
    duplicates_only: bool = False,
    min_score: float | None = None,
    clusters: bool = True,
) -> OverlapReport:
    """Scored pairs (best first) and clusters; pairs already decided are set aside.

    A decision applies while both interventions are exactly as they were when it was
    made (same ``version`` and :func:`fingerprint`); after any edit the pair is back.
    """
    prepared = _Prepared(records, today)
    token_cache: dict[str, frozenset[str]] = {}

    def tokens(record: InterventionRecord) -> frozenset[str]:
        found = token_cache.get(record.code)
        if found is None:
            found = token_cache[record.code] = _tokens(record)
        return found

    by_pair = {(d.a, d.b) if d.a < d.b else (d.b, d.a): d for d in decisions}
    pairs: list[OverlapPair] = []
    decided: list[tuple[OverlapPair, DecisionRecord]] = []
    for i, j in _pair_ranks(prepared, duplicates_only=duplicates_only):
        pair = score_pair(prepared.records[i], prepared.records[j], today, tokens=tokens)
        if min_score is not None and pair.score < min_score:
            continue
        decision = by_pair.get((pair.a, pair.b))
        if decision is not None and _still_applies(
            decision, prepared.records[i], prepared.records[j]
        ):
            decided.append((pair, decision))
            continue
        pairs.append(pair)
    pairs.sort(key=lambda p: (-p.score, p.a, p.b))
    decided.sort(key=lambda item: (item[0].a, item[0].b))
    return OverlapReport(
        pairs=tuple(pairs),
        clusters=tuple(_clusters(prepared)) if clusters else (),
        decided=tuple(decided),
    )


def _still_applies(decision: DecisionRecord, x: InterventionRecord, y: InterventionRecord) -> bool:
    a, b = (x, y) if x.code < y.code else (y, x)
    return (
        decision.a_version == a.version
        and decision.b_version == b.version
        and decision.a_fingerprint == fingerprint(a)
        and decision.b_fingerprint == fingerprint(b)
    )


# --- brute-force references (tests and the naive benchmark) -------------------------------


def reference_pairs(
    records: Sequence[InterventionRecord], today: date, *, duplicates_only: bool = False
) -> set[tuple[str, str]]:
    """All pairs by the definition, comparing every pair: O(n²), for tests and benchmarks."""
    test = is_duplicate if duplicates_only else overlap
    found = set()
    for i, a in enumerate(records):
        for b in records[i + 1 :]:
            if test(a, b, today):
                found.add((a.code, b.code) if a.code < b.code else (b.code, a.code))
    return found


def reference_clusters(records: Sequence[InterventionRecord], today: date) -> list[tuple[str, ...]]:
    """Connected components of the brute-force overlap graph (networkx), sorted."""
    import networkx as nx

    graph = nx.Graph(list(reference_pairs(records, today)))
    components = [tuple(sorted(c)) for c in nx.connected_components(graph)]
    return sorted(components, key=lambda c: (-len(c), c))
