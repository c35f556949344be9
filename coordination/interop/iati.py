"""IATI 2.03 activity files: plain data in, XML out, and back; no database here.

:func:`render_activities` turns :class:`Activity` records into an ``iati-activities``
document with every element in the order the schema's ``xsd:sequence`` demands.
:func:`parse_activities` reads IATI 2.01-2.03 activity files leniently (what it cannot
use it reports with the line number, it never guesses silently) and refuses hostile
XML outright: DTDs, entity declarations, external entities, network access and
oversized input. :func:`validate` checks a document against the official XSD, found
by :func:`schema_path` (the schema is not shipped in the package; see docs/iati.md).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

from lxml import etree

from coordination.errors import CoordinationError

__all__ = [
    "Activity",
    "Baseline",
    "Document",
    "IatiFormatError",
    "Indicator",
    "Location",
    "MAX_BYTES",
    "Org",
    "ParsedFile",
    "Period",
    "Point",
    "Problem",
    "Result",
    "SchemaUnavailable",
    "Sector",
    "Tag",
    "compare",
    "format_number",
    "parse_activities",
    "render_activities",
    "schema_path",
    "validate",
]

IATI_VERSION = "2.03"
MAX_BYTES = 50 * 1024 * 1024  # the largest activity file we read (50 MB)
SCHEMA_ENV = "COORDINATION_IATI_SCHEMA"
_SCHEMA_IN_CHECKOUT = Path("shared/standards/iati-2.03/iati-activities-schema.xsd")
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


class IatiFormatError(CoordinationError):
    """The file is not an IATI activity file we are willing to read (nothing is written)."""


class SchemaUnavailable(CoordinationError):
    """The IATI XSD could not be found, so a document cannot be validated."""


# ----------------------------------------------------------------------------- data


@dataclass
class Org:
    name: str | None = None
    ref: str | None = None
    type: str | None = None  # OrganisationType code
    role: str | None = None  # OrganisationRole code (participating-org only)
    line: int | None = None


@dataclass
class Location:
    ref: str | None = None  # ISO 3166-2 area code for ours
    name: str | None = None
    country: str | None = None  # administrative level 0 (ISO alpha-2)
    line: int | None = None


@dataclass
class Sector:
    code: str
    vocabulary: str = "1"
    vocabulary_uri: str | None = None
    percentage: Decimal | None = None
    name: str | None = None
    line: int | None = None


@dataclass
class Tag:
    code: str
    vocabulary: str = "99"
    vocabulary_uri: str | None = None
    name: str | None = None
    line: int | None = None


@dataclass
class Document:
    url: str
    title: str
    format: str = "text/html"
    category: str = "A08"  # IATI DocumentCategory; a link may carry several
    description: str | None = None
    languages: list[str] = field(default_factory=list)  # ISO 639-1
    document_date: date | None = None
    more_categories: list[str] = field(default_factory=list)
    line: int | None = None


@dataclass
class Point:
    """A target, an actual or a baseline: a value, optionally for one category."""

    value: str | None = None
    dimensions: list[tuple[str, str]] = field(default_factory=list)
    comment: str | None = None
    documents: list[Document] = field(default_factory=list)
    line: int | None = None


@dataclass
class Baseline(Point):
    year: int | None = None
    iso_date: date | None = None


@dataclass
class Period:
    start: date | None
    end: date | None
    targets: list[Point] = field(default_factory=list)
    actuals: list[Point] = field(default_factory=list)
    line: int | None = None


@dataclass
class Indicator:
    title: str
    measure: str = "1"
    ascending: bool | None = True
    description: str | None = None
    references: list[Tag] = field(default_factory=list)  # vocabulary, code, indicator-uri
    baselines: list[Baseline] = field(default_factory=list)
    periods: list[Period] = field(default_factory=list)
    line: int | None = None


@dataclass
class Result:
    title: str
    type: str = "1"
    description: str | None = None
    references: list[Tag] = field(default_factory=list)
    indicators: list[Indicator] = field(default_factory=list)
    aggregation_status: bool | None = None
    line: int | None = None


@dataclass
class Activity:
    identifier: str
    reporting_org: Org
    title: str
    description: str | None = None
    participating: list[Org] = field(default_factory=list)
    status: str | None = None
    dates: list[tuple[str, date]] = field(default_factory=list)  # (ActivityDateType, date)
    countries: list[tuple[str, Decimal | None]] = field(default_factory=list)
    locations: list[Location] = field(default_factory=list)
    sectors: list[Sector] = field(default_factory=list)
    tags: list[Tag] = field(default_factory=list)
    policy_markers: list[tuple[str, str, str]] = field(default_factory=list)  # vocab, code, sig
    budgets: list[tuple[str, date, date, Decimal, str | None]] = field(default_factory=list)
    documents: list[Document] = field(default_factory=list)
    related: list[tuple[str, str]] = field(default_factory=list)  # (type, ref)
    results: list[Result] = field(default_factory=list)
    hierarchy: int | None = None
    default_currency: str | None = None
    last_updated: datetime | None = None
    language: str | None = "en"
    line: int | None = None


@dataclass(frozen=True)
class Problem:
    """Something in the file we could not use, with where it is."""

    line: int | None
    where: str
    message: str

    def __str__(self) -> str:
        at = f"line {self.line}: " if self.line else ""
        return f"{at}{self.where}: {self.message}" if self.where else f"{at}{self.message}"


@dataclass
class ParsedFile:
    version: str | None
    activities: list[Activity]
    problems: list[Problem] = field(default_factory=list)  # ignored parts, not errors


# ----------------------------------------------------------------------------- numbers


def format_number(value: Decimal | int | float | None) -> str | None:
    """Numbers as people write them: no exponent, no trailing zeros.

    >>> format_number(Decimal("12.5000")), format_number(Decimal("1E+1")), format_number(0)
    ('12.5', '10', '0')
    """
    if value is None:
        return None
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "") else text


def _decimal(text: str | None) -> Decimal | None:
    if text is None or not text.strip():
        return None
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


# ----------------------------------------------------------------------------- writing


def _sub(parent: etree._Element, tag: str, **attributes: str | None) -> etree._Element:
    """A child element; keyword ``iso_date`` becomes attribute ``iso-date``, None is left out."""
    return etree.SubElement(
        parent,
        tag,
        {_ATTRIBUTE.get(k, k): v for k, v in attributes.items() if v is not None},
    )


_ATTRIBUTE = {
    name.replace("-", "_"): name
    for name in (
        "iso-date",
        "vocabulary-uri",
        "indicator-uri",
        "value-date",
        "default-currency",
        "last-updated-datetime",
        "aggregation-status",
    )
}


def _narrative(
    parent: etree._Element, tag: str, text: str | None, **attributes: str | None
) -> None:
    """``<tag><narrative>text</narrative></tag>``, or nothing when there is no text."""
    if text is None or not text.strip():
        return
    element = _sub(parent, tag, **attributes)
    etree.SubElement(element, "narrative").text = _xml_text(text)


def _xml_text(text: str) -> str:
    """Text with the characters XML 1.0 cannot hold removed (they would abort the export)."""
    return "".join(
        ch
        for ch in text
        if ch in "\t\n\r"
        or "\x20" <= ch <= "\ud7ff"
        or "\ue000" <= ch <= "\ufffd"
        or "\U00010000" <= ch <= "\U0010ffff"
    )


def _org(parent: etree._Element, tag: str, org: Org, *, role: bool) -> None:
    element = _sub(parent, tag, ref=org.ref or None, type=org.type, role=org.role if role else None)
    if org.name:
        etree.SubElement(element, "narrative").text = _xml_text(org.name)


def _document(parent: etree._Element, doc: Document) -> None:
    element = _sub(parent, "document-link", format=doc.format, url=doc.url)
    _narrative(element, "title", doc.title or doc.url)
    _narrative(element, "description", doc.description)
    for code in [doc.category, *doc.more_categories]:
        _sub(element, "category", code=code)
    for language in doc.languages:
        _sub(element, "language", code=language)
    if doc.document_date is not None:
        _sub(element, "document-date", iso_date=doc.document_date.isoformat())


def _point(parent: etree._Element, tag: str, point: Point, *, baseline: bool = False) -> None:
    attributes: dict[str, str | None] = {}
    if isinstance(point, Baseline):
        attributes["year"] = str(point.year) if point.year else None
        attributes["iso_date"] = point.iso_date.isoformat() if point.iso_date else None
    attributes["value"] = point.value
    element = _sub(parent, tag, **attributes)
    for name, value in point.dimensions:
        _sub(element, "dimension", name=name, value=value)
    # The schema orders baseline children differently from target and actual.
    if baseline:
        for doc in point.documents:
            _document(element, doc)
        _narrative(element, "comment", point.comment)
    else:
        _narrative(element, "comment", point.comment)
        for doc in point.documents:
            _document(element, doc)


def _boolean(value: bool) -> str:
    return "1" if value else "0"


def _activity(root: etree._Element, activity: Activity) -> None:
    a = _sub(
        root,
        "iati-activity",
        default_currency=activity.default_currency,
        last_updated_datetime=(
            activity.last_updated.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            if activity.last_updated
            else None
        ),
        hierarchy=str(activity.hierarchy) if activity.hierarchy else None,
    )
    if activity.language:
        a.set(XML_LANG, activity.language)
    _sub(a, "iati-identifier").text = activity.identifier
    _org(a, "reporting-org", activity.reporting_org, role=False)
    _narrative(a, "title", activity.title)
    _narrative(a, "description", activity.description or activity.title, type="1")
    for org in activity.participating:
        _org(a, "participating-org", org, role=True)
    _sub(a, "activity-status", code=activity.status or "2")
    for kind, when in activity.dates:
        _sub(a, "activity-date", type=kind, iso_date=when.isoformat())
    for code, percentage in activity.countries:
        _sub(a, "recipient-country", code=code, percentage=format_number(percentage))
    for location in activity.locations:
        element = _sub(a, "location", ref=location.ref)
        _narrative(element, "name", location.name)
        if location.country:
            _sub(element, "administrative", vocabulary="A4", level="0", code=location.country)
    for sector in activity.sectors:
        element = _sub(
            a,
            "sector",
            vocabulary=sector.vocabulary,
            vocabulary_uri=sector.vocabulary_uri,
            code=sector.code,
            percentage=format_number(sector.percentage),
        )
        if sector.name:
            etree.SubElement(element, "narrative").text = _xml_text(sector.name)
    for tag in activity.tags:
        element = _sub(
            a, "tag", vocabulary=tag.vocabulary, vocabulary_uri=tag.vocabulary_uri, code=tag.code
        )
        if tag.name:
            etree.SubElement(element, "narrative").text = _xml_text(tag.name)
    for vocabulary, code, significance in activity.policy_markers:
        _sub(a, "policy-marker", vocabulary=vocabulary, code=code, significance=significance)
    for kind, start, end, value, currency in activity.budgets:
        element = _sub(a, "budget", type=kind, status="1")
        _sub(element, "period-start", iso_date=start.isoformat())
        _sub(element, "period-end", iso_date=end.isoformat())
        _sub(
            element, "value", currency=currency, value_date=start.isoformat()
        ).text = format_number(value)
    for doc in activity.documents:
        _document(a, doc)
    for kind, ref in activity.related:
        _sub(a, "related-activity", ref=ref, type=kind)
    for result in activity.results:
        _result(a, result)


def _result(parent: etree._Element, result: Result) -> None:
    r = _sub(
        parent,
        "result",
        type=result.type,
        aggregation_status=(
            _boolean(result.aggregation_status) if result.aggregation_status is not None else None
        ),
    )
    _narrative(r, "title", result.title)
    _narrative(r, "description", result.description)
    for ref in result.references:
        _sub(
            r,
            "reference",
            vocabulary=ref.vocabulary,
            code=ref.code,
            vocabulary_uri=ref.vocabulary_uri,
        )
    for indicator in result.indicators:
        i = _sub(
            r,
            "indicator",
            measure=indicator.measure,
            ascending=_boolean(indicator.ascending) if indicator.ascending is not None else None,
        )
        _narrative(i, "title", indicator.title)
        _narrative(i, "description", indicator.description)
        for ref in indicator.references:
            _sub(
                i,
                "reference",
                vocabulary=ref.vocabulary,
                code=ref.code,
                indicator_uri=ref.vocabulary_uri,
            )
        for baseline in indicator.baselines:
            _point(i, "baseline", baseline, baseline=True)
        for period in indicator.periods:
            p = _sub(i, "period")
            _sub(p, "period-start", iso_date=period.start.isoformat() if period.start else None)
            _sub(p, "period-end", iso_date=period.end.isoformat() if period.end else None)
            for target in period.targets:
                _point(p, "target", target)
            for actual in period.actuals:
                _point(p, "actual", actual)


def render_activities(
    activities: Iterable[Activity],
    *,
    generated: datetime | None = None,
    linked_data: str | None = None,
) -> bytes:
    """An ``iati-activities`` document (UTF-8, with XML declaration) for the activities."""
    root = etree.Element("iati-activities", version=IATI_VERSION)
    root.set(
        "generated-datetime",
        (generated or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    if linked_data:
        root.set("linked-data-default", linked_data)
    for activity in activities:
        _activity(root, activity)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


# ----------------------------------------------------------------------------- schema


def schema_path() -> Path | None:
    """Where the IATI 2.03 activity XSD is: ``$COORDINATION_IATI_SCHEMA``, else the
    ``shared/`` directory beside the repository checkout; None when neither exists."""
    configured = os.environ.get(SCHEMA_ENV)
    if configured:
        path = Path(configured).expanduser()
        return path if path.is_file() else None
    for base in Path(__file__).resolve().parents:
        candidate = base / _SCHEMA_IN_CHECKOUT
        if candidate.is_file():
            return candidate
    return None


@lru_cache(maxsize=4)
def _schema(path: Path) -> etree.XMLSchema:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.XMLSchema(etree.parse(str(path), parser))


def validate(document: bytes | etree._Element, *, path: Path | None = None) -> list[str]:
    """Schema errors of ``document`` as "line N: message" strings; empty when valid.

    Raises :class:`SchemaUnavailable` when the XSD cannot be found.
    """
    path = path or schema_path()
    if path is None:
        raise SchemaUnavailable(
            "the IATI 2.03 schema was not found: set "
            f"{SCHEMA_ENV} to iati-activities-schema.xsd (see docs/iati.md)"
        )
    schema = _schema(path)
    tree = document if isinstance(document, etree._Element) else _safe_tree(document)
    if schema.validate(tree):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]  # type: ignore[attr-defined]


# ----------------------------------------------------------------------------- reading


def _safe_tree(data: bytes, max_bytes: int = MAX_BYTES) -> etree._Element:
    """The root of ``data`` parsed with every dangerous feature of XML switched off.

    No DTD is loaded, no entity is resolved, nothing is fetched; a document that
    declares a DTD at all (the vehicle of entity bombs and external entities) is
    refused, as is one larger than ``max_bytes``.
    """
    if len(data) > max_bytes:
        raise IatiFormatError(f"the file is {len(data):,} bytes; the limit is {max_bytes:,} bytes")
    if not data.strip():
        raise IatiFormatError("the file is empty")
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        raise IatiFormatError(f"not well-formed XML: {error}") from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise IatiFormatError("the file declares a DTD; DTDs and entities are not accepted")
    for node in root.iter():
        if isinstance(node, etree._Entity):  # an entity reference left unresolved
            raise IatiFormatError("the file uses XML entities; they are not accepted")
    return root


def _text(element: etree._Element | None) -> str | None:
    """The first narrative of an element (English or unlabelled preferred), stripped."""
    if element is None:
        return None
    narratives = element.findall("narrative")
    if not narratives:  # IATI 1.x put text straight into the element
        text = (element.text or "").strip()
        return text or None
    preferred = [n for n in narratives if n.get(XML_LANG) in (None, "en")] or narratives
    return (preferred[0].text or "").strip() or None


def _date(element: etree._Element | None, problems: list[Problem], where: str) -> date | None:
    if element is None:
        return None
    raw = (element.get("iso-date") or "").strip()
    if not raw:
        problems.append(Problem(element.sourceline, where, "no iso-date; ignored"))
        return None
    try:
        return date.fromisoformat(raw[:10])
    except ValueError:
        problems.append(Problem(element.sourceline, where, f"{raw!r} is not a date; ignored"))
        return None


def _bool(raw: str | None) -> bool | None:
    if raw is None:
        return None
    return raw.strip().lower() in ("1", "true")


def _documents(
    parent: etree._Element, problems: list[Problem] | None = None, where: str = ""
) -> list[Document]:
    out = []
    for element in parent.findall("document-link"):
        url = (element.get("url") or "").strip()
        if not url:
            continue
        categories = [
            code for c in element.findall("category") if (code := (c.get("code") or "").strip())
        ] or ["A08"]
        out.append(
            Document(
                url=url,
                title=_text(element.find("title")) or url,
                format=(element.get("format") or "").strip() or "text/html",
                category=categories[0],
                more_categories=categories[1:],
                description=_text(element.find("description")),
                languages=[
                    code
                    for lang in element.findall("language")
                    if (code := (lang.get("code") or "").strip())
                ],
                document_date=_date(
                    element.find("document-date"),
                    problems if problems is not None else [],
                    f"{where} document-link",
                ),
                line=element.sourceline,
            )
        )
    return out


def _points(parent: etree._Element, tag: str) -> list[Point]:
    out: list[Point] = []
    for element in parent.findall(tag):
        point = Point(
            value=(element.get("value") or "").strip() or None,
            dimensions=[
                ((d.get("name") or "").strip(), (d.get("value") or "").strip())
                for d in element.findall("dimension")
            ],
            comment=_text(element.find("comment")),
            documents=_documents(element),
            line=element.sourceline,
        )
        out.append(point)
    return out


def _references(parent: etree._Element, uri_attribute: str) -> list[Tag]:
    return [
        Tag(
            code=(ref.get("code") or "").strip(),
            vocabulary=(ref.get("vocabulary") or "").strip(),
            vocabulary_uri=ref.get(uri_attribute),
            line=ref.sourceline,
        )
        for ref in parent.findall("reference")
    ]


def _parse_result(element: etree._Element, problems: list[Problem], where: str) -> Result:
    result = Result(
        title=_text(element.find("title")) or "",
        type=(element.get("type") or "").strip(),
        description=_text(element.find("description")),
        references=_references(element, "vocabulary-uri"),
        aggregation_status=_bool(element.get("aggregation-status")),
        line=element.sourceline,
    )
    for i_element in element.findall("indicator"):
        indicator = Indicator(
            title=_text(i_element.find("title")) or "",
            measure=(i_element.get("measure") or "").strip(),
            ascending=_bool(i_element.get("ascending")),
            description=_text(i_element.find("description")),
            references=_references(i_element, "indicator-uri"),
            line=i_element.sourceline,
        )
        for b_element in i_element.findall("baseline"):
            year_raw = (b_element.get("year") or "").strip()
            baseline = Baseline(
                value=(b_element.get("value") or "").strip() or None,
                dimensions=[
                    ((d.get("name") or "").strip(), (d.get("value") or "").strip())
                    for d in b_element.findall("dimension")
                ],
                comment=_text(b_element.find("comment")),
                documents=_documents(b_element),
                year=int(year_raw) if year_raw.isdigit() else None,
                iso_date=_date(b_element, problems, f"{where} baseline")
                if b_element.get("iso-date")
                else None,
                line=b_element.sourceline,
            )
            indicator.baselines.append(baseline)
        for p_element in i_element.findall("period"):
            period = Period(
                start=_date(p_element.find("period-start"), problems, f"{where} period-start"),
                end=_date(p_element.find("period-end"), problems, f"{where} period-end"),
                targets=_points(p_element, "target"),
                actuals=_points(p_element, "actual"),
                line=p_element.sourceline,
            )
            indicator.periods.append(period)
        result.indicators.append(indicator)
    return result


def _parse_activity(element: etree._Element, problems: list[Problem]) -> Activity:
    identifier = (element.findtext("iati-identifier") or "").strip()
    where = f"activity {identifier}" if identifier else "activity"
    reporting = element.find("reporting-org")
    activity = Activity(
        identifier=identifier,
        reporting_org=Org(
            name=_text(reporting),
            ref=(reporting.get("ref") or "").strip() or None,
            type=reporting.get("type"),
            line=reporting.sourceline,
        )
        if reporting is not None
        else Org(),
        title=_text(element.find("title")) or "",
        hierarchy=int(element.get("hierarchy"))
        if (element.get("hierarchy") or "").isdigit()
        else None,
        default_currency=element.get("default-currency"),
        language=element.get(XML_LANG),
        line=element.sourceline,
    )
    descriptions = element.findall("description")
    general = [d for d in descriptions if d.get("type") in (None, "1")] or descriptions
    activity.description = _text(general[0]) if general else None
    for org in element.findall("participating-org"):
        activity.participating.append(
            Org(
                name=_text(org),
                ref=(org.get("ref") or "").strip() or None,
                type=org.get("type"),
                role=(org.get("role") or "").strip(),
                line=org.sourceline,
            )
        )
    status = element.find("activity-status")
    activity.status = status.get("code") if status is not None else None
    for d in element.findall("activity-date"):
        when = _date(d, problems, f"{where} activity-date")
        if when is not None:
            activity.dates.append(((d.get("type") or "").strip(), when))
    for c in element.findall("recipient-country"):
        activity.countries.append(((c.get("code") or "").strip(), _decimal(c.get("percentage"))))
    for loc in element.findall("location"):
        admin0 = next(
            (
                x.get("code")
                for x in loc.findall("administrative")
                if x.get("vocabulary") == "A4" and x.get("level") in ("0", None)
            ),
            None,
        )
        activity.locations.append(
            Location(
                ref=(loc.get("ref") or "").strip() or None,
                name=_text(loc.find("name")),
                country=admin0,
                line=loc.sourceline,
            )
        )
    for s in element.findall("sector"):
        activity.sectors.append(
            Sector(
                code=(s.get("code") or "").strip(),
                vocabulary=(s.get("vocabulary") or "1").strip(),
                vocabulary_uri=s.get("vocabulary-uri"),
                percentage=_decimal(s.get("percentage")),
                name=_text(s),
                line=s.sourceline,
            )
        )
    for t in element.findall("tag"):
        activity.tags.append(
            Tag(
                code=(t.get("code") or "").strip(),
                vocabulary=(t.get("vocabulary") or "").strip(),
                vocabulary_uri=t.get("vocabulary-uri"),
                name=_text(t),
                line=t.sourceline,
            )
        )
    for m in element.findall("policy-marker"):
        activity.policy_markers.append(
            (m.get("vocabulary") or "1", m.get("code") or "", m.get("significance") or "")
        )
    for b in element.findall("budget"):
        start = _date(b.find("period-start"), problems, f"{where} budget")
        end = _date(b.find("period-end"), problems, f"{where} budget")
        value_element = b.find("value")
        value = _decimal(value_element.text if value_element is not None else None)
        if start is None or end is None or value is None:
            problems.append(
                Problem(b.sourceline, where, "a budget without dates or value; ignored")
            )
            continue
        currency = value_element.get("currency") if value_element is not None else None
        activity.budgets.append((b.get("type") or "1", start, end, value, currency))
    activity.documents = _documents(element, problems, where)
    for r in element.findall("related-activity"):
        activity.related.append(((r.get("type") or "").strip(), (r.get("ref") or "").strip()))
    for index, r in enumerate(element.findall("result"), start=1):
        activity.results.append(_parse_result(r, problems, f"{where} result {index}"))
    return activity


def parse_activities(data: bytes, *, max_bytes: int = MAX_BYTES) -> ParsedFile:
    """Activities of an IATI 2.01-2.03 activity file.

    Raises :class:`IatiFormatError` for anything that is not a safe, well-formed
    ``iati-activities`` document; parts it cannot use are listed in ``problems``.
    """
    root = _safe_tree(data, max_bytes)
    if root.tag != "iati-activities":
        if root.tag == "iati-organisations":
            raise IatiFormatError("this is an IATI organisation file; give an activity file")
        raise IatiFormatError(f"the root element is <{root.tag}>, not <iati-activities>")
    version = root.get("version")
    problems: list[Problem] = []
    if version and version.strip() not in ("2.01", "2.02", "2.03"):
        problems.append(Problem(root.sourceline, "", f"version {version!r}; read as IATI 2.03"))
    activities = [_parse_activity(a, problems) for a in root.findall("iati-activity")]
    if not activities:
        raise IatiFormatError("the file has no iati-activity")
    return ParsedFile(version=version, activities=activities, problems=problems)


def compare(first: bytes, second: bytes, *, ignore: Sequence[str] = ()) -> list[str]:
    """Differences between two documents element by element (tag, attributes, text, order).

    Attributes named in ``ignore`` (``generated-datetime``...) are left out.
    """
    a, b = _safe_tree(first), _safe_tree(second)
    out: list[str] = []

    def walk(x: etree._Element, y: etree._Element, path: str) -> None:
        here = f"{path}/{x.tag}"
        if x.tag != y.tag:
            out.append(f"{here}: <{x.tag}> against <{y.tag}>")
            return
        xa = {k: v for k, v in x.attrib.items() if k not in ignore}
        ya = {k: v for k, v in y.attrib.items() if k not in ignore}
        if xa != ya:
            out.append(f"{here}: attributes {xa} against {ya}")
        if (x.text or "").strip() != (y.text or "").strip():
            out.append(f"{here}: text {x.text!r} against {y.text!r}")
        xs, ys = list(x), list(y)
        if len(xs) != len(ys):
            out.append(f"{here}: {len(xs)} children against {len(ys)}")
        for cx, cy in zip(xs, ys, strict=False):
            walk(cx, cy, here)

    walk(a, b, "")
    return out
