"""Importing and exporting 3W spreadsheets (HXL-tagged CSV or XLSX) as interventions.

:func:`import_3w` is all or nothing: every row is resolved and checked first, and if
any row has a problem nothing is written and the report lists each row, column and
reason. Otherwise interventions are created or updated, matched by ``#activity+code``;
a row without a code gets a deterministic one (from its lead organisation, title, start
date and places), so importing the same file twice updates instead of duplicating.
With ``dry_run`` the same checks run and the report says what would be created,
updated and skipped (unchanged), but nothing at all is written.

Names are matched case- and accent-insensitively (:func:`coordination.text.fold`)
against each record's names and synonyms: organisations by acronym, name or IATI
identifier; themes by code, name or DAC code; target groups by code or name; countries
by ISO alpha-2, alpha-3 or any ISO name; areas by ISO 3166-2 code (with or without the
country prefix) or name. Unknown organisations are created (type "other") and listed;
an unknown country, area, theme or target group is an error for its row.

Only the columns a file has are changed on existing interventions: a file without a
``#beneficiary`` column leaves target groups as they are. Project and results links are
not part of a 3W and are never touched.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from typing import Any

import pycountry
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, selectinload

from coordination.db import utcnow
from coordination.errors import ValidationError
from coordination.interop.hxl3w import (
    ThreeWFile,
    read_3w,
    write_csv,
    write_xlsx,
)
from coordination.models import (
    Area,
    AuditEntry,
    Country,
    Intervention,
    InterventionOrganisation,
    InterventionPlace,
    Organisation,
    TargetGroup,
    Theme,
)
from coordination.models.interventions import intervention_target_group, intervention_theme
from coordination.services.interventions import _replace_participations, _replace_places
from coordination.services.stakeholders import create_organisation
from coordination.text import fold
from coordination.vocab import ActivityStatus, InterventionType, OrganisationRole, StakeholderType

__all__ = [
    "RowError",
    "ThreeWReport",
    "export_3w",
    "generated_code",
    "import_3w",
    "threew_rows",
]

FLUSH_EVERY = 2000
# A 3W repeats the same organisations, themes and places on every row: fold each once.
_fold = functools.lru_cache(maxsize=65_536)(fold)
CODE_PREFIX = "3W-"
_ROLE_FIELDS = (
    ("partners", OrganisationRole.IMPLEMENTING),
    ("funders", OrganisationRole.FUNDING),
    ("accountable", OrganisationRole.ACCOUNTABLE),
    ("extending", OrganisationRole.EXTENDING),
)
_PARTICIPATION_FIELDS = {name for name, _role in _ROLE_FIELDS}
_PLACE_FIELDS = {"country_code", "country_name", "adm1_code", "adm1_name"}


@dataclass(frozen=True)
class RowError:
    row: int  # as the spreadsheet numbers it (1 = first line of the file)
    column: str  # "E #org+impl", or "" for the row as a whole
    reason: str

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.reason}"


@dataclass
class ThreeWReport:
    """What an import did (or, in a dry run, would do)."""

    dry_run: bool = False
    format: str = ""
    encoding: str | None = None
    rows: int = 0
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # present and unchanged
    new_organisations: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        if self.errors:
            return (
                f"{len(self.errors)} error(s) in {len({e.row for e in self.errors})} row(s) "
                f"of {self.rows}: nothing was imported"
            )
        verb = "would be " if self.dry_run else ""
        line = (
            f"{len(self.created)} {verb}created, {len(self.updated)} {verb}updated, "
            f"{len(self.skipped)} skipped (unchanged)"
        )
        if self.new_organisations:
            line += f"; {len(self.new_organisations)} new organisation(s) {verb or ''}added"
        return line

    def lines(self) -> list[str]:
        out = [str(error) for error in self.errors]
        if not self.errors and self.new_organisations:
            out.append("new organisations: " + ", ".join(self.new_organisations))
        if self.ignored_columns:
            out.append("columns not used: " + ", ".join(self.ignored_columns))
        return [*out, self.summary()]


# --------------------------------------------------------------------------- lookups


class _Index:
    """Every name a row may use for a record, folded, loaded with a handful of queries."""

    def __init__(self, session: Session) -> None:
        self.organisations: dict[str, Organisation] = {}
        self.acronyms: set[str] = set()
        organisations = list(session.scalars(select(Organisation)))
        # Weakest synonym first, so an acronym wins over another organisation's name.
        for attribute in ("name", "iati_identifier", "acronym"):
            for organisation in organisations:
                key = fold(getattr(organisation, attribute))
                if key:
                    self.organisations[key] = organisation
        self.acronyms = {fold(o.acronym) for o in organisations}

        self.themes: dict[str, Theme] = {}
        for theme in session.scalars(select(Theme)):
            for synonym in (theme.dac_code, theme.name, theme.code):
                if synonym:
                    self.themes[fold(synonym)] = theme
        self.target_groups: dict[str, TargetGroup] = {}
        for group in session.scalars(select(TargetGroup)):
            for key in (group.name, group.code):
                self.target_groups[fold(key)] = group

        self.countries: dict[str, Country] = {}
        by_code = {c.code: c for c in session.scalars(select(Country))}
        for iso in pycountry.countries:
            country = by_code.get(iso.alpha_2)
            if country is None:
                continue
            names = [getattr(iso, a, None) for a in ("name", "official_name", "common_name")]
            for name in (*names, iso.alpha_3, iso.alpha_2):
                if name:
                    self.countries[fold(name)] = country
        for country in by_code.values():
            self.countries[fold(country.name)] = country
            self.countries[fold(country.code)] = country
            self.countries[fold(country.alpha3)] = country

        self.area_codes: dict[str, Area] = {}
        self.area_names: dict[tuple[str, str], Area] = {}
        for area in session.scalars(select(Area)):
            if area.code:
                self.area_codes[area.code.upper()] = area
            self.area_names[(area.country_code, fold(area.name))] = area


@dataclass
class _NewOrganisation:
    """An organisation the file names and the database does not know yet."""

    name: str
    acronym: str
    row: int
    created: Organisation | None = None


@dataclass
class _Planned:
    row: int
    code: str
    values: dict[str, Any]  # scalar attributes, only those the file has
    themes: list[Theme] | None
    target_groups: list[TargetGroup] | None
    places: list[tuple[Country, Area | None]] | None
    participations: list[tuple[Any, OrganisationRole]] | None  # Organisation or _NewOrganisation


def generated_code(lead: str, title: str, start: str, places: Sequence[str]) -> str:
    """A stable code for a row that has none: the same row always gets the same code.

    >>> generated_code("ILO", "Workplace cooperation", "2024-01-01", ["BD"])
    '3W-0C0924E563EAAB7A'
    """
    key = "\x1f".join([fold(lead), fold(title), start, *sorted(fold(p) for p in places)])
    return CODE_PREFIX + hashlib.sha256(key.encode()).hexdigest()[:16].upper()


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text[:10]) if len(text) >= 10 else date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date (use YYYY-MM-DD)") from None


_TYPES = {fold(t.value): t for t in InterventionType} | {fold(t.label): t for t in InterventionType}
_STATUSES = (
    {fold(s.value): s for s in ActivityStatus}
    | {fold(s.label): s for s in ActivityStatus}
    | {str(s.iati_code): s for s in ActivityStatus}
)


class _Resolver:
    """Turns one record's text into rows and values, collecting the row's errors."""

    def __init__(
        self,
        session: Session,
        parsed: ThreeWFile,
        index: _Index,
        restrict_to: Organisation | None,
    ) -> None:
        self.session = session
        self.parsed = parsed
        self.index = index
        self.restrict_to = restrict_to
        self.new_organisations: dict[str, _NewOrganisation] = {}
        self.errors: list[RowError] = []

    def error(self, row: int, name: str, reason: str) -> None:
        self.errors.append(RowError(row, self.parsed.columns.get(name, ""), reason))

    # -- organisations -----------------------------------------------------------

    def organisation(self, row: int, name: str, text: str) -> Any:
        key = _fold(text)
        found = self.index.organisations.get(key)
        if found is not None:
            return found
        pending = self.new_organisations.get(key)
        if pending is not None:
            return pending
        if self.restrict_to is not None:
            self.error(row, name, f"unknown organisation {text!r}; ask a manager to add it first")
            return None
        if len(text) > 200:
            self.error(row, name, f"organisation name is {len(text)} characters; the limit is 200")
            return None
        pending = _NewOrganisation(text, self._new_acronym(text), row)
        self.new_organisations[key] = pending
        return pending

    def _new_acronym(self, name: str) -> str:
        base = name if len(name) <= 40 else "".join(w[0] for w in name.split() if w)[:36].upper()
        acronym, n = base, 2
        taken = self.index.acronyms | {_fold(p.acronym) for p in self.new_organisations.values()}
        while _fold(acronym) in taken:
            acronym, n = f"{base[:36]}-{n}", n + 1
        return acronym

    # -- places ------------------------------------------------------------------

    def places(self, row: int, values: dict[str, Any]) -> list[tuple[Country, Area | None]] | None:
        if not _PLACE_FIELDS & set(self.parsed.columns):
            return None
        codes = values.get("country_code", [])
        names = values.get("country_name", [])
        area_codes = values.get("adm1_code", [])
        area_names = values.get("adm1_name", [])
        lists = [x for x in (codes, names, area_codes, area_names) if x]
        if not lists:
            return []
        size = max(len(x) for x in lists)
        if any(len(x) not in (1, size) for x in lists):
            self.error(
                row,
                "country_code" if codes else "country_name",
                "the place columns list different numbers of places; give one country, "
                "or one per area, in the same order",
            )
            return None

        def at(items: list[str], i: int) -> str:
            return items[0] if len(items) == 1 else items[i] if items else ""

        places: list[tuple[Country, Area | None]] = []
        seen: set[tuple[str, int | None]] = set()
        for i in range(size):
            country_text = at(codes, i) or at(names, i)
            country_field = "country_code" if at(codes, i) else "country_name"
            area_code, area_name = at(area_codes, i), at(area_names, i)
            country: Country | None = None
            if country_text:
                country = self.index.countries.get(_fold(country_text))
                if country is None:
                    self.error(row, country_field, f"unknown country {country_text!r}")
                    continue
            elif area_code and "-" in area_code:
                country = self.index.countries.get(_fold(area_code.split("-", 1)[0]))
            if country is None:
                self.error(row, "country_code", "a place needs a country (#country+code)")
                continue
            area: Area | None = None
            if area_code:
                upper = area_code.upper()
                area = self.index.area_codes.get(upper) or self.index.area_codes.get(
                    f"{country.code}-{upper}"
                )
                if area is None:
                    self.error(row, "adm1_code", f"unknown area {area_code!r} in {country.name}")
                    continue
                if area.country_code != country.code:
                    self.error(
                        row,
                        "adm1_code",
                        f"area {area_code!r} is in {area.country_code}, not in {country.code}",
                    )
                    continue
            elif area_name:
                area = self.index.area_names.get((country.code, _fold(area_name)))
                if area is None:
                    self.error(row, "adm1_name", f"unknown area {area_name!r} in {country.name}")
                    continue
            key = (country.code, area.id if area is not None else None)
            if key in seen:
                label = f"{area.name}, {country.name}" if area is not None else country.name
                self.error(row, "country_code", f"{label} is listed twice")
                continue
            seen.add(key)
            places.append((country, area))
        return places

    # -- a whole row -------------------------------------------------------------

    def resolve(self, row: int, values: dict[str, Any]) -> _Planned | None:
        before = len(self.errors)
        has = self.parsed.has
        resolved: dict[str, Any] = {}

        title = values.get("title", "")
        if not title:
            self.error(row, "title", "is required")
        elif len(title) > 300:
            self.error(row, "title", f"is {len(title)} characters long; the limit is 300")
        else:
            resolved["title"] = title

        kind_text = values.get("type", "")
        kind = _TYPES.get(_fold(kind_text))
        if kind is None:
            known = ", ".join(t.value for t in InterventionType)
            reason = "is required" if not kind_text else f"unknown type {kind_text!r}"
            self.error(row, "type", f"{reason}; use one of {known}")
        else:
            resolved["intervention_type"] = kind

        if has("description"):
            resolved["description"] = values.get("description") or None
        if has("status"):
            status_text = values.get("status", "")
            status = (
                _STATUSES.get(_fold(status_text)) if status_text else ActivityStatus.IMPLEMENTATION
            )
            if status is None:
                known = ", ".join(s.value for s in ActivityStatus)
                self.error(row, "status", f"unknown status {status_text!r}; use one of {known}")
            else:
                resolved["status"] = status

        start_text = values.get("start", "")
        start = end = None
        if not start_text:
            self.error(row, "start", "is required")
        else:
            try:
                start = resolved["start_date"] = _parse_date(start_text)
            except ValueError as error:
                self.error(row, "start", str(error))
        if has("end"):
            end_text = values.get("end", "")
            try:
                end = resolved["end_date"] = _parse_date(end_text) if end_text else None
            except ValueError as error:
                self.error(row, "end", str(error))
        if start is not None and end is not None and end < start:
            self.error(row, "end", f"ends ({end}) before it starts ({start})")

        lead_text = values.get("lead", "")
        lead = None
        if not lead_text:
            self.error(row, "lead", "is required")
        else:
            lead = self.organisation(row, "lead", lead_text)
            if self.restrict_to is not None and lead is not None and lead is not self.restrict_to:
                self.error(
                    row,
                    "lead",
                    f"partners import only their own organisation's interventions "
                    f"({self.restrict_to.acronym})",
                )
            resolved["lead_organisation"] = lead

        participations: list[tuple[Any, OrganisationRole]] | None = None
        if _PARTICIPATION_FIELDS & set(self.parsed.columns):
            participations = []
            for name, role in _ROLE_FIELDS:
                for text in values.get(name, []):
                    organisation = self.organisation(row, name, text)
                    if organisation is None:
                        continue
                    if organisation is lead and role is OrganisationRole.IMPLEMENTING:
                        self.error(row, name, f"{text} already leads this intervention")
                        continue
                    pair = (organisation, role)
                    if not any(p[0] is pair[0] and p[1] is role for p in participations):
                        participations.append(pair)

        themes: list[Theme] = []
        for text in values.get("themes", []):
            theme = self.index.themes.get(_fold(text))
            if theme is None:
                self.error(row, "themes", f"unknown theme {text!r}")
            elif theme not in themes:
                themes.append(theme)
        if not values.get("themes"):
            self.error(row, "themes", "give at least one theme")

        target_groups: list[TargetGroup] | None = None
        if has("target_groups"):
            target_groups = []
            for text in values.get("target_groups", []):
                group = self.index.target_groups.get(_fold(text))
                if group is None:
                    self.error(row, "target_groups", f"unknown target group {text!r}")
                elif group not in target_groups:
                    target_groups.append(group)

        places = self.places(row, values)

        code = values.get("code", "")
        if not code:
            place_keys = [
                f"{c.code}/{a.code or a.name}" if a is not None else c.code for c, a in places or []
            ]
            code = generated_code(lead_text, title, start_text, place_keys)
        elif len(code) > 80:
            self.error(row, "code", f"is {len(code)} characters long; the limit is 80")
        if len(self.errors) > before:
            return None
        return _Planned(row, code, resolved, themes, target_groups, places, participations)


# --------------------------------------------------------------------------- import


@dataclass
class _Current:
    """An existing intervention as plain values: comparing needs no ORM objects."""

    id: int
    values: dict[str, Any]
    themes: set[int]
    target_groups: set[int]
    places: set[tuple[str, int | None]]
    participations: set[tuple[int, OrganisationRole]]


_SCALARS = (
    "title",
    "description",
    "intervention_type",
    "lead_organisation_id",
    "start_date",
    "end_date",
    "status",
)


def _chunks(items: Sequence[Any], size: int = 1000) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _load_existing(session: Session, codes: list[str]) -> dict[str, _Current]:
    """The interventions with these codes, as plain values (a few queries per 1,000 codes)."""
    found: dict[str, _Current] = {}
    columns = [getattr(Intervention, name) for name in _SCALARS]
    for chunk in _chunks(codes):
        by_id: dict[int, _Current] = {}
        rows = session.execute(
            select(Intervention.id, Intervention.code, *columns).where(Intervention.code.in_(chunk))
        )
        for row in rows:
            current = _Current(
                row[0], dict(zip(_SCALARS, row[2:], strict=True)), set(), set(), set(), set()
            )
            by_id[row.id] = found[row.code] = current
        if not by_id:
            continue
        ids = list(by_id)
        for intervention_id, theme_id in session.execute(
            select(intervention_theme.c.intervention_id, intervention_theme.c.theme_id).where(
                intervention_theme.c.intervention_id.in_(ids)
            )
        ):
            by_id[intervention_id].themes.add(theme_id)
        for intervention_id, group_id in session.execute(
            select(
                intervention_target_group.c.intervention_id,
                intervention_target_group.c.target_group_id,
            ).where(intervention_target_group.c.intervention_id.in_(ids))
        ):
            by_id[intervention_id].target_groups.add(group_id)
        for intervention_id, country_code, area_id in session.execute(
            select(
                InterventionPlace.intervention_id,
                InterventionPlace.country_code,
                InterventionPlace.area_id,
            ).where(InterventionPlace.intervention_id.in_(ids))
        ):
            by_id[intervention_id].places.add((country_code, area_id))
        for intervention_id, organisation_id, role in session.execute(
            select(
                InterventionOrganisation.intervention_id,
                InterventionOrganisation.organisation_id,
                InterventionOrganisation.role,
            ).where(InterventionOrganisation.intervention_id.in_(ids))
        ):
            by_id[intervention_id].participations.add((organisation_id, role))
    return found


def _changes(current: _Current, plan: _Planned) -> bool:
    """Whether applying ``plan`` would change the intervention."""
    for key, value in plan.values.items():
        if key == "lead_organisation":
            if (
                isinstance(value, _NewOrganisation)
                or value.id != current.values["lead_organisation_id"]
            ):
                return True
        elif current.values[key] != value:
            return True
    if plan.themes is not None and current.themes != {t.id for t in plan.themes}:
        return True
    if plan.target_groups is not None and current.target_groups != {
        g.id for g in plan.target_groups
    }:
        return True
    if plan.places is not None and current.places != {
        (c.code, a.id if a is not None else None) for c, a in plan.places
    }:
        return True
    if plan.participations is not None:
        if any(isinstance(o, _NewOrganisation) for o, _role in plan.participations):
            return True
        if current.participations != {(o.id, role) for o, role in plan.participations}:
            return True
    return False


def _real(organisation: Any) -> Organisation:
    if isinstance(organisation, _NewOrganisation):
        assert organisation.created is not None, "new organisations are created first"
        return organisation.created
    return organisation


def _apply(intervention: Intervention, plan: _Planned) -> None:
    """Update through the ORM, so that the audit trail records before and after."""
    for key, value in plan.values.items():
        value = _real(value) if key == "lead_organisation" else value
        if getattr(intervention, key) != value:
            setattr(intervention, key, value)
    if plan.themes is not None:
        _set_rows(intervention, "themes", plan.themes)
    if plan.target_groups is not None:
        _set_rows(intervention, "target_groups", plan.target_groups)
    if plan.places is not None:
        _replace_places(intervention, plan.places)
    if plan.participations is not None:
        _replace_participations(
            intervention,
            InterventionOrganisation,
            [(_real(o), role) for o, role in plan.participations],
        )


def _set_rows(owner: Any, attribute: str, rows: list[Any]) -> None:
    if {r.id for r in getattr(owner, attribute)} != {r.id for r in rows}:
        setattr(owner, attribute, rows)


def _update(session: Session, plans: list[_Planned]) -> None:
    for chunk in _chunks(plans):
        by_code = {p.code: p for p in chunk}
        query = (
            select(Intervention)
            .where(Intervention.code.in_(list(by_code)))
            .options(
                selectinload(Intervention.themes),
                selectinload(Intervention.target_groups),
                selectinload(Intervention.places),
                selectinload(Intervention.participations),
            )
        )
        for intervention in session.scalars(query):
            _apply(intervention, by_code[intervention.code])
        session.flush()


def _insert(session: Session, plans: Sequence[_Planned]) -> None:
    """Create interventions with multi-row INSERTs, and their audit entries alongside.

    Creating 100,000 interventions through the unit of work costs minutes; these
    statements cost seconds. The audit trail still gets one entry per intervention, in
    the same transaction, in the shape the session hooks give a created record.
    """
    now = utcnow()
    rows = []
    for plan in plans:
        values = dict(plan.values)
        lead = _real(values.pop("lead_organisation"))
        values.setdefault("status", ActivityStatus.IMPLEMENTATION)
        values.setdefault("description", None)
        values.setdefault("end_date", None)
        rows.append(
            {
                **values,
                "code": plan.code,
                "lead_organisation_id": lead.id,
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
        )
    returned = session.execute(
        insert(Intervention).returning(
            Intervention.id, Intervention.code, sort_by_parameter_order=True
        ),
        rows,
    ).all()
    themes, groups, places, participations, audit = [], [], [], [], []
    audited = session.info.get("audit") is not False
    for (intervention_id, code), plan, row in zip(returned, plans, rows, strict=True):
        assert code == plan.code
        for theme in plan.themes or ():
            themes.append({"intervention_id": intervention_id, "theme_id": theme.id})
        for group in plan.target_groups or ():
            groups.append({"intervention_id": intervention_id, "target_group_id": group.id})
        for country, area in plan.places or ():
            places.append(
                {
                    "intervention_id": intervention_id,
                    "country_code": country.code,
                    "area_id": area.id if area is not None else None,
                }
            )
        for organisation, role in plan.participations or ():
            participations.append(
                {
                    "intervention_id": intervention_id,
                    "organisation_id": _real(organisation).id,
                    "role": role,
                }
            )
        if audited:
            audit.append(_audit_entry(session, intervention_id, row, plan))
    targets: list[tuple[Any, list[dict[str, Any]]]] = [
        (intervention_theme, themes),
        (intervention_target_group, groups),
        (InterventionPlace, places),
        (InterventionOrganisation, participations),
        (AuditEntry, audit),
    ]
    for table, link_rows in targets:
        if link_rows:
            session.execute(insert(table), link_rows)


def _audit_entry(
    session: Session, intervention_id: int, row: dict[str, Any], plan: _Planned
) -> dict[str, Any]:
    changes: dict[str, Any] = {"id": [None, intervention_id]}
    for key, value in row.items():
        if key in ("version", "created_at", "updated_at") or value is None:
            continue
        changes[key] = [None, _audit_plain(value)]
    collections = {
        "themes": sorted(t.name for t in plan.themes or ()),
        "target_groups": sorted(g.name for g in plan.target_groups or ()),
        "places": sorted(
            f"{c.code}/{a.code or a.name}" if a is not None else c.code
            for c, a in plan.places or ()
        ),
        "participations": sorted(
            f"{_real(o).acronym} ({role.value})" for o, role in plan.participations or ()
        ),
    }
    for key, labels in collections.items():
        if labels:
            changes[key] = [[], labels]
    return {
        "occurred_at": utcnow(),
        "actor": session.info.get("actor", "system"),
        "action": "create",
        "entity_type": "Intervention",
        "entity_id": str(intervention_id),
        "entity_label": plan.code[:300],
        "changes": changes,
        "reason": session.info.get("audit_reason"),
    }


def _audit_plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    return value


def import_3w(
    session: Session,
    data: bytes,
    filename: str | None = None,
    *,
    dry_run: bool = False,
    restrict_to: Organisation | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ThreeWReport:
    """Import a 3W file; all or nothing. Returns the report, errors included.

    A file that cannot be read at all (type, size, encoding, missing columns) raises
    :class:`coordination.interop.hxl3w.ThreeWFileError`. ``restrict_to`` (a partner's
    organisation) allows only rows led by that organisation and no new organisations.
    ``progress(done, total)`` is called as rows are written.
    """
    parsed = read_3w(data, filename)
    report = ThreeWReport(
        dry_run=dry_run,
        format=parsed.format,
        encoding=parsed.encoding,
        rows=len(parsed.records),
        ignored_columns=list(parsed.ignored_columns),
    )
    resolver = _Resolver(session, parsed, _Index(session), restrict_to)
    plans: list[_Planned] = []
    first_row: dict[str, int] = {}
    for record in parsed.records:
        plan = resolver.resolve(record.row, record.values)
        if plan is None:
            continue
        earlier = first_row.setdefault(plan.code, record.row)
        if earlier != record.row:
            column = "code" if record.values.get("code") else ""
            why = "the same activity code" if column else "the same lead, title, start and places"
            resolver.error(record.row, column, f"has {why} as row {earlier} ({plan.code})")
            continue
        plans.append(plan)

    existing = _load_existing(session, [p.code for p in plans]) if plans else {}
    if restrict_to is not None:
        for plan in plans:
            found = existing.get(plan.code)
            if found is not None and found.values["lead_organisation_id"] != restrict_to.id:
                resolver.error(
                    plan.row,
                    "code",
                    f"{plan.code} belongs to another organisation's intervention",
                )
    report.errors = sorted(resolver.errors, key=lambda e: (e.row, e.column))
    if report.errors:
        return report

    report.new_organisations = [p.name for p in resolver.new_organisations.values()]
    if not dry_run:
        for pending in resolver.new_organisations.values():
            pending.created = create_organisation(
                session,
                name=pending.name,
                acronym=pending.acronym,
                stakeholder_type=StakeholderType.OTHER,
            )
    to_create: list[_Planned] = []
    to_update: list[_Planned] = []
    for plan in plans:
        current = existing.get(plan.code)
        if current is None:
            report.created.append(plan.code)
            to_create.append(plan)
        elif _changes(current, plan):
            report.updated.append(plan.code)
            to_update.append(plan)
        else:
            report.skipped.append(plan.code)
    if dry_run:
        return report
    session.flush()
    total, done = len(to_create) + len(to_update), 0
    for chunk in _chunks(to_create, FLUSH_EVERY):
        _insert(session, chunk)
        done += len(chunk)
        if progress is not None:
            progress(done, total)
    for chunk in _chunks(to_update, FLUSH_EVERY):
        _update(session, list(chunk))
        done += len(chunk)
        if progress is not None:
            progress(done, total)
    return report


# --------------------------------------------------------------------------- export


def threew_rows(session: Session) -> list[dict[str, Any]]:
    """Every intervention as a 3W row (plain values by field name), ordered by code."""
    query = (
        select(Intervention)
        .order_by(Intervention.code)
        .options(
            selectinload(Intervention.lead_organisation),
            selectinload(Intervention.themes),
            selectinload(Intervention.target_groups),
            selectinload(Intervention.places).selectinload(InterventionPlace.country),
            selectinload(Intervention.places).selectinload(InterventionPlace.area),
            selectinload(Intervention.participations).selectinload(
                InterventionOrganisation.organisation
            ),
        )
    )
    rows = []
    for intervention in session.scalars(query):
        places = sorted(
            intervention.places,
            key=lambda p: (p.country_code, p.area.name if p.area is not None else ""),
        )
        row: dict[str, Any] = {
            "code": intervention.code,
            "title": intervention.title,
            "type": intervention.intervention_type.value,
            "description": intervention.description or "",
            "lead": intervention.lead_organisation.acronym,
            "themes": sorted(t.name for t in intervention.themes),
            "target_groups": sorted(g.name for g in intervention.target_groups),
            "country_code": [p.country_code for p in places],
            "country_name": [p.country.name for p in places],
            "adm1_code": [(p.area.code or "") if p.area is not None else "" for p in places],
            "adm1_name": [p.area.name if p.area is not None else "" for p in places],
            "start": intervention.start_date,
            "end": intervention.end_date,
            "status": intervention.status.value,
        }
        for name, role in _ROLE_FIELDS:
            row[name] = sorted(
                p.organisation.acronym for p in intervention.participations if p.role is role
            )
        if not any(row["adm1_code"]):
            row["adm1_code"] = []
        if not any(row["adm1_name"]):
            row["adm1_name"] = []
        rows.append(row)
    return rows


def export_3w(
    session: Session, format: str = "csv", rows: Iterable[dict[str, Any]] | None = None
) -> bytes:
    """The interventions as a 3W file in the import template (``csv`` or ``xlsx``)."""
    if format not in ("csv", "xlsx"):
        raise ValidationError({"format": f"unknown format {format!r}; use csv or xlsx"})
    data = threew_rows(session) if rows is None else rows
    return write_xlsx(data) if format == "xlsx" else write_csv(data)
