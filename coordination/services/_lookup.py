"""Turning what callers pass (rows, ids, codes, acronyms, ISO strings) into rows and values.

Services accept either the ORM row or its natural key, so a form (which holds rows)
and a fixture file or an import (which hold codes) call the same function. Every
helper raises :class:`ValidationError` keyed by the field the caller names, and
:class:`Problems` gathers several field errors so that a form can show them all at once.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from coordination.errors import ValidationError
from coordination.models import (
    Area,
    Body,
    Country,
    Organisation,
    Person,
    Project,
    Result,
    TargetGroup,
    Theme,
)
from coordination.services.reference import find_area, find_country
from coordination.storable import check_storable

E = TypeVar("E", bound=Enum)

__all__ = [
    "Problems",
    "UNSET",
    "to_area",
    "to_body",
    "to_country",
    "to_date",
    "to_decimal",
    "to_organisation",
    "to_person",
    "to_project",
    "to_target_group",
    "to_text",
    "to_theme",
    "to_vocabulary",
]


class _Unset:
    """Marks an argument the caller did not pass (``None`` means "clear this value")."""

    _instance: _Unset | None = None

    def __new__(cls) -> _Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Any = _Unset()


class Problems:
    """Collects field errors; ``check()`` raises them together as one ValidationError."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, message)

    def collect(self, error: ValidationError, field: str | None = None) -> None:
        """Record an error raised by a helper, optionally under another field name."""
        for key, message in error.errors.items():
            self.add(field if field is not None else key, message)

    def __bool__(self) -> bool:
        return bool(self.errors)

    def check(self) -> None:
        if self.errors:
            raise ValidationError(self.errors)


class FieldValues:
    """The values given to a create or update service, converted field by field.

    Unknown field names are a programming error (``TypeError``); each field's conversion
    error is collected in ``problems`` so that the caller reports them all at once.
    """

    def __init__(self, what: str, values: Mapping[str, Any], allowed: Collection[str]) -> None:
        unknown = set(values) - set(allowed)
        if unknown:
            raise TypeError(f"unknown {what} fields: {', '.join(sorted(unknown))}")
        self.values = values
        self.problems = Problems()
        self.resolved: dict[str, Any] = {}

    def attempt(self, key: str, convert: Callable[[Any], Any], *, as_key: bool = False) -> None:
        """Convert the value of ``key`` if given; ``as_key``: its errors go under ``key``
        whatever field name the converter used."""
        if key in self.values:
            try:
                self.resolved[key] = convert(self.values[key])
            except ValidationError as error:
                self.problems.collect(error, key if as_key else None)


def rekey(error: ValidationError, field: str) -> ValidationError:
    """The same messages reported under ``field`` (a helper's generic key is too vague)."""
    return ValidationError({field: "; ".join(error.errors.values())})


def to_text(
    value: Any, field: str, *, required: bool = False, max_length: int | None = None
) -> str | None:
    """Stripped text; blank becomes None (or an error when ``required``)."""
    if value is None:
        text = ""
    elif isinstance(value, str):
        text = value.strip()
    else:
        text = str(value).strip()
    if not text:
        if required:
            raise ValidationError({field: "is required"})
        return None
    if max_length is not None and len(text) > max_length:
        raise ValidationError({field: f"is {len(text)} characters long; the limit is {max_length}"})
    check_storable(text, field)
    return text


def to_vocabulary(enum: type[E], value: Any, field: str) -> E:
    """A vocabulary term from its stored value (``"training"``) or the member itself."""
    if isinstance(value, enum):
        return value
    try:
        return enum(str(value).strip().lower()) if value is not None else enum(value)
    except ValueError:
        known = ", ".join(str(member.value) for member in enum)
        raise ValidationError({field: f"unknown value {value!r}; use one of {known}"}) from None


