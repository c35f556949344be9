"""Loading scenario data (YAML fixture files) and the demo accounts.

A fixture set is a directory of ``*.yaml`` files (or one file). Each file is a
mapping whose keys are sections (``organisations``, ``people``, ``projects``,
``partnerships``, ``bodies``, ``interventions``), each a list of items; the format
is documented in ``fixtures/README.md``.

Loading happens in two steps. First the whole set is checked: required keys,
unknown keys, vocabulary terms, dates, and every reference (acronyms, e-mails,
project and result codes, theme and target-group codes, countries, areas and
whether an area lies in its country). Every problem is reported at once, with the
file, the item and the field. Only a clean set is written, through the services,
matching existing rows by their natural keys (acronym, code, name, e-mail), so
loading a set twice creates nothing the second time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pycountry
import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import coordination
from coordination.errors import CoordinationError, ValidationError
from coordination.models import (
    Area,
    Body,
    Country,
    Intervention,
    Organisation,
    Partnership,
    Person,
    Project,
    Result,
    TargetGroup,
    Theme,
    User,
)
from coordination.services import interventions as intervention_services
from coordination.services import stakeholders
from coordination.services._lookup import to_organisation, to_person
from coordination.services.accounts import create_user, set_password
from coordination.text import fold
from coordination.vocab import (
    ActivityStatus,
    BodyRole,
    BodyType,
    Constituency,
    InterventionType,
    OrganisationRole,
    PartnershipType,
    ResultLevel,
    Sex,
    StakeholderType,
    UserRole,
)

__all__ = [
    "DEMO_ACCOUNTS",
    "FixtureError",
    "FixtureSummary",
    "Problem",
    "create_demo_accounts",
    "fixtures_root",
    "load_fixtures",
    "resolve_fixture_files",
]

# The order sections are written in: each may refer to those before it.
SECTIONS = ("organisations", "people", "projects", "partnerships", "bodies", "interventions")


def _load_logframe(session: Session, data: Any) -> None:
    from coordination.services.results import load_logframe

    load_logframe(session, data)


def _load_calendar(session: Session, data: Any) -> None:
    from coordination.services.meetings import load_meetings

    load_meetings(session, data)


# Sections owned by another area: a mapping handed whole to that area's loader after the
# core sections are written (they may refer to anything above). Name -> loader.
EXTENSION_SECTIONS: dict[str, Callable[[Session, Any], object]] = {
    "logframe": _load_logframe,
    "calendar": _load_calendar,
}


def fixtures_root() -> Path:
    """The repository's ``fixtures/`` directory, next to the ``coordination`` package."""
    return Path(coordination.__file__).resolve().parent.parent / "fixtures"


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a fixture set, located as precisely as possible."""

    file: str
    item: str
    field: str
    message: str

    def __str__(self) -> str:
        where = ": ".join(part for part in (self.file, self.item, self.field) if part)
        return f"{where}: {self.message}" if where else self.message


class FixtureError(CoordinationError):
    """A fixture set that cannot be loaded; ``problems`` lists every reason."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"{count} in fixtures {source}; nothing was loaded:\n{lines}")


@dataclass
class FixtureSummary:
    """What a load did: rows created and rows that already existed, per kind."""

    source: str
    files: list[str]
    created: Counter[str] = field(default_factory=Counter)
    existing: Counter[str] = field(default_factory=Counter)

    def lines(self) -> list[str]:
        kinds = [k for k in _KINDS if self.created[k] or self.existing[k]]
        return [
            f"{kind.replace('_', ' ')}: {self.created[kind]} created, {self.existing[kind]} already present"
            for kind in kinds
        ]

    def __str__(self) -> str:
        return "\n".join([f"Loaded {self.source} ({len(self.files)} files)", *self.lines()])


_LEVELS = {level.value for level in ResultLevel}

