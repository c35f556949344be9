"""Reference data: ISO countries and areas (from pycountry), seed themes and target groups."""

from __future__ import annotations

import pycountry
from sqlalchemy import select
from sqlalchemy.orm import Session

from coordination.audit import suspend_audit
from coordination.errors import ValidationError
from coordination.models import Area, Country, TargetGroup, Theme
from coordination.text import fold
from coordination.vocab import TARGET_GROUPS, THEMES

__all__ = ["find_country", "find_area", "sync_reference_data"]


def sync_reference_data(session: Session) -> dict[str, int]:
    """Insert whatever ISO countries, first-level areas, themes and target groups are missing.

    Idempotent: existing rows (and any edits made to them) are left alone. Reference
    data is not audited: it comes from ISO lists and seeds, not from a person.
    """
    session.flush()  # anything pending before this call is still audited
    audit_was = session.info.get("audit")
    suspend_audit(session)
    try:
        counts = {
            "countries": _sync_countries(session),
            "areas": _sync_areas(session),
            "themes": _sync_seed(session, Theme, THEMES),
            "target_groups": _sync_seed(session, TargetGroup, TARGET_GROUPS),
        }
        session.flush()
    finally:
        if audit_was is None:
            session.info.pop("audit", None)
        else:
            session.info["audit"] = audit_was
    return counts


def _country_name(country: object) -> str:
    # ISO's short name ("Viet Nam", as the UN and ILO write it), except the inverted
    # forms ("Korea, Republic of") where pycountry's common name reads better.
    name: str = country.name  # type: ignore[attr-defined]
    if ", " in name:
        return getattr(country, "common_name", None) or name
    return name


def _sync_countries(session: Session) -> int:
    existing = set(session.scalars(select(Country.code)))
    new = [
        Country(code=c.alpha_2, alpha3=c.alpha_3, name=_country_name(c))
        for c in pycountry.countries
        if c.alpha_2 not in existing
    ]
    session.add_all(new)
    session.flush()
    return len(new)


# ISO 3166-2 sometimes puts a geographical grouping above the first administrative level
# (Indonesia's island groups above its provinces). Areas should be ADM1, the level 3W
# data and governments use, so such groupings are replaced by their children.
_GROUPING_TYPES = {"Geographical unit", "Geographical region", "Geographical entity"}


def first_level_subdivisions() -> list:
    """ISO 3166-2 subdivisions at the first administrative level, for every country."""
    top = [s for s in pycountry.subdivisions if s.parent_code is None]
    groupings = {
        s.code
        for s in top
        if s.type in _GROUPING_TYPES
        and any(
            c.parent_code == s.code for c in pycountry.subdivisions.get(country_code=s.country_code)
        )
    }
    return [
        s
        for s in pycountry.subdivisions
        if (s.parent_code is None and s.code not in groupings) or s.parent_code in groupings
    ]


def _sync_areas(session: Session) -> int:
    existing_codes = set(session.scalars(select(Area.code).where(Area.code.is_not(None))))
    existing_names = {
        (row[0], row[1]) for row in session.execute(select(Area.country_code, Area.name))
    }
    new = []
    for sub in first_level_subdivisions():
        if sub.code in existing_codes:
            continue
        key = (sub.country_code, sub.name)
        if key in existing_names:
            continue
        existing_names.add(key)
        new.append(Area(country_code=sub.country_code, code=sub.code, name=sub.name, kind=sub.type))
    session.add_all(new)
    return len(new)


def _sync_seed(session: Session, model: type[Theme] | type[TargetGroup], seed: list) -> int:
    existing = set(session.scalars(select(model.code)))
    added = 0
    for item in seed:
        if item["code"] in existing:
            continue
        session.add(model(**item))
        added += 1
    return added


def find_country(session: Session, value: str) -> Country:
    """A country by ISO alpha-2, alpha-3 or name (exact, case-insensitive; no fuzzy guesses)."""
    text = (value or "").strip()
    try:
        found = pycountry.countries.lookup(text)
    except LookupError:
        raise ValidationError({"country": f"unknown country {text!r}"}) from None
    country = session.get(Country, found.alpha_2)
    if country is None:
        raise ValidationError(
            {"country": f"country {text!r} is not loaded; run 'coordination init'"}
        )
    return country


def find_area(session: Session, country: Country, value: str) -> Area:
    """An area of ``country`` by ISO 3166-2 code (``BD-C`` or ``C``) or by name."""
    text = (value or "").strip()
    candidates = [text.upper(), f"{country.code}-{text.upper()}"]
    area = session.scalars(
        select(Area).where(Area.country_code == country.code, Area.code.in_(candidates))
    ).first()
    if area is None:
        wanted = fold(text)
        area = next((a for a in country.areas if fold(a.name) == wanted), None)
    if area is None:
        other = session.scalars(select(Area).where(Area.code == text.upper())).first()
        if other is not None:
            raise ValidationError(
                {"area": f"area {text!r} is in {other.country_code}, not in {country.code}"}
            )
        raise ValidationError({"area": f"unknown area {text!r} in {country.name}"})
    return area
