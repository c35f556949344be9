"""Realistic synthetic 3W data for the overlap benchmark, written straight into a database.

Shape (the issue's): a few large organisations and many small ones (Zipf-like), 30
countries, 300 areas (10 per country), 12 themes, 10 target groups, a five-year window.
Within it, the skew a real 3W shows: popular themes and countries, many short activities
(trainings, workshops) and fewer long programmes, a quarter of places recorded at country
level only, a few open-ended and cancelled interventions.

Rows go in with ``executemany`` through SQLAlchemy Core (no ORM, no audit trail): the
point is to produce data fast, not to exercise the services.

    python -m benchmarks.generate --database sqlite:///bench.sqlite --interventions 100000
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Engine, func, insert, select

from coordination.db import make_engine, upgrade_database
from coordination.models import Area, Intervention, InterventionPlace, Organisation, TargetGroup
from coordination.models import Theme as ThemeModel
from coordination.models.interventions import intervention_target_group, intervention_theme
from coordination.services.reference import sync_reference_data

WINDOW_START = date(2021, 1, 1)
WINDOW_DAYS = 5 * 365
COUNTRIES = 30
AREAS_PER_COUNTRY = 10
THEMES = 12
TARGET_GROUPS = 10
TYPES = [
    ("training", 40),
    ("research", 10),
    ("policy_advice", 10),
    ("advocacy", 12),
    ("social_dialogue", 10),
    ("enterprise_service", 13),
    ("network", 5),
]
EXTRA_THEMES = [
    "occupational-safety",
    "wages",
    "child-labour",
    "skills",
    "social-protection",
    "migration",
    "digitalisation",
    "climate-transition",
]
WORDS = (
    "training workshop programme support capacity dialogue policy study women workers "
    "factories suppliers inspection safety wages skills leadership network campaign "
    "guidance toolkit assessment pilot scale-up awareness coaching mentoring"
).split()


def schema_options(schema: str | None) -> dict[str, Any]:
    """Engine options putting every table in ``schema`` (PostgreSQL only)."""
    if not schema:
        return {}
    return {"connect_args": {"options": f"-csearch_path={schema}"}}


def _zipf_weights(n: int, exponent: float = 1.1) -> list[float]:
    return [1.0 / (rank**exponent) for rank in range(1, n + 1)]


def _reference(engine: Engine) -> tuple[list[str], dict[str, list[int]], list[int], list[int]]:
    """Countries with at least ten areas, 12 themes and 10 target groups (ids)."""
    from sqlalchemy.orm import Session

    with Session(engine) as session, session.begin():
        sync_reference_data(session)
        existing = set(session.scalars(select(ThemeModel.code)))
        for code in EXTRA_THEMES:
            if code not in existing:
                session.add(ThemeModel(code=code, name=code.replace("-", " ").capitalize()))
        session.flush()
        themes = list(session.scalars(select(ThemeModel.id).order_by(ThemeModel.id)))[:THEMES]
        groups = list(session.scalars(select(TargetGroup.id).order_by(TargetGroup.id)))[
            :TARGET_GROUPS
        ]
        rows = session.execute(
            select(Area.country_code, func.count())
            .group_by(Area.country_code)
            .having(func.count() >= AREAS_PER_COUNTRY)
            .order_by(Area.country_code)
        ).all()
        countries = [code for code, _ in rows][:COUNTRIES]
        areas = {
            country: list(
                session.scalars(
                    select(Area.id)
                    .where(Area.country_code == country)
                    .order_by(Area.id)
                    .limit(AREAS_PER_COUNTRY)
                )
            )
            for country in countries
        }
    assert len(countries) == COUNTRIES and len(themes) == THEMES, "not enough reference data"
    return countries, areas, themes, groups


def _duration(rng: random.Random) -> int | None:
    roll = rng.random()
    if roll < 0.03:
        return None  # open-ended
    if roll < 0.50:
        return rng.randint(0, 30)  # workshops, trainings
    if roll < 0.85:
        return rng.randint(31, 365)
    return rng.randint(366, 4 * 365)


def generate(engine: Engine, interventions: int, *, seed: int = 1, batch: int = 20_000) -> None:
    rng = random.Random(seed)
    upgrade_database(engine)
    countries, areas, themes, groups = _reference(engine)
    organisations = max(200, interventions // 40)
    lead_weights = _zipf_weights(organisations)
    country_weights = _zipf_weights(COUNTRIES, 0.8)
    theme_weights = _zipf_weights(THEMES, 0.7)
    group_weights = _zipf_weights(TARGET_GROUPS, 0.6)
    type_names = [t for t, _ in TYPES]
    type_weights = [w for _, w in TYPES]

    with engine.begin() as connection:
        first_org = (connection.scalar(select(func.max(Organisation.id))) or 0) + 1
        first_id = (connection.scalar(select(func.max(Intervention.id))) or 0) + 1
        connection.execute(
            insert(Organisation),
            [
                {
                    "id": first_org + i,
                    "name": f"Synthetic organisation {first_org + i}",
                    "acronym": f"SYN{first_org + i}",
                    "stakeholder_type": "ngo",
                    "constituency": "none",
                    "iati_type": 21,
                    "version": 1,
                }
                for i in range(organisations)
            ],
        )

    rows: list[dict[str, Any]] = []
    theme_rows: list[dict[str, int]] = []
    place_rows: list[dict[str, Any]] = []
    group_rows: list[dict[str, int]] = []

    def flush() -> None:
        with engine.begin() as connection:
            connection.execute(insert(Intervention), rows)
            connection.execute(insert(intervention_theme), theme_rows)
            connection.execute(insert(InterventionPlace), place_rows)
            connection.execute(insert(intervention_target_group), group_rows)
        for buffer in (rows, theme_rows, place_rows, group_rows):
            buffer.clear()

    leads = rng.choices(range(organisations), weights=lead_weights, k=interventions)
    for n in range(interventions):
        intervention_id = first_id + n
        start = WINDOW_START + timedelta(days=rng.randrange(WINDOW_DAYS))
        days = _duration(rng)
        kind = rng.choices(type_names, weights=type_weights)[0]
        rows.append(
            {
                "id": intervention_id,
                "code": f"SYN-{intervention_id:07d}",
                "title": " ".join(rng.sample(WORDS, 5)),
                "description": None,
                "intervention_type": kind,
                "lead_organisation_id": first_org + leads[n],
                "start_date": start,
                "end_date": None if days is None else start + timedelta(days=days),
                "status": "cancelled" if rng.random() < 0.02 else "implementation",
                "version": 1,
            }
        )
        picked = set(rng.choices(themes, weights=theme_weights, k=rng.choice((1, 1, 1, 2, 2, 3))))
        theme_rows.extend({"intervention_id": intervention_id, "theme_id": t} for t in picked)
        places = set()
        for _ in range(rng.choices((1, 2, 3), weights=(80, 15, 5))[0]):
            country = rng.choices(countries, weights=country_weights)[0]
            area = None if rng.random() < 0.25 else rng.choice(areas[country])
            places.add((country, area))
        place_rows.extend(
            {"intervention_id": intervention_id, "country_code": c, "area_id": a} for c, a in places
        )
        picked = set(rng.choices(groups, weights=group_weights, k=rng.choice((1, 1, 2, 2, 3))))
        group_rows.extend(
            {"intervention_id": intervention_id, "target_group_id": g} for g in picked
        )
        if len(rows) >= batch:
            flush()
    if rows:
        flush()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="database URL")
    parser.add_argument("--interventions", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--schema", help="PostgreSQL schema to use (keeps test databases apart)")
    args = parser.parse_args(argv)
    engine = make_engine(args.database, **schema_options(args.schema))
    began = time.perf_counter()
    generate(engine, args.interventions, seed=args.seed)
    print(
        f"generated {args.interventions:,} interventions in {time.perf_counter() - began:.1f} s",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
