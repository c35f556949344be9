"""Gaps a coordinator can act on: missing partnerships, constituencies and coverage.

- **Partnership gap**: two organisations with at least one overlapping pair of
  interventions (as lead organisations), no partnership recorded between them and no
  shared body membership; ranked by the summed scores of their overlaps, then their
  number. Each gap names its ten strongest overlapping pairs.
- **Constituency gap**: for each country and theme where the projects work, the tripartite
  constituencies (government, employers, workers) with no active organisation there; and
  brands active in a country with no partnership with any workers' organisation there.
- **Coverage gap**: a theme x country cell of the projects' scope (and each area of that
  country where interventions are recorded) with no active intervention.

An intervention is *active* when its status is pipeline or implementation and it has
not ended before today. An organisation is active in a country and theme when it leads
or takes part in such an intervention there. The projects' scope is the countries x
themes of every project that is not closed or cancelled.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from itertools import combinations
from typing import Any

import numpy as np

from coordination.analysis.overlaps import OverlapPair, PairList
from coordination.analysis.snapshot import InterventionRecord, Place, Snapshot

__all__ = [
    "BrandGap",
    "ConstituencyGap",
    "CoverageGap",
    "PartnershipGap",
    "TRIPARTITE",
    "active_interventions",
    "constituency_gaps",
    "coverage_gaps",
    "partnership_gaps",
    "project_scope",
]

TRIPARTITE = ("government", "employers", "workers")
_ACTIVE_STATUSES = frozenset({"pipeline", "implementation"})
_OPEN_PROJECT_STATUSES = frozenset({"pipeline", "implementation", "finalisation", "suspended"})


@dataclass(frozen=True, slots=True)
class PartnershipGap:
    a: str  # acronyms, in order
    b: str
    overlaps: int
    score: float
    pairs: tuple[tuple[str, str], ...]  # the strongest overlapping pairs behind the gap

    def as_dict(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "overlaps": self.overlaps,
            "score": self.score,
            "pairs": [list(p) for p in self.pairs],
        }


@dataclass(frozen=True, slots=True)
class ConstituencyGap:
    country: str
    theme: str
    missing: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": "constituency",
            "country": self.country,
            "theme": self.theme,
            "missing": list(self.missing),
        }


@dataclass(frozen=True, slots=True)
class BrandGap:
    brand: str  # acronym
    country: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": "brand_without_workers_partner",
            "brand": self.brand,
            "country": self.country,
        }


@dataclass(frozen=True, slots=True)
class CoverageGap:
    theme: str
    country: str
    area: str | None  # ISO 3166-2 code (or label) of the area, None for the whole country

    def as_dict(self) -> dict[str, Any]:
        return {"theme": self.theme, "country": self.country, "area": self.area}


def partnership_gaps(
    snapshot: Snapshot, *pair_sets: Iterable[OverlapPair], examples: int = 10
) -> list[PartnershipGap]:
    """Organisation pairs that overlap but neither partner nor sit on a body together.

    Takes one or more sets of overlapping pairs (a :class:`PairList` is read as arrays,
    so millions of pairs cost no objects). Each gap keeps its ``examples`` strongest
    interventions pairs.
    """
    linked: set[tuple[int, int]] = set()
    for partnership in snapshot.partnerships:
        linked.update(combinations(sorted(partnership.members), 2))
    by_body: dict[int, set[int]] = defaultdict(set)
    for membership in snapshot.memberships:
        by_body[membership.body_id].add(membership.organisation_id)
    for members in by_body.values():
        linked.update(combinations(sorted(members), 2))

    lead_of = {r.code: r.lead for r in snapshot.interventions}
    firsts, seconds, scores, sources = [], [], [], []
    readers: list[Any] = []  # per set: item index -> (code a, code b)
    for number, pairs in enumerate(pair_sets):
        if isinstance(pairs, PairList):
            x, y = pairs.leads()
            firsts.append(x)
            seconds.append(y)
            scores.append(pairs.scores)
            readers.append(pairs.codes)
            count = len(pairs)
        else:
            listed = [p for p in pairs if p.a in lead_of and p.b in lead_of]
            firsts.append(np.array([lead_of[p.a] for p in listed], dtype=np.int64))
            seconds.append(np.array([lead_of[p.b] for p in listed], dtype=np.int64))
            scores.append(np.array([p.score for p in listed], dtype=np.float64))
            readers.append(lambda k, listed=listed: (listed[k].a, listed[k].b))
            count = len(listed)
        sources.append(np.stack([np.full(count, number), np.arange(count)], axis=1))
    if not firsts:
        return []
    x = np.concatenate(firsts)
    y = np.concatenate(seconds)
    score = np.concatenate(scores)
    source = np.concatenate(sources)
    lo, hi = np.minimum(x, y), np.maximum(x, y)
    span = int(hi.max()) + 1 if len(hi) else 1
    key = lo * span + hi
    known = np.array([a * span + b for a, b in linked if b < span], dtype=np.int64)
    keep = (lo != hi) & ~np.isin(key, known)
    key, score, source = key[keep], score[keep], source[keep]
    if len(key) == 0:
        return []

    order = np.lexsort((-score, key))  # by organisation pair, strongest overlap first
    key, score, source = key[order], score[order], source[order]
    starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
    counts = np.diff(np.append(starts, len(key)))
    totals = np.add.reduceat(score, starts)

    def acronym(organisation_id: int) -> str:
        record = snapshot.organisations.get(organisation_id)
        return record.acronym if record else f"#{organisation_id}"

    gaps = []
    for start, count, total in zip(starts.tolist(), counts.tolist(), totals.tolist(), strict=True):
        a, b = sorted((acronym(int(key[start]) // span), acronym(int(key[start]) % span)))
        shown = [
            tuple(readers[int(number)](int(k)))
            for number, k in source[start : start + min(count, examples)]
        ]
        gaps.append(
            PartnershipGap(
                a=a, b=b, overlaps=count, score=round(total, 3), pairs=tuple(sorted(shown))
            )
        )
    gaps.sort(key=lambda g: (-g.score, -g.overlaps, g.a, g.b))
    return gaps


def active_interventions(
    interventions: Iterable[InterventionRecord], today: date
) -> list[InterventionRecord]:
    """Interventions in pipeline or implementation that have not ended before today."""
    return [
        r
        for r in interventions
        if r.status in _ACTIVE_STATUSES and (r.end is None or r.end >= today)
    ]


def project_scope(snapshot: Snapshot) -> set[tuple[str, str]]:
    """(country, theme) cells where open projects work."""
    return {
        (country, theme)
        for project in snapshot.projects
        if project.status in _OPEN_PROJECT_STATUSES
        for country in project.countries
        for theme in project.themes
    }


def constituency_gaps(
    snapshot: Snapshot, today: date
) -> tuple[list[ConstituencyGap], list[BrandGap]]:
    """Missing tripartite constituents per (country, theme) of scope; brands without unions."""
    active = active_interventions(snapshot.interventions, today)
    present: dict[tuple[str, str], set[str]] = defaultdict(set)
    active_in: dict[int, set[str]] = defaultdict(set)  # organisation -> countries
    for record in active:
        countries = {p.country for p in record.places}
        for organisation_id in record.organisations:
            organisation = snapshot.organisations.get(organisation_id)
            if organisation is None:
                continue
            active_in[organisation_id] |= countries
            for country in countries:
                for theme in record.themes:
                    present[(country, theme)].add(organisation.constituency)

    gaps = []
    for country, theme in sorted(project_scope(snapshot)):
        missing = tuple(c for c in TRIPARTITE if c not in present[(country, theme)])
        if missing:
            gaps.append(ConstituencyGap(country=country, theme=theme, missing=missing))

    return gaps, _brand_gaps(snapshot, active_in)


def _brand_gaps(snapshot: Snapshot, active_in: dict[int, set[str]]) -> list[BrandGap]:
    organisations = snapshot.organisations
    workers = {i for i, o in organisations.items() if o.constituency == "workers"}
    covered: set[tuple[int, str]] = set()  # (brand, country) with a union partnership there
    for partnership in snapshot.partnerships:
        unions = partnership.members & workers
        if not unions:
            continue
        if partnership.countries:
            countries = set(partnership.countries)
        else:  # no country recorded: wherever the workers' organisations are or work
            countries = set()
            for union in unions:
                home = organisations[union].country
                countries |= active_in.get(union, set()) | ({home} if home else set())
        for member in partnership.members - workers:
            covered.update((member, country) for country in countries)
    gaps = [
        BrandGap(brand=organisation.acronym, country=country)
        for organisation_id, organisation in organisations.items()
        if organisation.stakeholder_type == "brand"
        for country in active_in.get(organisation_id, ())
        if (organisation_id, country) not in covered
    ]
    gaps.sort(key=lambda g: (g.country, g.brand))
    return gaps


def coverage_gaps(snapshot: Snapshot, today: date) -> list[CoverageGap]:
    """Cells of the projects' scope with no active intervention.

    A country-level intervention covers every area of its country. Areas are checked
    where interventions (of any status) are recorded, so that a province the projects
    worked in and then left shows up.
    """
    scope = project_scope(snapshot)
    covered: set[tuple[str, str, int | None]] = set()
    country_wide: set[tuple[str, str]] = set()
    for record in active_interventions(snapshot.interventions, today):
        for theme in record.themes:
            for place in record.places:
                covered.add((theme, place.country, None))
                covered.add((theme, place.country, place.area))
                if place.area is None:
                    country_wide.add((theme, place.country))
    recorded_areas: dict[str, set[int]] = defaultdict(set)
    for record in snapshot.interventions:
        for place in record.places:
            if place.area is not None:
                recorded_areas[place.country].add(place.area)

    gaps = []
    for country, theme in sorted(scope):
        if (theme, country, None) not in covered:
            gaps.append(CoverageGap(theme=theme, country=country, area=None))
        whole_country = (theme, country) in country_wide
        for area in sorted(recorded_areas.get(country, ())):
            if whole_country or (theme, country, area) in covered:
                continue
            label = snapshot.place_label(Place(country, area))
            gaps.append(CoverageGap(theme=theme, country=country, area=label))
    gaps.sort(key=lambda g: (g.country, g.theme, g.area or ""))
    return gaps
