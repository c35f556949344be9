"""Overlapping and likely duplicate interventions, and the clusters they form.

Definitions (``docs/analysis.md`` explains them for coordinators):

- Two different interventions **overlap** when they share a theme, share a place (the
  same area, or the same country where at least one of the two is recorded at country
  level only: two different areas of one country do not overlap) and their date ranges
  intersect, dates inclusive, an open end meaning "ongoing until today". Cancelled
  interventions overlap nothing.
- An overlap is a **likely duplicate** when the two also share a target group and have
  the same intervention type.
- **Clusters** are the connected groups of overlapping interventions per theme and
  place (an area, or a country where the theme has nothing recorded at area level), so
  one intervention can sit in several clusters; the same members found under several
  themes or places make one cluster listing them all.

The fast path never compares all pairs. Records are split into blocks by theme and
country (and, for duplicates, by type and target group too); inside a block the
country-level records meet every area's records, and each area's records meet only each
other. Within such a group every pair is place-compatible, so overlap is interval
intersection: sorted by start, the records a record meets later form a contiguous run
(those starting before it ends), found by binary search; the pairs come out in
O(n log n + pairs). Clusters need no pair at all: a record chains onto the run before
it when it starts before the furthest end so far, so one cumulative maximum per group
gives each group's connected components in O(n log n). Both run as numpy array operations.
:func:`reference_pairs` and :func:`reference_clusters` are the brute-force definitions
the tests compare against.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from functools import lru_cache
from typing import Any, overload

import numpy as np

from coordination.analysis.snapshot import (
    DecisionRecord,
    InterventionRecord,
    Place,
    fingerprint,
)
from coordination.collector import collector_paused
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
_CHUNK = 1 << 20  # pairs scored at a time: bounds the temporary arrays to ~100 MB
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


_WORD = re.compile(r"[a-z0-9]{3,}")


def _tokens(record: InterventionRecord) -> frozenset[str]:
    """Words of three letters or more of the title and description, folded, no stop words."""
    text = f"{record.title} {record.description}"
    return frozenset(_WORD.findall(text.lower() if text.isascii() else fold(text))) - _STOPWORDS


@lru_cache(maxsize=65536)
def _word_bit(word: str) -> int:
    return 1 << (zlib.crc32(word.encode()) & 127)


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
        signature |= _word_bit(word)
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
    """Records in start order with their day spans (index = rank), as lists and arrays.

    ``themes``, ``groups`` and ``places`` flatten the records' sets into parallel arrays
    (rank, value id), in rank order: everything downstream is array arithmetic.
    """

    def __init__(self, records: Sequence[InterventionRecord], today: date) -> None:
        usable = [r for r in records if r.status != CANCELLED and r.themes and r.places]
        spans = [_span(r, today) for r in usable]
        order = sorted(range(len(usable)), key=spans.__getitem__)
        self.records = [usable[i] for i in order]
        self.starts = np.array([spans[i][0] for i in order], dtype=np.int64)
        self.ends = np.array([spans[i][1] for i in order], dtype=np.int64)
        self.origin = int(self.starts.min()) if len(order) else 0
        # block * width + day is one sortable key per (block, day)
        self.width = (int(self.ends.max()) - self.origin + 2) if len(order) else 1

        theme_ids: dict[str, int] = {}
        group_ids: dict[str, int] = {}
        type_ids: dict[str, int] = {}
        self.country_ids: dict[str, int] = {}
        self.area_ids: dict[int, int] = {}
        located: dict[Place, tuple[int, int]] = {}
        theme_rank: list[int] = []
        theme_value: list[int] = []
        group_rank: list[int] = []
        group_value: list[int] = []
        place_rank: list[int] = []
        place_country: list[int] = []
        place_area: list[int] = []
        types: list[int] = []
        for rank, record in enumerate(self.records):
            types.append(type_ids.setdefault(record.intervention_type, len(type_ids)))
            for theme in record.themes:
                theme_rank.append(rank)
                theme_value.append(theme_ids.setdefault(theme, len(theme_ids)))
            for group in record.target_groups:
                group_rank.append(rank)
                group_value.append(group_ids.setdefault(group, len(group_ids)))
            for place in record.places:
                where = located.get(place)
                if where is None:
                    country = self.country_ids.setdefault(place.country, len(self.country_ids))
                    area = (
                        -1
                        if place.area is None
                        else self.area_ids.setdefault(place.area, len(self.area_ids))
                    )
                    where = located[place] = (country, area)
                place_rank.append(rank)
                place_country.append(where[0])
                place_area.append(where[1])
        self.theme_names = list(theme_ids)
        self.types = np.array(types, dtype=np.int64)
        self.themes = (_ints(theme_rank), _ints(theme_value), len(theme_ids))
        self.groups = (_ints(group_rank), _ints(group_value), len(group_ids))
        self.places = (_ints(place_rank), _ints(place_country), _ints(place_area))


def _ints(values: list[int]) -> np.ndarray:
    return np.array(values, dtype=np.int64)


def _product(rank_a: np.ndarray, rank_b: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """For two rank-sorted entry lists, the index pairs (i, j) with rank_a[i] == rank_b[j]."""
    per_rank = np.bincount(rank_b, minlength=n)
    first = np.cumsum(per_rank) - per_rank
    counts = per_rank[rank_a]
    total = int(counts.sum())
    left = np.repeat(np.arange(len(rank_a), dtype=np.int64), counts)
    offsets = np.repeat(first[rank_a] - (np.cumsum(counts) - counts), counts)
    return left, offsets + np.arange(total, dtype=np.int64)


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
    entries = _entries(prepared, duplicates_only=duplicates_only)
    ranks, country_blocks, area_blocks = (
        entries["rank"],
        entries["country_block"],
        entries["area_block"],
    )
    is_area = area_blocks >= 0
    c_block, c_rank = country_blocks[~is_area], ranks[~is_area]
    a_country, a_block, a_rank = country_blocks[is_area], area_blocks[is_area], ranks[is_area]

    starts, ends = prepared.starts, prepared.ends
    n = len(prepared.records)
    if n == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    origin, width = prepared.origin, prepared.width

    def arrays(b: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        order = np.lexsort((r, b))  # by block, then by start (rank is start order)
        return b[order], r[order]

    def sorted_keys(b: np.ndarray, r: np.ndarray) -> np.ndarray:
        return b * width + (starts[r] - origin)

    found: list[np.ndarray] = []  # pairs packed as lo * n + hi, in bounded chunks

    def within(b: np.ndarray, r: np.ndarray) -> None:
        key = sorted_keys(b, r)
        position = np.arange(len(r), dtype=np.int64)
        last = np.searchsorted(key, b * width + (ends[r] - origin), side="right")
        _expand_packed(r, position + 1, last - position - 1, r, n, found)

    def across(
        qb: np.ndarray, qr: np.ndarray, tb: np.ndarray, tr: np.ndarray, *, strict: bool
    ) -> None:
        key = sorted_keys(tb, tr)
        first = np.searchsorted(
            key, qb * width + (starts[qr] - origin), side="right" if strict else "left"
        )
        last = np.searchsorted(key, qb * width + (ends[qr] - origin), side="right")
        _expand_packed(qr, first, last - first, tr, n, found)

    cb, cr = arrays(c_block, c_rank)
    ab, ar = arrays(a_block, a_rank)
    acb, acr = arrays(a_country, a_rank)
    within(cb, cr)
    within(ab, ar)
    if len(cr) and len(acr):
        # a country-level record meets area records of its block that start while it runs,
        # and area records meet country-level ones that start (strictly) later while they run
        across(cb, cr, acb, acr, strict=False)
        across(acb, acr, cb, cr, strict=True)
    packed = _distinct(np.concatenate(found)) if found else np.empty(0, dtype=np.int64)
    return packed // n, packed % n


_PAIR_CHUNK = 1 << 23  # candidate pairs expanded at a time (64 MB per array)


def _expand_packed(
    left: np.ndarray,
    first: np.ndarray,
    counts: np.ndarray,
    targets: np.ndarray,
    n: int,
    found: list[np.ndarray],
) -> None:
    """:func:`_expand`, a bounded slice of queries at a time, appending distinct packed pairs.

    A pair is found once per key and place the two share; packing (``lo * n + hi``) and
    dropping repeats slice by slice keeps memory near the number of distinct pairs.
    """
    counts = np.maximum(counts, 0)
    reach = np.cumsum(counts)
    k = 0
    while k < len(counts):
        base = int(reach[k - 1]) if k else 0
        stop = max(k + 1, int(np.searchsorted(reach, base + _PAIR_CHUNK, side="right")))
        a, b = _expand(left[k:stop], first[k:stop], counts[k:stop], targets)
        k = stop
        keep = a != b
        a, b = a[keep], b[keep]
        if len(a):
            found.append(_distinct(np.minimum(a, b) * n + np.maximum(a, b)))


def _distinct(packed: np.ndarray) -> np.ndarray:
    """Sorted, without repeats (a sort, not a hash table: faster at this size)."""
    packed = np.sort(packed)
    if len(packed) == 0:
        return packed
    return packed[np.concatenate(([True], packed[1:] != packed[:-1]))]


def _entries(prepared: _Prepared, *, duplicates_only: bool) -> dict[str, np.ndarray]:
    """One entry per record, key and place, as parallel arrays.

    A key is a theme (or, for duplicates, a type x theme x target group). Each entry has
    its record's rank, its key, country and area (-1: country level), its country block
    (key, country) and area block (key, country, area; -1 at country level). Block
    numbers are dense, so that ``block * width + day`` cannot overflow.
    """
    n = len(prepared.records)
    theme_rank, theme_value, theme_count = prepared.themes
    if duplicates_only:
        group_rank, group_value, group_count = prepared.groups
        left, right = _product(theme_rank, group_rank, n)
        key_rank = theme_rank[left]
        key_theme = theme_value[left]
        key = (prepared.types[key_rank] * theme_count + key_theme) * max(
            1, group_count
        ) + group_value[right]
    else:
        key_rank, key_theme, key = theme_rank, theme_value, theme_value
    place_rank, place_country, place_area = prepared.places
    left, right = _product(key_rank, place_rank, n)
    country = place_country[right]
    area = place_area[right]
    country_block = _dense(key[left] * max(1, len(prepared.country_ids)) + country)
    area_block = np.where(
        area >= 0, _dense(country_block * max(1, len(prepared.area_ids)) + area), -1
    )
    return {
        "rank": key_rank[left],
        "theme": key_theme[left],
        "country": country,
        "area": area,
        "country_block": country_block,
        "area_block": area_block,
    }


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


def _bitsets(rank: np.ndarray, value: np.ndarray, n: int, universe: int) -> np.ndarray:
    """Sets as rows of 64-bit words: bit ``value`` set in row ``rank``."""
    bits = np.zeros((n, max(1, -(-universe // 64))), dtype=np.uint64)
    np.bitwise_or.at(
        bits, (rank, value >> 6), np.left_shift(np.uint64(1), (value & 63).astype(np.uint64))
    )
    return bits


def _set_jaccard(bits: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    x, y = bits[lo], bits[hi]
    shared = np.bitwise_count(x & y).sum(axis=1, dtype=np.int64)
    union = np.bitwise_count(x | y).sum(axis=1, dtype=np.int64)
    return np.divide(shared, union, out=np.zeros(len(lo)), where=union > 0)


class _Columns:
    """What scoring reads about each record, as arrays indexed by rank."""

    def __init__(self, prepared: _Prepared) -> None:
        records = prepared.records
        n = len(records)
        self.themes = _bitsets(*prepared.themes[:2], n, prepared.themes[2])
        self.groups = _bitsets(*prepared.groups[:2], n, prepared.groups[2])
        mask = (1 << 64) - 1
        signatures = [text_signature(r) for r in records]
        self.text = (
            np.stack(
                [
                    np.array([x & mask for x in signatures], dtype=np.uint64),
                    np.array([x >> 64 for x in signatures], dtype=np.uint64),
                ],
                axis=1,
            )
            if n
            else np.zeros((0, 2), dtype=np.uint64)
        )
        self.type = prepared.types
        place_rank, place_country, place_area = prepared.places
        self.place_count = np.bincount(place_rank, minlength=n)
        widest = int(self.place_count.max()) if n else 1
        slot = (
            np.arange(len(place_rank))
            - (np.cumsum(self.place_count) - self.place_count)[place_rank]
        )
        self.country = np.full((n, widest), -1, dtype=np.int64)
        self.area = np.full((n, widest), -1, dtype=np.int64)
        self.country[place_rank, slot] = place_country
        self.area[place_rank, slot] = place_area


def _scores(
    prepared: _Prepared, columns: _Columns, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Scores (as :func:`score_pair` computes them) and duplicate flags for rank pairs."""
    starts, ends = prepared.starts, prepared.ends
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

    def leads(self) -> tuple[np.ndarray, np.ndarray]:
        """The lead organisation of each pair's two interventions, as two arrays."""
        lead = np.array([r.lead for r in self._records], dtype=np.int64)
        return lead[self._lo], lead[self._hi]

    def codes(self, index: int) -> tuple[str, str]:
        """The two intervention codes of one pair, in order, without scoring it again."""
        a, b = self._records[self._lo[index]].code, self._records[self._hi[index]].code
        return (a, b) if a < b else (b, a)

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


