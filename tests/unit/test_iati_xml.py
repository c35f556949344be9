"""IATI XML without a database: writing in schema order, reading leniently, refusing
hostile XML, and a property test on generated activities."""

from __future__ import annotations

import string
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coordination.interop import iati as x

SCHEMA = x.schema_path()
needs_schema = pytest.mark.skipif(
    SCHEMA is None,
    reason="IATI schema not found (../shared/standards or $COORDINATION_IATI_SCHEMA)",
)


def _activity(**overrides: object) -> x.Activity:
    values: dict[str, object] = {
        "identifier": "XM-DAC-41302-P1",
        "reporting_org": x.Org(
            name="International Labour Organization", ref="XM-DAC-41302", type="40"
        ),
        "title": "Decent work",
        "description": "A project",
        "participating": [x.Org(name="ILO", ref="XM-DAC-41302", type="40", role="2")],
        "status": "2",
        "dates": [("1", date(2024, 1, 1)), ("3", date(2026, 12, 31))],
        "countries": [("BD", Decimal(50)), ("KH", Decimal(50))],
        "sectors": [x.Sector(code="15170", percentage=Decimal(100), name="Gender equality")],
        "policy_markers": [("1", "1", "2")],
        "budgets": [("1", date(2024, 1, 1), date(2026, 12, 31), Decimal("1000000"), "USD")],
        "results": [
            x.Result(
                title="Outcome 1",
                type="2",
                indicators=[
                    x.Indicator(
                        title="Women trained",
                        measure="1",
                        ascending=True,
                        baselines=[x.Baseline(year=2023, value="0", comment="none yet")],
                        periods=[
                            x.Period(
                                start=date(2024, 1, 1),
                                end=date(2024, 12, 31),
                                targets=[
                                    x.Point(value="10", comment="first year"),
                                    x.Point(value="6", dimensions=[("sex", "female")]),
                                ],
                                actuals=[
                                    x.Point(
                                        value="11",
                                        comment="done",
                                        documents=[
                                            x.Document(
                                                url="https://example.org/r.pdf", title="Report"
                                            )
                                        ],
                                    ),
                                    x.Point(value="7", dimensions=[("sex", "female")]),
                                ],
                            )
                        ],
                    )
                ],
            )
        ],
    }
    values.update(overrides)
    return x.Activity(**values)  # type: ignore[arg-type]


@needs_schema
def test_a_full_activity_is_valid_and_in_schema_order():
    document = x.render_activities([_activity()])
    assert x.validate(document) == []
    text = document.decode()
    order = [
        "<iati-identifier>",
        "<reporting-org",
        "<title>",
        "<description",
        "<participating-org",
        "<activity-status",
        "<activity-date",
        "<recipient-country",
        "<sector",
        "<policy-marker",
        "<budget",
        "<result",
    ]
    positions = [text.index(tag) for tag in order]
    assert positions == sorted(positions)
    assert '<dimension name="sex" value="female"/>' in text


@needs_schema
def test_validation_reports_a_misplaced_element_with_its_line():
    document = x.render_activities([_activity()]).replace(
        b"<activity-status", b"<bogus/><activity-status"
    )
    errors = x.validate(document)
    assert errors and errors[0].startswith("line ") and "bogus" in errors[0]


def test_missing_schema_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv(x.SCHEMA_ENV, str(tmp_path / "nowhere.xsd"))
    assert x.schema_path() is None
    with pytest.raises(x.SchemaUnavailable, match="COORDINATION_IATI_SCHEMA"):
        x.validate(b"<iati-activities/>")