_KINDS = (
    "organisations",
    "people",
    "projects",
    "results",
    "documents",
    "partnerships",
    "bodies",
    "body_memberships",
    "interventions",
)


# --------------------------------------------------------------------------- files


def resolve_fixture_files(path_or_name: str | Path) -> tuple[str, list[Path]]:
    """The files of a fixture set: a YAML file, a directory of them, or a set name.

    A bare name (``"demo"``) that is not an existing path is looked up in
    :func:`fixtures_root`.
    """
    path = Path(path_or_name).expanduser()
    if not path.exists() and isinstance(path_or_name, str) and "/" not in path_or_name:
        candidate = fixtures_root() / path_or_name
        if candidate.exists():
            path = candidate
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
        if not files:
            raise FixtureError(str(path), [Problem(str(path), "", "", "no *.yaml files here")])
        return str(path), files
    if path.is_file():
        return str(path), [path]
    known = (
        sorted(p.name for p in fixtures_root().iterdir() if p.is_dir())
        if fixtures_root().is_dir()
        else []
    )
    hint = f" (known sets: {', '.join(known)})" if known else ""
    raise FixtureError(
        str(path_or_name),
        [Problem(str(path_or_name), "", "", f"no such fixture file, directory or set{hint}")],
    )


@dataclass
class _Item:
    file: str
    section: str
    index: int
    data: dict[str, Any]

    @property
    def label(self) -> str:
        key = next(
            (self.data.get(k) for k in ("code", "acronym", "email", "name") if self.data.get(k)),
            None,
        )
        return f"{self.section}[{self.index}]" + (f" ({key})" if key else "")


def _read(
    files: list[Path], problems: list[Problem], extensions: list[tuple[str, str, Any]]
) -> dict[str, list[_Item]]:
    items: dict[str, list[_Item]] = {section: [] for section in SECTIONS}
    for path in files:
        try:
            content = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as error:
            problems.append(
                Problem(path.name, "", "", f"not valid YAML: {' '.join(str(error).split())}")
            )
            continue
        except ValueError as error:  # an impossible date such as 2025-13-01
            problems.append(Problem(path.name, "", "", f"cannot read a value: {error}"))
            continue
        if content is None:
            continue
        if not isinstance(content, dict):
            problems.append(Problem(path.name, "", "", "the file must be a mapping of sections"))
            continue
        for section, entries in content.items():
            if section in EXTENSION_SECTIONS:
                if not isinstance(entries, dict):
                    problems.append(Problem(path.name, section, "", "must be a mapping"))
                else:
                    extensions.append((path.name, section, entries))
                continue
            if section not in SECTIONS:
                known = ", ".join([*SECTIONS, *EXTENSION_SECTIONS])
                problems.append(
                    Problem(path.name, str(section), "", f"unknown section; use {known}")
                )
                continue
            if not isinstance(entries, list):
                problems.append(Problem(path.name, section, "", "must be a list of items"))
                continue
            for index, entry in enumerate(entries):
                if not isinstance(entry, dict):
                    problems.append(
                        Problem(path.name, f"{section}[{index}]", "", "must be a mapping")
                    )
                    continue
                items[section].append(_Item(path.name, section, index, entry))
    return items


# --------------------------------------------------------------------------- checking


@dataclass(frozen=True)
class _Spec:
    required: frozenset[str]
    optional: frozenset[str]


def _spec(required: str, optional: str) -> _Spec:
    return _Spec(frozenset(required.split()), frozenset(optional.split()))


_SPECS = {
    "organisations": _spec(
        "acronym name type",
        "constituency iati_type country iati_identifier website description parent",
    ),
    "people": _spec("name email", "organisation job_title sex active"),
    "projects": _spec(
        "code title",
        "description budget currency start_date end_date status iati_identifier organisations countries themes results documents",
    ),
    "results": _spec("code level title", "parent description assumptions"),
    "documents": _spec("title url category", "format language document_date description"),
    "partnerships": _spec("name type members", "themes countries start_date end_date description"),
    "bodies": _spec("name type", "acronym description convener themes established members"),
    "members": _spec("", "organisation person role since until"),
    "interventions": _spec(
        "code title type lead start_date themes",
        "end_date description partners funders places target_groups status project results",
    ),
}