def to_date(value: Any, field: str) -> date | None:
    """A date from a ``date`` or an ISO ``YYYY-MM-DD`` string; blank is None."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValidationError({field: f"{value!r} is not a date (use YYYY-MM-DD)"}) from None


def to_decimal(value: Any, field: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value).replace(",", "").strip())
    except InvalidOperation:
        raise ValidationError({field: f"{value!r} is not a number"}) from None
    if not number.is_finite():
        raise ValidationError({field: f"{value!r} is not a number"})
    return number


def to_organisation(session: Session, value: Any, field: str = "organisation") -> Organisation:
    """An organisation from the row, its id, or its acronym (case-insensitive)."""
    if isinstance(value, Organisation):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        found = session.get(Organisation, value)
    else:
        acronym = to_text(value, field, required=True) or ""
        found = session.scalars(
            select(Organisation).where(func.lower(Organisation.acronym) == acronym.lower())
        ).first()
    if found is None:
        raise ValidationError({field: f"unknown organisation {value!r}"})
    return found


def to_person(session: Session, value: Any, field: str = "person") -> Person:
    """A person from the row, the id, or the e-mail address."""
    if isinstance(value, Person):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        found = session.get(Person, value)
    else:
        email = (to_text(value, field, required=True) or "").lower()
        found = session.scalars(select(Person).where(Person.email == email)).first()
    if found is None:
        raise ValidationError({field: f"unknown person {value!r}"})
    return found


def to_project(session: Session, value: Any, field: str = "project") -> Project:
    if isinstance(value, Project):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        found = session.get(Project, value)
    else:
        code = to_text(value, field, required=True)
        found = session.scalars(select(Project).where(Project.code == code)).first()
    if found is None:
        raise ValidationError({field: f"unknown project {value!r}"})
    return found


def to_body(session: Session, value: Any, field: str = "body") -> Body:
    if isinstance(value, Body):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        found = session.get(Body, value)
    else:
        name = to_text(value, field, required=True)
        found = session.scalars(select(Body).where(Body.name == name)).first()
    if found is None:
        raise ValidationError({field: f"unknown body {value!r}"})
    return found


def to_result(session: Session, project: Project, value: Any, field: str = "results") -> Result:
    """A result of ``project`` from the row or its code (``O1``)."""
    if isinstance(value, Result):
        if value.project is not project and value.project_id != project.id:
            raise ValidationError({field: f"result {value.code!r} belongs to another project"})
        return value
    code = to_text(value, field, required=True)
    found = None
    if project.id is not None:
        found = session.scalars(
            select(Result).where(Result.project_id == project.id, Result.code == code)
        ).first()
    if found is None:
        raise ValidationError({field: f"project {project.code} has no result {code!r}"})
    return found


def _by_code(
    session: Session, model: type[Theme] | type[TargetGroup], value: Any, field: str, what: str
) -> Any:
    if isinstance(value, model):
        return value
    code = (to_text(value, field, required=True) or "").lower()
    found = session.scalars(select(model).where(model.code == code)).first()
    if found is None:
        known = ", ".join(session.scalars(select(model.code).order_by(model.code)))
        raise ValidationError({field: f"unknown {what} {value!r}; known: {known}"})
    return found


def to_theme(session: Session, value: Any, field: str = "themes") -> Theme:
    return _by_code(session, Theme, value, field, "theme")


def to_target_group(session: Session, value: Any, field: str = "target_groups") -> TargetGroup:
    return _by_code(session, TargetGroup, value, field, "target group")


def to_country(session: Session, value: Any, field: str = "country") -> Country:
    if isinstance(value, Country):
        return value
    try:
        return find_country(session, str(value or ""))
    except ValidationError as error:
        raise rekey(error, field) from None


def to_area(session: Session, country: Country, value: Any, field: str = "area") -> Area:
    """An area that lies in ``country`` (a row, an ISO 3166-2 code or a name)."""
    if isinstance(value, Area):
        if value.country_code != country.code:
            raise ValidationError(
                {field: f"{value.name} is in {value.country_code}, not in {country.code}"}
            )
        return value
    try:
        return find_area(session, country, str(value or ""))
    except ValidationError as error:
        raise rekey(error, field) from None


def unique(items: Iterable[Any]) -> list[Any]:
    """Items in order with repeats dropped (by identity for rows, by value otherwise)."""
    seen: set[Any] = set()
    out = []
    for item in items:
        key = id(item) if hasattr(item, "__table__") else item
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def set_if_changed(obj: Any, attribute: str, value: Any) -> None:
    """Assign only real changes, so an unchanged record is not marked dirty."""
    if getattr(obj, attribute) != value:
        setattr(obj, attribute, value)


def set_collection(obj: Any, attribute: str, rows: list[Any]) -> None:
    """Replace a to-many collection only if its membership changes."""
    current = getattr(obj, attribute)
    if {id(row) for row in current} != {id(row) for row in rows} or len(current) != len(rows):
        setattr(obj, attribute, rows)
