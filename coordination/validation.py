"""Domain rules shared by services, admin forms and imports.

Each check raises :class:`ValidationError` naming the field at fault, so a form can
show the message under that field and an import can report it for that column.
"""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import urlsplit

import pycountry
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from coordination.errors import ValidationError
from coordination.models import Area, Country, Organisation

__all__ = [
    "check_acronym_available",
    "check_currency",
    "check_date_range",
    "check_language",
    "check_media_type",
    "check_place",
    "check_web_address",
]


def check_date_range(start: date | None, end: date | None, *, end_field: str = "end_date") -> None:
    """An end date may be open, but never before the start.

    >>> check_date_range(date(2024, 1, 2), date(2024, 1, 1))
    Traceback (most recent call last):
    ...
    coordination.errors.ValidationError: end_date: ends on 2024-01-01, before it starts (2024-01-02)
    """
    if start is not None and end is not None and end < start:
        raise ValidationError({end_field: f"ends on {end}, before it starts ({start})"})


def check_acronym_available(
    session: Session, acronym: str, *, organisation_id: int | None = None
) -> None:
    """Acronyms are unique, compared without regard to case ("ILO" and "ilo" clash)."""
    query = select(Organisation.id, Organisation.name).where(
        func.lower(Organisation.acronym) == acronym.strip().lower()
    )
    if organisation_id is not None:
        query = query.where(Organisation.id != organisation_id)
    clash = session.execute(query).first()
    if clash is not None:
        raise ValidationError({"acronym": f"{acronym!r} is already used by {clash.name}"})


def check_currency(code: str | None) -> None:
    """ISO 4217 currency code.

    >>> check_currency("SEK")
    >>> check_currency("XYZ")
    Traceback (most recent call last):
    ...
    coordination.errors.ValidationError: currency: unknown ISO 4217 currency 'XYZ'
    """
    if code and pycountry.currencies.get(alpha_3=code.upper()) is None:
        raise ValidationError({"currency": f"unknown ISO 4217 currency {code!r}"})


def check_place(
    session: Session, country_code: str | None, area_id: int | None, *, prefix: str = ""
) -> None:
    """A place is a known country, optionally one area inside that same country."""
    if not country_code or session.get(Country, country_code.upper()) is None:
        raise ValidationError({f"{prefix}country": f"unknown country code {country_code!r}"})
    if area_id is None:
        return
    area = session.get(Area, area_id)
    if area is None:
        raise ValidationError({f"{prefix}area": f"unknown area #{area_id}"})
    if area.country_code != country_code.upper():
        raise ValidationError(
            {
                f"{prefix}area": f"{area.name} is in {area.country_code}, not in {country_code.upper()}"
            }
        )


def check_web_address(url: str, field: str = "url") -> None:
    """An absolute http(s) address with a host: what a reader can open in a browser.

    Other schemes (``javascript:``, ``file:``, ``mailto:``) are refused because links
    are shown in pages and published to IATI.

    >>> check_web_address("https://www.ilo.org/projects/decent-work")
    >>> check_web_address("javascript:alert(1)", "evidence_links")
    Traceback (most recent call last):
    ...
    coordination.errors.ValidationError: evidence_links: 'javascript:alert(1)' is not a web address (http:// or https://)
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme.lower() not in ("http", "https")
        or not parts.hostname
        or any(ch.isspace() for ch in url)
    ):
        raise ValidationError({field: f"{url!r} is not a web address (http:// or https://)"})


# type "/" subtype, as RFC 6838 allows them (IATI FileFormat is the IANA media type).
_MEDIA_TYPE = re.compile(
    r"(application|audio|font|image|message|model|multipart|text|video)"
    r"/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}"
)


def check_media_type(value: str, field: str = "format") -> None:
    """An IANA media type such as ``application/pdf`` (IATI FileFormat), lower case.

    >>> check_media_type("application/pdf")
    >>> check_media_type("PDF")
    Traceback (most recent call last):
    ...
    coordination.errors.ValidationError: format: 'PDF' is not a media type such as application/pdf or text/html
    """
    if not _MEDIA_TYPE.fullmatch(value):
        raise ValidationError(
            {field: f"{value!r} is not a media type such as application/pdf or text/html"}
        )


def check_language(code: str | None, field: str = "language") -> None:
    """A two-letter ISO 639-1 language code (``en``, ``fr``), as IATI asks.

    >>> check_language("en")
    >>> check_language("eng")
    Traceback (most recent call last):
    ...
    coordination.errors.ValidationError: language: unknown ISO 639-1 language code 'eng'
    """
    if code and (len(code) != 2 or pycountry.languages.get(alpha_2=code.lower()) is None):
        raise ValidationError({field: f"unknown ISO 639-1 language code {code!r}"})