class _Checker:
    """Checks a whole fixture set against itself and the database, collecting problems."""

    def __init__(self, session: Session, items: dict[str, list[_Item]], problems: list[Problem]):
        self.session = session
        self.items = items
        self.problems = problems
        self.acronyms = {a.lower() for a in session.scalars(select(Organisation.acronym))}
        self.emails = {e for e in session.scalars(select(Person.email)) if e}
        self.project_results: dict[str, set[str]] = {}
        for project_code, result_code in session.execute(
            select(Project.code, Result.code).join(
                Result, Result.project_id == Project.id, isouter=True
            )
        ):
            self.project_results.setdefault(project_code, set())
            if result_code:
                self.project_results[project_code].add(result_code)
        self.themes = set(session.scalars(select(Theme.code)))
        self.target_groups = set(session.scalars(select(TargetGroup.code)))
        self.countries = set(session.scalars(select(Country.code)))
        self.areas: dict[str, str] = {}
        self.area_names: dict[tuple[str, str], str] = {}
        for code, country_code, name in session.execute(
            select(Area.code, Area.country_code, Area.name)
        ):
            if code:
                self.areas[code.upper()] = country_code
            self.area_names[(country_code, fold(name))] = code or name

    # -- helpers

    def problem(self, item: _Item, field: str, message: str) -> None:
        self.problems.append(Problem(item.file, item.label, field, message))

    def keys(self, item: _Item, spec: _Spec, data: Mapping[str, Any], prefix: str = "") -> bool:
        ok = True
        for key in sorted(spec.required):
            if data.get(key) in (None, "", []):
                self.problem(item, prefix + key, "is required")
                ok = False
        for key in sorted(set(data) - spec.required - spec.optional):
            allowed = ", ".join(sorted(spec.required | spec.optional))
            self.problem(item, prefix + str(key), f"unknown key; allowed: {allowed}")
        return ok

    def vocabulary(self, item: _Item, field: str, enum: Any, value: Any) -> None:
        if value is None:
            return
        if str(value).strip().lower() not in {member.value for member in enum}:
            known = ", ".join(member.value for member in enum)
            self.problem(item, field, f"unknown value {value!r}; use one of {known}")

    def date(self, item: _Item, field: str, value: Any) -> date | None:
        if value is None or isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            self.problem(item, field, f"{value!r} is not a date (use YYYY-MM-DD)")
            return None

    def dates(
        self, item: _Item, data: Mapping[str, Any], start: str, end: str, prefix: str = ""
    ) -> None:
        """``data[start]`` and ``data[end]`` are dates, the end not before the start."""
        first = self.date(item, prefix + start, data.get(start))
        last = self.date(item, prefix + end, data.get(end))
        if first and last and last < first:
            self.problem(item, prefix + end, f"ends on {last}, before it starts ({first})")

    def listing(self, item: _Item, field: str, value: Any) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(item, field, "must be a list")
            return []
        return value

    def organisation(self, item: _Item, field: str, value: Any) -> None:
        if not isinstance(value, str) or value.strip().lower() not in self.acronyms:
            self.problem(item, field, f"unknown organisation {value!r}")

    def codes(
        self, item: _Item, field: str, values: Iterable[Any], known: set[str], what: str
    ) -> None:
        for value in values:
            if str(value).strip().lower() not in known:
                self.problem(
                    item, field, f"unknown {what} {value!r}; known: {', '.join(sorted(known))}"
                )

    def country(self, item: _Item, field: str, value: Any) -> str | None:
        text = str(value or "").strip()
        try:
            code = pycountry.countries.lookup(text).alpha_2 if text else None
        except LookupError:
            code = None
        if code is None or code not in self.countries:
            self.problem(item, field, f"unknown country {value!r}")
            return None
        return code

    def area(self, item: _Item, field: str, country: str, value: Any) -> None:
        text = str(value).strip()
        for code in (text.upper(), f"{country}-{text.upper()}"):
            if code in self.areas:
                if self.areas[code] != country:
                    self.problem(
                        item, field, f"area {text!r} is in {self.areas[code]}, not in {country}"
                    )
                return
        if (country, fold(text)) not in self.area_names:
            self.problem(item, field, f"unknown area {text!r} in {country}")

    def place(self, item: _Item, field: str, value: Any) -> None:
        if isinstance(value, dict):
            unknown = set(value) - {"country", "area"}
            if unknown:
                self.problem(item, field, f"unknown keys {sorted(unknown)}; use country and area")
            country = self.country(item, f"{field}.country", value.get("country"))
            if country and value.get("area") not in (None, ""):
                self.area(item, f"{field}.area", country, value["area"])
        elif isinstance(value, str) and "-" in value:
            country = self.country(item, field, value.split("-", 1)[0])
            if country:
                self.area(item, field, country, value)
        else:
            self.country(item, field, value)

    # -- sections

    def run(self) -> None:
        self.unique_keys()
        for item in self.items["organisations"]:
            self.check_organisation(item)
        for item in self.items["people"]:
            self.check_person(item)
        for item in self.items["projects"]:
            self.check_project(item)
        for item in self.items["partnerships"]:
            self.check_partnership(item)
        for item in self.items["bodies"]:
            self.check_body(item)
        for item in self.items["interventions"]:
            self.check_intervention(item)

    def unique_keys(self) -> None:
        """Natural keys must be unique within the set; they are added to the known keys."""
        for section, key, known, normalise in (
            ("organisations", "acronym", self.acronyms, str.lower),
            ("people", "email", self.emails, str.lower),
            ("projects", "code", None, str),
            ("partnerships", "name", None, str),
            ("bodies", "name", None, str),
            ("interventions", "code", None, str),
        ):
            seen: dict[str, _Item] = {}
            for item in self.items[section]:
                value = item.data.get(key)
                if not isinstance(value, str | int) or value == "":
                    continue
                normal = normalise(str(value).strip())
                if normal in seen:
                    first = seen[normal]
                    self.problem(
                        item, key, f"{value!r} is also used by {first.file}: {first.label}"
                    )
                    continue
                seen[normal] = item
                if known is not None:
                    known.add(normal)
            if section == "projects":
                for item in seen.values():
                    results = item.data.get("results") or []
                    codes = {
                        str(r.get("code")) for r in results if isinstance(r, dict) and r.get("code")
                    }
                    self.project_results.setdefault(str(item.data["code"]).strip(), set()).update(
                        codes
                    )

    def check_organisation(self, item: _Item) -> None:
        data = item.data
        self.keys(item, _SPECS["organisations"], data)
        self.vocabulary(item, "type", StakeholderType, data.get("type"))
        self.vocabulary(item, "constituency", Constituency, data.get("constituency"))
        if data.get("country") not in (None, ""):
            self.country(item, "country", data["country"])
        if data.get("parent") not in (None, ""):
            self.organisation(item, "parent", data["parent"])
            if str(data["parent"]).lower() == str(data.get("acronym", "")).lower():
                self.problem(item, "parent", "an organisation cannot be its own parent")

    def check_person(self, item: _Item) -> None:
        data = item.data
        self.keys(item, _SPECS["people"], data)
        self.vocabulary(item, "sex", Sex, data.get("sex"))
        email = data.get("email")
        if (
            isinstance(email, str)
            and email.strip()
            and not stakeholders.looks_like_email(email.strip())
        ):
            self.problem(item, "email", f"{email!r} is not an e-mail address")
        if data.get("organisation") not in (None, ""):
            self.organisation(item, "organisation", data["organisation"])

    def check_project(self, item: _Item) -> None:
        data = item.data
        self.keys(item, _SPECS["projects"], data)
        self.vocabulary(item, "status", ActivityStatus, data.get("status"))
        self.dates(item, data, "start_date", "end_date")
        organisations = data.get("organisations") or {}
        if not isinstance(organisations, dict):
            self.problem(item, "organisations", "must map IATI roles to lists of acronyms")
        else:
            for role, acronyms in organisations.items():
                self.vocabulary(item, "organisations", OrganisationRole, role)
                for acronym in self.listing(item, f"organisations.{role}", acronyms):
                    self.organisation(item, f"organisations.{role}", acronym)
        for value in self.listing(item, "countries", data.get("countries")):
            self.country(item, "countries", value)
        self.codes(
            item, "themes", self.listing(item, "themes", data.get("themes")), self.themes, "theme"
        )
        codes: dict[str, str] = {}
        for index, result in enumerate(self.listing(item, "results", data.get("results"))):
            field = f"results[{index}]"
            if not isinstance(result, dict):
                self.problem(item, field, "must be a mapping")
                continue
            self.keys(item, _SPECS["results"], result, prefix=f"{field}.")
            self.vocabulary(item, f"{field}.level", ResultLevel, result.get("level"))
            code = str(result.get("code") or "")
            if code in codes:
                self.problem(item, f"{field}.code", f"result code {code!r} appears twice")
            parent = result.get("parent")
            if parent not in (None, "") and str(parent) not in codes:
                self.problem(
                    item, f"{field}.parent", f"unknown parent {parent!r} (list parents first)"
                )
            level = str(result.get("level") or "").lower()
            if parent in codes and level in _LEVELS and codes[str(parent)] in _LEVELS:
                order = list(ResultLevel)
                if order.index(ResultLevel(level)) <= order.index(ResultLevel(codes[str(parent)])):
                    self.problem(
                        item, f"{field}.level", f"a {level} cannot sit under a {codes[str(parent)]}"
                    )
            codes.setdefault(code, level)
        urls: set[str] = set()
        for index, document in enumerate(self.listing(item, "documents", data.get("documents"))):
            field = f"documents[{index}]"
            if not isinstance(document, dict):
                self.problem(item, field, "must be a mapping")
                continue
            self.keys(item, _SPECS["documents"], document, prefix=f"{field}.")
            url = str(document.get("url") or "")
            if url in urls:
                self.problem(item, f"{field}.url", f"{url!r} is listed twice")
            urls.add(url)

    def check_partnership(self, item: _Item) -> None:
        data = item.data
        self.keys(item, _SPECS["partnerships"], data)
        self.vocabulary(item, "type", PartnershipType, data.get("type"))
        members = self.listing(item, "members", data.get("members"))
        for acronym in members:
            self.organisation(item, "members", acronym)
        if data.get("members") and len({str(m).lower() for m in members}) < 2:
            self.problem(
                item, "members", "a partnership needs at least two different organisations"
            )
        self.codes(
            item, "themes", self.listing(item, "themes", data.get("themes")), self.themes, "theme"
        )
        for value in self.listing(item, "countries", data.get("countries")):
            self.country(item, "countries", value)
        self.dates(item, data, "start_date", "end_date")

    def check_body(self, item: _Item) -> None:
        data = item.data
        self.keys(item, _SPECS["bodies"], data)
        self.vocabulary(item, "type", BodyType, data.get("type"))
        if data.get("convener") not in (None, ""):
            self.organisation(item, "convener", data["convener"])
        self.codes(
            item, "themes", self.listing(item, "themes", data.get("themes")), self.themes, "theme"
        )
        self.date(item, "established", data.get("established"))
        for index, member in enumerate(self.listing(item, "members", data.get("members"))):
            field = f"members[{index}]"
            if not isinstance(member, dict):
                self.problem(item, field, "must be a mapping")
                continue
            self.keys(item, _SPECS["members"], member, prefix=f"{field}.")
            has_org, has_person = bool(member.get("organisation")), bool(member.get("person"))
            if has_org == has_person:
                self.problem(
                    item, field, "name either an organisation or a person, not both or neither"
                )
            elif has_org:
                self.organisation(item, f"{field}.organisation", member["organisation"])
            elif str(member["person"]).strip().lower() not in self.emails:
                self.problem(
                    item, f"{field}.person", f"unknown person {member['person']!r} (use the e-mail)"
                )
            self.vocabulary(item, f"{field}.role", BodyRole, member.get("role"))
            self.dates(item, member, "since", "until", prefix=f"{field}.")

    def check_intervention(self, item: _Item) -> None:
        data = item.data
        self.keys(item, _SPECS["interventions"], data)
        self.vocabulary(item, "type", InterventionType, data.get("type"))
        self.vocabulary(item, "status", ActivityStatus, data.get("status"))
        if data.get("lead") not in (None, ""):
            self.organisation(item, "lead", data["lead"])
        lead = str(data.get("lead") or "").lower()
        for partner in self.listing(item, "partners", data.get("partners")):
            if isinstance(partner, dict):
                self.organisation(item, "partners", partner.get("organisation"))
                self.vocabulary(item, "partners", OrganisationRole, partner.get("role"))
            else:
                self.organisation(item, "partners", partner)
                if str(partner).lower() == lead:
                    self.problem(item, "partners", f"{partner} already leads this intervention")
        for funder in self.listing(item, "funders", data.get("funders")):
            self.organisation(item, "funders", funder)
        themes = self.listing(item, "themes", data.get("themes"))
        self.codes(item, "themes", themes, self.themes, "theme")
        groups = self.listing(item, "target_groups", data.get("target_groups"))
        self.codes(item, "target_groups", groups, self.target_groups, "target group")
        for index, place in enumerate(self.listing(item, "places", data.get("places"))):
            self.place(item, f"places[{index}]", place)
        self.dates(item, data, "start_date", "end_date")
        project = data.get("project")
        if project not in (None, "") and str(project) not in self.project_results:
            self.problem(item, "project", f"unknown project {project!r}")
        results = self.listing(item, "results", data.get("results"))
        if results and project in (None, ""):
            self.problem(
                item, "results", "an intervention serves results of its project: set project"
            )
        elif results and str(project) in self.project_results:
            for code in results:
                if str(code) not in self.project_results[str(project)]:
                    self.problem(item, "results", f"project {project} has no result {code!r}")