def _clusters(prepared: _Prepared) -> list[Cluster]:
    """Per theme and place, the connected groups of overlapping interventions.

    Per theme and country, the country-level entries join each area's group (or form
    their own group when the country has no area entries). In a group sorted by start,
    a record joins the run before it when it starts before the furthest end so far; one
    cumulative maximum over all groups finds every run at once, and each run of two or
    more is a cluster. No pair is listed.
    """
    n = len(prepared.records)
    if n == 0:
        return []
    e = _entries(prepared, duplicates_only=False)
    is_area = e["area_block"] >= 0
    area_count = int(e["area_block"].max()) + 1 if is_area.any() else 0

    # which area groups each country block has
    block_area = np.unique(
        e["country_block"][is_area] * max(1, area_count) + e["area_block"][is_area]
    )
    pair_block, pair_area = block_area // max(1, area_count), block_area % max(1, area_count)
    country_rows = np.flatnonzero(~is_area)
    blocks_total = int(e["country_block"].max()) + 1
    per_block = np.bincount(pair_block, minlength=blocks_total)
    first = np.cumsum(per_block) - per_block
    counts = per_block[e["country_block"][country_rows]]
    alone = country_rows[counts == 0]
    spread = country_rows[counts > 0]
    counts = counts[counts > 0]
    total = int(counts.sum())
    copies = np.repeat(spread, counts)
    offsets = np.repeat(first[e["country_block"][spread]] - (np.cumsum(counts) - counts), counts)
    copy_group = pair_area[offsets + np.arange(total, dtype=np.int64)]

    area_rows = np.flatnonzero(is_area)
    rows = np.concatenate([area_rows, copies, alone])
    group = np.concatenate(
        [e["area_block"][area_rows], copy_group, area_count + e["country_block"][alone]]
    )
    precise = np.concatenate(
        [np.ones(len(area_rows), bool), np.zeros(len(copies) + len(alone), bool)]
    )
    rank = e["rank"][rows]
    order = np.lexsort((rank, group))
    rows, group, precise, rank = rows[order], group[order], precise[order], rank[order]

    width, origin = prepared.width, prepared.origin
    reach = np.maximum.accumulate(group * width + (prepared.ends[rank] - origin))
    begins = np.ones(len(rank), dtype=bool)
    begins[1:] = (group[1:] != group[:-1]) | (
        group[1:] * width + (prepared.starts[rank[1:]] - origin) > reach[:-1]
    )
    run_start = np.flatnonzero(begins)
    run_size = np.diff(np.append(run_start, len(rank)))

    # Each run of two or more is one theme and one place's cluster: an area, or the
    # country when no member is recorded at area level. The country-level records of a
    # country with areas sit in every area's group, so the same run can appear in
    # several groups: runs with the same members are one cluster.
    runs = np.flatnonzero(run_size > 1)
    run_precise = np.maximum.reduceat(precise, run_start)[runs] if len(rank) else precise
    first_rows = rows[run_start[runs]]
    countries = list(prepared.country_ids)
    area_of = {dense: area for area, dense in prepared.area_ids.items()}
    group_area = np.full(area_count, -1, dtype=np.int64)  # area block -> area
    group_area[e["area_block"][is_area]] = e["area"][is_area]
    run_group = group[run_start[runs]]
    run_area = np.where(
        (run_group < area_count) & run_precise,
        group_area[np.minimum(run_group, max(0, area_count - 1))] if area_count else -1,
        -1,
    )
    codes = [record.code for record in prepared.records]
    ranks = rank.tolist()
    found: dict[tuple[str, ...], tuple[set[str], set[Place]]] = {}
    for start, size, theme, country, area in zip(
        run_start[runs].tolist(),
        run_size[runs].tolist(),
        e["theme"][first_rows].tolist(),
        e["country"][first_rows].tolist(),
        run_area.tolist(),
        strict=True,
    ):
        # a record with both an area and its country can sit in a run twice
        members = tuple(sorted({codes[r] for r in ranks[start : start + size]}))
        if len(members) < 2:
            continue
        themes, places = found.setdefault(members, (set(), set()))
        themes.add(prepared.theme_names[theme])
        places.add(Place(countries[country], area_of[area] if area >= 0 else None))
    clusters = [
        Cluster(codes=members, themes=tuple(sorted(themes)), places=tuple(sorted(places)))
        for members, (themes, places) in found.items()
    ]
    clusters.sort(key=lambda c: (-len(c.codes), c.codes))
    return clusters