def test_parse_reads_back_what_render_wrote():
    activity = _activity()
    parsed = x.parse_activities(x.render_activities([activity]))
    assert parsed.version == "2.03"
    [back] = parsed.activities
    assert back.identifier == activity.identifier
    assert back.reporting_org.ref == "XM-DAC-41302"
    assert back.countries == [("BD", Decimal(50)), ("KH", Decimal(50))]
    period = back.results[0].indicators[0].periods[0]
    assert [t.value for t in period.targets] == ["10", "6"]
    assert period.actuals[1].dimensions == [("sex", "female")]
    assert period.actuals[0].documents[0].url == "https://example.org/r.pdf"
    assert back.results[0].indicators[0].baselines[0].comment == "none yet"


FULL_LINK = x.Document(
    url="https://www.ilo.org/dw/evaluation.pdf",
    title="Mid-term evaluation",
    format="application/pdf",
    category="A07",
    more_categories=["A08"],
    description="Independent evaluation",
    languages=["en", "fr"],
    document_date=date(2025, 9, 30),
)


@needs_schema
def test_activity_document_links_are_valid_in_schema_order_and_read_back():
    bare = x.Document(url="https://www.ilo.org/dw", title="Project page", category="A12")
    document = x.render_activities([_activity(documents=[FULL_LINK, bare])])
    assert x.validate(document) == []
    text = document.decode()
    assert text.index("<budget") < text.index("<document-link") < text.index("<result")
    [back] = x.parse_activities(document).activities
    assert [(d.url, d.title, d.format) for d in back.documents] == [
        ("https://www.ilo.org/dw/evaluation.pdf", "Mid-term evaluation", "application/pdf"),
        ("https://www.ilo.org/dw", "Project page", "text/html"),
    ]
    full = back.documents[0]
    assert (full.category, full.more_categories) == ("A07", ["A08"])
    assert (full.description, full.languages, full.document_date) == (
        "Independent evaluation",
        ["en", "fr"],
        date(2025, 9, 30),
    )
    assert back.documents[1].languages == [] and back.documents[1].document_date is None


def test_a_bad_document_date_is_reported_not_fatal():
    document = x.render_activities([_activity(documents=[FULL_LINK])]).replace(
        b'iso-date="2025-09-30"', b'iso-date="soon"'
    )
    parsed = x.parse_activities(document)
    assert parsed.activities[0].documents[0].document_date is None
    assert any("document-link" in p.where and "not a date" in p.message for p in parsed.problems)


def test_text_xml_cannot_hold_is_dropped_not_fatal():
    document = x.render_activities([_activity(title="Bad \x00\x0b title")])
    assert x.parse_activities(document).activities[0].title == "Bad  title"


# ------------------------------------------------------------------ hostile input

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<iati-activities version="2.03"><iati-activity><iati-identifier>&lol4;</iati-identifier>
</iati-activity></iati-activities>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<iati-activities version="2.03"><iati-activity><iati-identifier>&secret;</iati-identifier>
</iati-activity></iati-activities>"""

NETWORK_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE iati-activities SYSTEM "http://127.0.0.1:9/evil.dtd">
<iati-activities version="2.03"><iati-activity/></iati-activities>"""

PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/x.dtd"> %remote;]>
<iati-activities version="2.03"><iati-activity/></iati-activities>"""

QUADRATIC_BLOWUP = (
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "'
    + b"A" * 50_000
    + b'">]><iati-activities>'
    + b"&a;" * 2_000
    + b"</iati-activities>"
)


@pytest.mark.parametrize(
    "sample",
    [BILLION_LAUGHS, EXTERNAL_ENTITY, NETWORK_DTD, PARAMETER_ENTITY, QUADRATIC_BLOWUP],
    ids=["billion-laughs", "external-entity", "network-dtd", "parameter-entity", "quadratic"],
)
def test_hostile_xml_is_refused(sample):
    with pytest.raises(x.IatiFormatError, match="DTD|entit|well-formed"):
        x.parse_activities(sample)


def test_xinclude_is_not_followed():
    sample = b"""<iati-activities version="2.03" xmlns:xi="http://www.w3.org/2001/XInclude">
    <iati-activity><iati-identifier>A-1</iati-identifier>
    <title><narrative><xi:include href="file:///etc/passwd" parse="text"/></narrative></title>
    </iati-activity></iati-activities>"""
    [activity] = x.parse_activities(sample).activities
    assert "root:" not in (activity.title or "")


@pytest.mark.parametrize(
    ("sample", "message"),
    [
        (b"", "empty"),
        (b"not xml at all", "well-formed"),
        (b"<iati-organisations/>", "organisation file"),
        (b"<html><body/></html>", "not <iati-activities>"),
        (b'<iati-activities version="2.03"/>', "no iati-activity"),
    ],
)
def test_wrong_files_get_a_clear_message(sample, message):
    with pytest.raises(x.IatiFormatError, match=message):
        x.parse_activities(sample)


def test_size_limit():
    document = x.render_activities([_activity()])
    with pytest.raises(x.IatiFormatError, match="limit is 100 bytes"):
        x.parse_activities(document, max_bytes=100)


def test_utf16_with_bom_is_read():
    document = x.render_activities([_activity(title="Đồng Nai")]).decode("utf-8")
    utf16 = document.replace("encoding='UTF-8'", "encoding='UTF-16'").encode("utf-16")
    assert x.parse_activities(utf16).activities[0].title == "Đồng Nai"


def test_version_201_text_without_narratives_is_read():
    sample = b"""<iati-activities version="2.01"><iati-activity>
      <iati-identifier>AA-1</iati-identifier><reporting-org ref="AA">Agency</reporting-org>
      <title>Plain title</title></iati-activity></iati-activities>"""
    [activity] = x.parse_activities(sample).activities
    assert (activity.title, activity.reporting_org.name) == ("Plain title", "Agency")


def test_compare_names_the_differing_element():
    first = x.render_activities([_activity()])
    second = x.render_activities([_activity(title="Other")])
    differences = x.compare(first, second, ignore=("generated-datetime",))
    assert len(differences) == 1 and "/title/narrative" in differences[0]
    assert x.compare(first, first) == []


# ------------------------------------------------------------------ generated data

_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40
).filter(lambda t: t.strip() == t and t.strip())
_value = st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False).map(
    lambda d: x.format_number(d)
)


@st.composite
def _periods(draw: st.DrawFn) -> list[x.Period]:
    years = sorted(draw(st.sets(st.integers(2000, 2030), max_size=4)))
    out = []
    for year in years:
        targets = [x.Point(value=draw(_value), comment=draw(st.none() | _text))]
        for sex in draw(st.sets(st.sampled_from(["female", "male"]))):
            targets.append(x.Point(value=draw(_value), dimensions=[("sex", sex)]))
        actuals = [x.Point(value=draw(_value))] if draw(st.booleans()) else []
        out.append(
            x.Period(
                start=date(year, 1, 1), end=date(year, 12, 31), targets=targets, actuals=actuals
            )
        )
    return out


@st.composite
def _activities(draw: st.DrawFn) -> x.Activity:
    indicators = [
        x.Indicator(
            title=draw(_text),
            measure=draw(st.sampled_from(["1", "2", "5"])),
            ascending=draw(st.booleans()),
            periods=draw(_periods()),
        )
        for _ in range(draw(st.integers(1, 3)))
    ]
    return _activity(
        identifier="XX-"
        + draw(st.text(string.ascii_uppercase + string.digits, min_size=1, max_size=12)),
        title=draw(_text),
        description=draw(st.none() | _text),
        results=[
            x.Result(
                title=draw(_text),
                type=draw(st.sampled_from(["1", "2", "3", "9"])),
                indicators=indicators,
            )
        ],
    )


@needs_schema
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_activities(), min_size=1, max_size=3))
def test_generated_activities_validate_and_survive_parse_and_render(activities):
    document = x.render_activities(activities)
    assert x.validate(document) == []
    again = x.render_activities(x.parse_activities(document).activities)
    assert x.compare(document, again, ignore=("generated-datetime",)) == []