# --------------------------------------------------------------------------- writing


class _Writer:
    def __init__(self, session: Session, items: dict[str, list[_Item]], summary: FixtureSummary):
        self.session = session
        self.items = items
        self.summary = summary

    def call(self, item: _Item, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a service; a refusal the checks missed is still reported with its place."""
        try:
            return function(self.session, *args, **kwargs)
        except ValidationError as error:
            raise FixtureError(
                self.summary.source,
                [
                    Problem(item.file, item.label, key, message)
                    for key, message in error.errors.items()
                ],
            ) from None

    def count(self, kind: str, created: bool) -> None:
        (self.summary.created if created else self.summary.existing)[kind] += 1

    def run(self) -> None:
        self.organisations()
        self.people()
        self.projects()
        self.partnerships()
        self.bodies()
        self.interventions()

    def organisations(self) -> None:
        for item in self.items["organisations"]:
            data = item.data
            fields = {
                "name": data["name"],
                "acronym": data["acronym"],
                "stakeholder_type": data["type"],
            }
            for key in (
                "constituency",
                "iati_type",
                "country",
                "iati_identifier",
                "website",
                "description",
            ):
                if key in data:
                    fields[key] = data[key]
            existing = self.session.scalars(
                select(Organisation).where(
                    func.lower(Organisation.acronym) == str(data["acronym"]).lower()
                )
            ).first()
            if existing is None:
                self.call(item, stakeholders.create_organisation, **fields)
            else:
                self.call(item, stakeholders.update_organisation, existing, **fields)
            self.count("organisations", existing is None)
        # Parents second: a parent may be listed after its children.
        for item in self.items["organisations"]:
            if "parent" in item.data:
                organisation = to_organisation(self.session, item.data["acronym"])
                self.call(
                    item, stakeholders.update_organisation, organisation, parent=item.data["parent"]
                )

    def people(self) -> None:
        for item in self.items["people"]:
            data = dict(item.data)
            email = str(data["email"]).strip().lower()
            existing = self.session.scalars(select(Person).where(Person.email == email)).first()
            if existing is None:
                self.call(item, stakeholders.create_person, **data)
            else:
                self.call(item, stakeholders.update_person, existing, **data)
            self.count("people", existing is None)

    def projects(self) -> None:
        for item in self.items["projects"]:
            data = dict(item.data)
            results = data.pop("results", None) or []
            documents = data.pop("documents", None) or []
            roles = data.pop("organisations", None) or {}
            data["organisations"] = [
                (acronym, role) for role, acronyms in roles.items() for acronym in acronyms or ()
            ]
            existing = self.session.scalars(
                select(Project).where(Project.code == data["code"])
            ).first()
            if existing is None:
                project = self.call(item, intervention_services.create_project, **data)
            else:
                project = self.call(item, intervention_services.update_project, existing, **data)
            self.count("projects", existing is None)
            for position, result in enumerate(results):
                fields = {"position": position, **result}
                found = self.session.scalars(
                    select(Result).where(
                        Result.project_id == project.id, Result.code == str(result["code"])
                    )
                ).first()
                if found is None:
                    self.call(item, intervention_services.create_result, project, **fields)
                else:
                    self.call(item, intervention_services.update_result, found, **fields)
                self.count("results", found is None)
            linked = {d.url: d for d in project.documents}
            for document in documents:
                fields = dict(document)
                known = linked.get(str(fields.get("url") or "").strip())
                if known is None:
                    self.call(item, intervention_services.add_project_document, project, **fields)
                else:
                    self.call(item, intervention_services.update_project_document, known, **fields)
                self.count("documents", known is None)

    def partnerships(self) -> None:
        for item in self.items["partnerships"]:
            data = dict(item.data)
            data["partnership_type"] = data.pop("type")
            existing = self.session.scalars(
                select(Partnership).where(Partnership.name == data["name"])
            ).first()
            if existing is None:
                self.call(item, stakeholders.create_partnership, **data)
            else:
                self.call(item, stakeholders.update_partnership, existing, **data)
            self.count("partnerships", existing is None)

    def bodies(self) -> None:
        for item in self.items["bodies"]:
            data = dict(item.data)
            members = data.pop("members", None) or []
            data["body_type"] = data.pop("type")
            body = self.session.scalars(select(Body).where(Body.name == data["name"])).first()
            created = body is None
            if body is None:
                body = self.call(item, stakeholders.create_body, **data)
            else:
                self.call(item, stakeholders.update_body, body, **data)
            self.count("bodies", created)
            for member in members:
                self.membership(item, body, member)

    def membership(self, item: _Item, body: Body, member: Mapping[str, Any]) -> None:
        organisation = person = None
        if member.get("organisation"):
            organisation = to_organisation(self.session, member["organisation"])
        else:
            person = to_person(self.session, member["person"])
        since = member.get("since")
        existing = next(
            (
                m
                for m in body.memberships
                if m.organisation is organisation and m.person is person and m.since == since
            ),
            None,
        )
        if existing is None:
            self.call(
                item,
                stakeholders.add_body_membership,
                body,
                organisation=organisation,
                person=person,
                role=member.get("role") or BodyRole.MEMBER,
                since=since,
                until=member.get("until"),
            )
        else:
            self.call(
                item,
                stakeholders.update_body_membership,
                existing,
                role=member.get("role") or BodyRole.MEMBER,
                until=member.get("until"),
            )
        self.count("body_memberships", existing is None)

    def interventions(self) -> None:
        for item in self.items["interventions"]:
            data = dict(item.data)
            data["intervention_type"] = data.pop("type")
            data["lead_organisation"] = data.pop("lead")
            existing = self.session.scalars(
                select(Intervention).where(Intervention.code == str(data["code"]))
            ).first()
            if existing is None:
                self.call(item, intervention_services.create_intervention, **data)
            else:
                self.call(item, intervention_services.update_intervention, existing, **data)
            self.count("interventions", existing is None)


def load_fixtures(session: Session, path_or_name: str | Path = "demo") -> FixtureSummary:
    """Check a whole fixture set, then write it; returns what was created.

    ``path_or_name`` is a YAML file, a directory of them, or the name of a set in the
    repository's ``fixtures/`` directory (``"demo"``). Raises :class:`FixtureError`
    listing every problem (file, item, field) before anything is added to the
    session. Rows are matched on their natural keys, so loading twice duplicates
    nothing. The caller commits; should a write still fail, it must roll back.
    """
    source, files = resolve_fixture_files(path_or_name)
    problems: list[Problem] = []
    extensions: list[tuple[str, str, Any]] = []
    items = _read(files, problems, extensions)
    if not problems:
        with session.no_autoflush:
            _Checker(session, items, problems).run()
    if problems:
        raise FixtureError(source, problems)
    summary = FixtureSummary(source=source, files=[p.name for p in files])
    _Writer(session, items, summary).run()
    # Extension sections are checked by their own loaders as they write; their
    # errors name the file, and the caller's rollback undoes the whole load.
    for file_name, section, data in extensions:
        try:
            EXTENSION_SECTIONS[section](session, data)
        except (ValidationError, KeyError, TypeError, ValueError) as error:
            message = str(error) if isinstance(error, ValidationError) else f"bad data: {error!r}"
            raise FixtureError(source, [Problem(file_name, section, "", message)]) from None
    session.flush()
    return summary


# --------------------------------------------------------------------------- demo accounts

# Demo only: these passwords are published in the documentation. Never use them for a
# database that holds real data.
DEMO_ACCOUNTS: tuple[tuple[UserRole, str, str, str | None], ...] = (
    (UserRole.ADMIN, "admin@demo.example.org", "demo-admin-2026", None),
    (UserRole.MANAGER, "manager@demo.example.org", "demo-manager-2026", None),
    (UserRole.PARTNER, "partner@demo.example.org", "demo-partner-2026", "BGMEA"),
    (UserRole.DONOR, "donor@demo.example.org", "demo-donor-2026", "Sida"),
)


def create_demo_accounts(session: Session) -> list[tuple[UserRole, str, str]]:
    """One account per role, with the published demo passwords: ``(role, email, password)``.

    The partner belongs to BGMEA and the donor to Sida, so the demo fixtures must be
    loaded first. Idempotent: an existing demo account gets its demo password back.
    """
    accounts = []
    for role, email, password, acronym in DEMO_ACCOUNTS:
        organisation = None
        if acronym is not None:
            try:
                organisation = to_organisation(session, acronym)
            except ValidationError:
                raise ValidationError(
                    {
                        "organisation": f"the demo {role.value} belongs to {acronym}: load the demo fixtures first"
                    }
                ) from None
        user = session.scalars(select(User).where(User.email == email)).first()
        if user is None:
            create_user(session, email, password, role, organisation=organisation)
        else:
            set_password(session, user, password)
        accounts.append((role, email, password))
    return accounts