def overlap_clusters(records: Sequence[InterventionRecord], today: date) -> list[Cluster]:
    """Connected groups of overlapping interventions, without listing the pairs.

    >>> r = lambda code, start, end: InterventionRecord(
    ...     0, code, 0, "training", date(2025, 1, start), date(2025, 1, end),
    ...     frozenset({"productivity"}), frozenset({Place("VN")}))
    >>> [c.codes for c in overlap_clusters(
    ...     [r("A", 1, 5), r("B", 5, 9), r("C", 9, 9), r("D", 20, 25)], date(2026, 1, 1))]
    [('A', 'B', 'C')]
    """
    with collector_paused():
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
    with collector_paused():
        return _find_overlaps(records, today, decisions, duplicates_only, min_score, clusters)


def _find_overlaps(
    records: Sequence[InterventionRecord],
    today: date,
    decisions: Iterable[DecisionRecord],
    duplicates_only: bool,
    min_score: float | None,
    clusters: bool,
) -> OverlapReport:
    prepared = _Prepared(records, today)
    lo, hi = _pair_ranks(prepared, duplicates_only=duplicates_only)
    columns = _Columns(prepared)
    scored = [
        _scores(prepared, columns, lo[k : k + _CHUNK], hi[k : k + _CHUNK])
        for k in range(0, len(lo), _CHUNK)
    ]
    scores = np.concatenate([s for s, _ in scored]) if scored else np.zeros(0)
    duplicate = np.concatenate([d for _, d in scored]) if scored else np.zeros(0, dtype=bool)

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

    if not keep.all():
        lo, hi, scores, duplicate = lo[keep], hi[keep], scores[keep], duplicate[keep]
    del keep
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
    """Clusters by the definition, brute force (networkx), sorted.

    Per theme and per place (each area of a country, with the country-level records of
    that country; or the country alone where nothing of the theme is recorded at area
    level there), the connected groups of the overlap graph; the same members found
    under several themes or places are one cluster.
    """
    import networkx as nx

    records = [r for r in records if r.status != CANCELLED]  # they overlap nothing
    found: set[tuple[str, ...]] = set()
    for theme in {t for r in records for t in r.themes}:
        with_theme = [r for r in records if theme in r.themes]
        for country in {p.country for r in with_theme for p in r.places}:
            national = [r for r in with_theme if Place(country) in r.places]
            areas = {p.area for r in with_theme for p in r.places if p.country == country}
            areas.discard(None)
            groups = [
                [r for r in with_theme if Place(country, area) in r.places or r in national]
                for area in areas
            ] or [national]
            for members in groups:
                graph = nx.Graph()
                for i, a in enumerate(members):
                    for b in members[i + 1 :]:
                        if a.code != b.code and overlap(a, b, today):
                            graph.add_edge(a.code, b.code)
                found.update(tuple(sorted(c)) for c in nx.connected_components(graph))
    return sorted(found, key=lambda c: (-len(c), c))
