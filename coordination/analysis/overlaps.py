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
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, overload

import numpy as np

from coordination.analysis.snapshot import DecisionRecord, InterventionRecord, Place, fingerprint
from coordination.text import fold

__all__ = [
    "Cluster",
    "DUPLICATE",
    "OVERLAP",
    "OverlapPair",
    "OverlapReport",
    "PairList",
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
    "text_signature",
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
    pairs: Sequence[OverlapPair]  # a PairList: best first, built on access
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
    text = f"{record.title} {record.description}"
    words = re.findall(r"[a-z0-9]+", text.lower() if text.isascii() else fold(text))
    return frozenset(w for w in words if len(w) > 2 and w not in _STOPWORDS)


def text_signature(record: InterventionRecord) -> int:
    """The words of a title and description as a 128-bit set (a stable hash per word).

    Comparing signatures (shared bits over bits set) approximates the share of common
    words: two different words fall on the same bit with probability 1/128. It keeps
    the text part of the score a few integer operations per pair, at any scale.

    >>> r = lambda title: InterventionRecord(0, "", 0, "", date(2025, 1, 1), None,
    ...                                      frozenset(), frozenset(), title=title)
    >>> text_signature(r("Gender training")) == text_signature(r("training, GENDER!"))
    True
    """
    signature = 0
    for word in _tokens(record):
        signature |= 1 << (zlib.crc32(word.encode()) & 127)
    return signature


def _jaccard(x: frozenset[Any] | set[Any], y: frozenset[Any] | set[Any]) -> float:
    union = len(x | y)
    return len(x & y) / union if union else 0.0


def _place_cover(a: InterventionRecord, b: InterventionRecord) -> float:
    """Share of the two place lists that meets a place of the other intervention."""
    met_a = sum(1 for p in a.places if any(_compatible(p, q) for q in b.places))
    met_b = sum(1 for q in b.places if any(_compatible(p, q) for p in a.places))
    total = len(a.places) + len(b.places)
    return (met_a + met_b) / total if total else 0.0


def _compatible(p: Place, q: Place) -> bool:
    return p.country == q.country and (p.area == q.area or p.area is None or q.area is None)


def score_pair(a: InterventionRecord, b: InterventionRecord, today: date) -> OverlapPair:
    """Score an overlapping pair in [0, 1] from what the two share, with the reasons.

    The score is a weighted sum (:data:`SCORE_WEIGHTS`) of: the overlap of themes and of
    target groups (shared over all, Jaccard); the share of both place lists that meets a
    place of the other; the shared days over the shorter duration; the same type (0 or
    1); the share of common words in titles and descriptions (:func:`text_signature`).
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
    sa, sb = text_signature(a), text_signature(b)
    union = (sa | sb).bit_count()
    text = (sa & sb).bit_count() / union if union else 0.0
    parts = (
        ("themes", _jaccard(a.themes, b.themes)),
        ("places", _place_cover(a, b)),
        ("target_groups", _jaccard(a.target_groups, b.target_groups)),
        ("days", days / shorter),
        ("type", 1.0 if same_type else 0.0),
        ("text", text),
    )
    score = _round(sum(SCORE_WEIGHTS[name] * value for name, value in parts))
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
        parts=tuple((name, _round(value)) for name, value in parts),
    )


def _round(value: float) -> float:
    return float(round(value, 3))


# --- the fast path -----------------------------------------------------------------------


class _Prepared:
    """Records in start order with their day spans (index = rank), as lists and arrays."""

    __slots__ = ("records", "starts", "ends", "start_array", "end_array")

    def __init__(self, records: Sequence[InterventionRecord], today: date) -> None:
        usable = [r for r in records if r.status != CANCELLED and r.themes and r.places]
        spans = [_span(r, today) for r in usable]
        order = sorted(range(len(usable)), key=spans.__getitem__)
        self.records = [usable[i] for i in order]
        self.starts = [spans[i][0] for i in order]
        self.ends = [spans[i][1] for i in order]
        self.start_array = np.array(self.starts, dtype=np.int64)
        self.end_array = np.array(self.ends, dtype=np.int64)


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


def _theme_keys(record: InterventionRecord) -> Iterable[Any]:
    return record.themes


def _expand(left: np.ndarray, first: np.ndarray, counts: np.ndarray, targets: np.ndarray):
    """Pairs (left[k], targets[first[k] + m]) for m < counts[k], without a Python loop."""
    counts = np.maximum(counts, 0)
    total = int(counts.sum())
    if total == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    offsets = np.repeat(first - (np.cumsum(counts) - counts), counts)
    return np.repeat(left, counts), targets[offsets + np.arange(total, dtype=np.int64)]


def _pair_ranks(prepared: _Prepared, *, duplicates_only: bool) -> tuple[np.ndarray, np.ndarray]:
    """Every overlapping (or duplicate) pair as two arrays of ranks, ``lo < hi``, sorted.

    Each record is entered once per (key, country) block and place: country-level entries
    meet everything in their block, area-level ones meet their own area. In a block
    sorted by start, the records a record meets later are a contiguous run (those that
    start before it ends), found by binary search; so the pairs come out in
    O(n log n + pairs) with no comparison of pairs that do not overlap.
    """
    ranks, country_blocks, area_blocks = _entries(prepared, duplicates_only=duplicates_only)
    is_area = area_blocks >= 0
    c_block, c_rank = country_blocks[~is_area], ranks[~is_area]
    a_country, a_block, a_rank = country_blocks[is_area], area_blocks[is_area], ranks[is_area]

    starts, ends = prepared.start_array, prepared.end_array
    n = len(prepared.records)
    if n == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    origin = int(starts.min())
    width = int(ends.max()) - origin + 2  # block * width + day: one sortable key

    def arrays(b: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        order = np.lexsort((r, b))  # by block, then by start (rank is start order)
        return b[order], r[order]

    def sorted_keys(b: np.ndarray, r: np.ndarray) -> np.ndarray:
        return b * width + (starts[r] - origin)

    def within(b: np.ndarray, r: np.ndarray):
        key = sorted_keys(b, r)
        position = np.arange(len(r), dtype=np.int64)
        last = np.searchsorted(key, b * width + (ends[r] - origin), side="right")
        return _expand(r, position + 1, last - position - 1, r)

    def across(qb: np.ndarray, qr: np.ndarray, tb: np.ndarray, tr: np.ndarray, *, strict: bool):
        key = sorted_keys(tb, tr)
        first = np.searchsorted(
            key, qb * width + (starts[qr] - origin), side="right" if strict else "left"
        )
        last = np.searchsorted(key, qb * width + (ends[qr] - origin), side="right")
        return _expand(qr, first, last - first, tr)

    cb, cr = arrays(c_block, c_rank)
    ab, ar = arrays(a_block, a_rank)
    acb, acr = arrays(a_country, a_rank)
    parts = [within(cb, cr), within(ab, ar)]
    if len(cr) and len(acr):
        # a country-level record meets area records of its block that start while it runs,
        # and area records meet country-level ones that start (strictly) later while they run
        parts.append(across(cb, cr, acb, acr, strict=False))
        parts.append(across(acb, acr, cb, cr, strict=True))
    left = np.concatenate([p[0] for p in parts])
    right = np.concatenate([p[1] for p in parts])
    keep = left != right
    lo = np.minimum(left[keep], right[keep])
    hi = np.maximum(left[keep], right[keep])
    packed = np.sort(lo * n + hi)
    if len(packed):
        packed = packed[np.concatenate(([True], packed[1:] != packed[:-1]))]
    return packed // n, packed % n


def _entries(
    prepared: _Prepared, *, duplicates_only: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One entry per record, key and place: (rank, country block, area block or -1).

    A key is a theme (or, for duplicates, a type x theme x target group); the country
    block numbers (key, country), the area block (key, country, area). Block numbers
    are dense integers, so the sweep keys ``block * width + day`` cannot overflow.
    """
    vocab: dict[Any, int] = {}
    places: dict[Place, tuple[int, int]] = {}
    countries: dict[str, int] = {}
    areas: dict[int, int] = {}
    rank_list: list[int] = []
    key_list: list[int] = []
    country_list: list[int] = []
    area_list: list[int] = []
    for rank, record in enumerate(prepared.records):
        themes = [vocab.setdefault(t, len(vocab)) for t in record.themes]
        if duplicates_only:
            kind = vocab.setdefault(("type", record.intervention_type), len(vocab))
            groups = [vocab.setdefault(("group", g), len(vocab)) for g in record.target_groups]
            keys = [(kind << 40) | (t << 20) | g for t in themes for g in groups]
        else:
            keys = themes
        for place in record.places:
            located = places.get(place)
            if located is None:
                country = countries.setdefault(place.country, len(countries))
                area = -1 if place.area is None else areas.setdefault(place.area, len(areas))
                located = places[place] = (country, area)
            for key in keys:
                rank_list.append(rank)
                key_list.append(key)
                country_list.append(located[0])
                area_list.append(located[1])
    ranks = np.array(rank_list, dtype=np.int64)
    key_array = _dense(np.array(key_list, dtype=np.int64))
    country_array = np.array(country_list, dtype=np.int64)
    area_array = np.array(area_list, dtype=np.int64)
    country_blocks = _dense(key_array * max(1, len(countries)) + country_array)
    area_blocks = np.where(
        area_array >= 0, _dense(country_blocks * max(1, len(areas)) + area_array), -1
    )
    return ranks, country_blocks, area_blocks


def _dense(values: np.ndarray) -> np.ndarray:
    """Renumber values 0, 1, 2... keeping their order (a sort, never a hash table)."""
    if len(values) == 0:
        return values
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    dense = np.empty(len(values), dtype=np.int64)
    dense[order] = np.cumsum(np.concatenate(([0], ordered[1:] != ordered[:-1])))
    return dense


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
    lo, hi = _pair_ranks(prepared, duplicates_only=duplicates_only)
    pairs = []
    for i, j in zip(lo.tolist(), hi.tolist(), strict=True):
        a, b = prepared.records[i], prepared.records[j]
        pairs.append((a, b) if a.code < b.code else (b, a))
    pairs.sort(key=lambda pair: (pair[0].code, pair[1].code))
    return pairs


def _bitsets(sets: Sequence[Iterable[Any]] | Sequence[int], universe: int | None = None):
    """Sets of hashable values (or ready-made ints) as rows of 64-bit words."""
    if universe is None:
        index: dict[Any, int] = {}
        ints = []
        for values in sets:
            bits = 0
            for value in values:  # type: ignore[union-attr]
                bits |= 1 << index.setdefault(value, len(index))
            ints.append(bits)
        width = len(index)
    else:
        ints, width = list(sets), universe  # type: ignore[arg-type]
    words = max(1, -(-width // 64))
    mask = (1 << 64) - 1
    return np.stack(
        [np.array([(x >> (64 * w)) & mask for x in ints], dtype=np.uint64) for w in range(words)],
        axis=1,
    )


def _set_jaccard(bits: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    x, y = bits[lo], bits[hi]
    shared = np.bitwise_count(x & y).sum(axis=1, dtype=np.int64)
    union = np.bitwise_count(x | y).sum(axis=1, dtype=np.int64)
    return np.divide(shared, union, out=np.zeros(len(lo)), where=union > 0)


class _Columns:
    """What scoring reads about each record, as arrays indexed by rank."""

    def __init__(self, prepared: _Prepared) -> None:
        records = prepared.records
        self.themes = _bitsets([r.themes for r in records])
        self.groups = _bitsets([r.target_groups for r in records])
        self.text = _bitsets([text_signature(r) for r in records], universe=128)
        types: dict[str, int] = {}
        self.type = np.array(
            [types.setdefault(r.intervention_type, len(types)) for r in records], dtype=np.int64
        )
        self.lead = np.array([r.lead for r in records], dtype=np.int64)
        widest = max((len(r.places) for r in records), default=1)
        countries: dict[str, int] = {}
        self.country = np.full((len(records), widest), -1, dtype=np.int64)
        self.area = np.full((len(records), widest), -1, dtype=np.int64)
        for rank, record in enumerate(records):
            for slot, place in enumerate(record.places):
                self.country[rank, slot] = countries.setdefault(place.country, len(countries))
                self.area[rank, slot] = -1 if place.area is None else place.area
        self.place_count = np.array([len(r.places) for r in records], dtype=np.int64)


def _scores(
    prepared: _Prepared, columns: _Columns, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Scores (as :func:`score_pair` computes them) and duplicate flags for rank pairs."""
    starts, ends = prepared.start_array, prepared.end_array
    days = np.minimum(ends[lo], ends[hi]) - np.maximum(starts[lo], starts[hi]) + 1
    shorter = np.minimum(ends[lo] - starts[lo], ends[hi] - starts[hi]) + 1
    same_type = columns.type[lo] == columns.type[hi]

    c_lo, c_hi = columns.country[lo][:, :, None], columns.country[hi][:, None, :]
    a_lo, a_hi = columns.area[lo][:, :, None], columns.area[hi][:, None, :]
    meets = (c_lo == c_hi) & (c_lo >= 0) & ((a_lo == a_hi) | (a_lo == -1) | (a_hi == -1))
    met = meets.any(axis=2).sum(axis=1) + meets.any(axis=1).sum(axis=1)
    places = met / (columns.place_count[lo] + columns.place_count[hi])

    groups = _set_jaccard(columns.groups, lo, hi)
    parts = (
        _set_jaccard(columns.themes, lo, hi),
        places,
        groups,
        days / shorter,
        same_type.astype(np.float64),
        _set_jaccard(columns.text, lo, hi),
    )
    raw = np.zeros(len(lo))
    for weight, value in zip(SCORE_WEIGHTS.values(), parts, strict=True):
        raw = raw + weight * value
    return np.round(raw, 3), same_type & (groups > 0)


class PairList(Sequence[OverlapPair]):
    """Scored pairs, best first, held as arrays and turned into :class:`OverlapPair` on access.

    Scores and kinds are computed for every pair up front (``scores``, ``duplicates``);
    the reasons and shared values of a pair are worked out when it is read, so that a
    million pairs cost arrays, not a million objects, until someone looks at them.
    """

    def __init__(
        self,
        records: Sequence[InterventionRecord],
        lo: np.ndarray,
        hi: np.ndarray,
        scores: np.ndarray,
        duplicate: np.ndarray,
        today: date,
    ) -> None:
        self._records, self._lo, self._hi, self._today = records, lo, hi, today
        self.scores = scores
        self.duplicate = duplicate

    def __len__(self) -> int:
        return len(self._lo)

    @property
    def duplicates(self) -> int:
        return int(self.duplicate.sum())

    def _pair(self, k: int) -> OverlapPair:
        pair = score_pair(self._records[self._lo[k]], self._records[self._hi[k]], self._today)
        score = float(self.scores[k])
        return pair if pair.score == score else replace(pair, score=score)

    @overload
    def __getitem__(self, index: int) -> OverlapPair: ...

    @overload
    def __getitem__(self, index: slice) -> list[OverlapPair]: ...

    def __getitem__(self, index: int | slice) -> OverlapPair | list[OverlapPair]:
        if isinstance(index, slice):
            return [self._pair(k) for k in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._pair(index)

    def __iter__(self) -> Iterator[OverlapPair]:
        return (self._pair(k) for k in range(len(self)))

    def __repr__(self) -> str:
        return f"<PairList {len(self)} pairs, {self.duplicates} duplicates>"


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
    lo, hi = _pair_ranks(prepared, duplicates_only=duplicates_only)
    scores, duplicate = _scores(prepared, _Columns(prepared), lo, hi)

    keep = np.ones(len(lo), dtype=bool)
    if min_score is not None:
        keep &= scores >= min_score
    decided: list[tuple[OverlapPair, DecisionRecord]] = []
    rank_of = {r.code: k for k, r in enumerate(prepared.records)}
    n = len(prepared.records)
    applying: dict[int, DecisionRecord] = {}
    for decision in decisions:
        x, y = rank_of.get(decision.a), rank_of.get(decision.b)
        if x is None or y is None:
            continue
        if _still_applies(decision, prepared.records[x], prepared.records[y]):
            applying[min(x, y) * n + max(x, y)] = decision
    if applying:
        packed = lo * n + hi
        found = np.isin(packed, np.fromiter(applying, dtype=np.int64)) & keep
        for k in np.flatnonzero(found).tolist():
            pair = score_pair(prepared.records[lo[k]], prepared.records[hi[k]], today)
            decided.append((pair, applying[int(packed[k])]))
        keep &= ~found

    lo, hi, scores, duplicate = lo[keep], hi[keep], scores[keep], duplicate[keep]
    # best first; equal scores by the codes of the pair, in code order
    code_rank = np.empty(n, dtype=np.int64)
    code_rank[sorted(range(n), key=lambda k: prepared.records[k].code)] = np.arange(n)
    first = np.minimum(code_rank[lo], code_rank[hi])
    second = np.maximum(code_rank[lo], code_rank[hi])
    order = np.lexsort((second, first, -scores))
    decided.sort(key=lambda item: (item[0].a, item[0].b))
    return OverlapReport(
        pairs=PairList(
            prepared.records, lo[order], hi[order], scores[order], duplicate[order], today
        ),
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
