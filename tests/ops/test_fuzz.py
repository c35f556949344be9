"""Property tests on every parser and form input: a clear error or a result, never a
crash, and never a partial write.

Each file format is one :class:`FileFormat` in ``FILE_FORMATS``; its tests (arbitrary
bytes, mutated real samples, all-or-nothing import on both databases) come for free.
A new importer joins with one entry, for example::

    FileFormat("geojson", parse=parse_geojson, write=import_geojson, samples=geo_samples)

"Clear errors" are :class:`coordination.errors.CoordinationError` and its subclasses
(``ValidationError``, ``CalendarFormatError``, ``FixtureError``...): everything else
that escapes is a bug these tests report with the input that triggers it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session

from coordination.db import Base
from coordination.errors import CoordinationError
from coordination.interop.hxl3w import read_3w
from coordination.interop.iati import parse_activities, render_activities
from coordination.interop.ical import parse_calendar
from coordination.models import IndicatorPeriod, Organisation, User
from coordination.services.accounts import create_user
from coordination.services.fixtures import load_fixtures
from coordination.services.iati import import_iati
from coordination.services.interventions import create_intervention
from coordination.services.meetings import import_calendar
from coordination.services.results import report_update
from coordination.services.stakeholders import create_organisation, update_organisation
from coordination.services.threew import import_3w
from coordination.vocab import UserRole

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures" / "demo"
# Real-world calendars (icalendar's test files, with their licence) in the shared folder.
CALENDAR_DIRS = [ROOT.parent / "shared" / "calendars", Path("/work/shared/calendars")]

DB_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
PARSE_SETTINGS = settings(max_examples=150, deadline=None)

OWN_CALENDAR = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//elsewhere//fuzz sample//EN\r
BEGIN:VTIMEZONE\r
TZID:Asia/Dhaka\r
BEGIN:STANDARD\r
DTSTART:19700101T000000\r
TZOFFSETFROM:+0600\r
TZOFFSETTO:+0600\r
END:STANDARD\r
END:VTIMEZONE\r
BEGIN:VEVENT\r
UID:series-1@elsewhere.example\r
DTSTAMP:20260101T000000Z\r
DTSTART;TZID=Asia/Dhaka:20260105T100000\r
DTEND;TZID=Asia/Dhaka:20260105T113000\r
RRULE:FREQ=WEEKLY;COUNT=6;BYDAY=MO\r
EXDATE;TZID=Asia/Dhaka:20260112T100000\r
SUMMARY:Tripartite working group\r
LOCATION:Dhaka\r
DESCRIPTION:Agenda:\\n1. Wages\\n2. Safety\r
ORGANIZER;CN=Secretariat:mailto:secretariat@elsewhere.example\r
ATTENDEE;CN=A Person;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED:mailto:a@elsewhere.example\r
SEQUENCE:2\r
LAST-MODIFIED:20260102T000000Z\r
BEGIN:VALARM\r
ACTION:DISPLAY\r
TRIGGER:-PT15M\r
DESCRIPTION:Reminder\r
END:VALARM\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:allday-1@elsewhere.example\r
DTSTAMP:20260101T000000Z\r
DTSTART;VALUE=DATE:20260301\r
DTEND;VALUE=DATE:20260302\r
SUMMARY:Buyers' forum\r
END:VEVENT\r
END:VCALENDAR\r
"""


def calendar_samples() -> list[bytes]:
    samples = [OWN_CALENDAR]
    for folder in CALENDAR_DIRS:
        if folder.is_dir():
            samples += [path.read_bytes() for path in sorted(folder.glob("*.ics"))]
            break
    return samples


def fixture_samples() -> list[bytes]:
    return [(FIXTURES / name).read_bytes() for name in ("organisations.yaml", "project.yaml")]


def iati_samples() -> list[bytes]:
    from tests.unit.test_iati_xml import _activity

    return [render_activities([_activity()])]


def _load_fixture_bytes(session: Session, data: bytes) -> Any:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.yaml"
        path.write_bytes(data)
        return load_fixtures(session, path)


@dataclass(frozen=True)
class FileFormat:
    """A file format we read: ``parse`` needs no database, ``write`` imports (no commit)."""

    name: str
    write: Callable[[Session, bytes], Any]
    samples: Callable[[], list[bytes]]
    parse: Callable[[bytes], Any] | None = None


FILE_FORMATS = [
    FileFormat(
        "icalendar",
        parse=parse_calendar,
        write=lambda session, data: import_calendar(session, data, host="coordination.test"),
        samples=calendar_samples,
    ),
    FileFormat("fixtures-yaml", write=_load_fixture_bytes, samples=fixture_samples),
    FileFormat(
        "iati-xml",
        parse=parse_activities,
        write=lambda session, data: import_iati(session, data),
        samples=iati_samples,
    ),
    FileFormat(
        "3w-csv",
        parse=lambda data: read_3w(data, "fuzz.csv"),
        write=lambda session, data: import_3w(session, data, "fuzz.csv"),
        samples=lambda: [(ROOT / "docs" / "3w-template.csv").read_bytes()],
    ),
    FileFormat(
        "3w-xlsx",
        parse=lambda data: read_3w(data, "fuzz.xlsx"),
        write=lambda session, data: import_3w(session, data, "fuzz.xlsx"),
        samples=lambda: [(ROOT / "docs" / "3w-template.xlsx").read_bytes()],
    ),
]
PARSERS = [f for f in FILE_FORMATS if f.parse is not None]

# Bytes that mean something to one of the formats: mutations splice them in.
TOKENS = [
    b":", b";", b"=", b",", b"\r\n", b"\n ", b"\x00", b"\xff\xfe", b"\xe2\x80", b"\t",
    b"BEGIN:VEVENT\r\n", b"END:VEVENT\r\n", b"END:VCALENDAR", b"TZID=Mars/Olympus:",
    b"RRULE:FREQ=SECONDLY;INTERVAL=0", b"DTSTART:99991231T235959Z", b"VALUE=DATE:",
    b"- ", b": ", b"{", b"[", b"&anchor ", b"*anchor", b"!!python/object", b"~", b"null",
    b"1e999", b"-0", b"NaN", b"'", b'"', b"\\", b"%",
]  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn, samples: list[bytes]) -> bytes:
    """A real sample with a few edits: flipped bytes, spliced tokens, lost or doubled lines."""
    data = bytearray(draw(st.sampled_from(samples)))
    for _ in range(draw(st.integers(1, 6))):
        where = draw(st.integers(0, max(len(data) - 1, 0)))
        operation = draw(st.sampled_from(["flip", "delete", "insert", "line", "truncate"]))
        if operation == "flip" and data:
            data[where] ^= 1 << draw(st.integers(0, 7))
        elif operation == "delete":
            del data[where : where + draw(st.integers(1, 40))]
        elif operation == "insert":
            data[where:where] = draw(st.sampled_from(TOKENS) | st.binary(max_size=8))
        elif operation == "line":
            lines = bytes(data).split(b"\n")
            n = draw(st.integers(0, len(lines) - 1))
            lines[n : n + 1] = draw(st.sampled_from([[], [lines[n]] * 2]))
            data = bytearray(b"\n".join(lines))
        elif operation == "truncate":
            del data[where:]
    return bytes(data)


def parses_or_refuses(parse: Callable[[bytes], Any], data: bytes) -> None:
    try:
        parse(data)
    except CoordinationError as error:
        assert str(error).strip(), "a refusal must say why"


@pytest.mark.parametrize("fmt", PARSERS, ids=lambda f: f.name)
def test_parser_survives_arbitrary_bytes(fmt):
    @PARSE_SETTINGS
    @given(st.binary(max_size=2000))
    def check(data: bytes) -> None:
        parses_or_refuses(fmt.parse, data)

    check()


@pytest.mark.parametrize("fmt", PARSERS, ids=lambda f: f.name)
def test_parser_survives_mutated_real_files(fmt):
    @PARSE_SETTINGS
    @given(mutated(fmt.samples()))
    def check(data: bytes) -> None:
        parses_or_refuses(fmt.parse, data)

    check()


# -- writes: all or nothing ---------------------------------------------------------------


def row_counts(session: Session) -> dict[str, int]:
    return {
        table.name: session.scalar(select(func.count()).select_from(table)) or 0
        for table in Base.metadata.sorted_tables
    }


@pytest.fixture
def guarded(engine: Engine) -> Iterator[Session]:
    """A session that must never commit: services flush, their callers commit."""
    with Session(engine, expire_on_commit=False) as session:
        session.info["actor"] = "fuzz"

        def refuse_commit(session_: Session) -> None:
            # Releasing a SAVEPOINT (begin_nested) fires this too; that is not a commit.
            if not session_.in_nested_transaction():
                raise AssertionError("a service committed on its own")

        event.listen(session, "before_commit", refuse_commit)
        yield session
        session.rollback()


def all_or_nothing(session: Session, write: Callable[[], Any]) -> None:
    """``write`` either succeeds, or refuses clearly and the database is unchanged."""
    before = row_counts(session)
    try:
        write()
        session.flush()  # what the caller's commit would send must be acceptable too
    except CoordinationError as error:
        # Refused: the caller rolls back (services flush, callers own the transaction)
        # and the database holds exactly what it held; nothing was committed meanwhile.
        assert str(error).strip()
        session.rollback()
        assert row_counts(session) == before
    else:
        session.rollback()


@pytest.mark.parametrize("fmt", FILE_FORMATS, ids=lambda f: f.name)
def test_import_of_mutated_files_is_all_or_nothing(fmt, guarded):
    @DB_SETTINGS
    @given(mutated(fmt.samples()) | st.binary(max_size=300))
    def check(data: bytes) -> None:
        all_or_nothing(guarded, lambda: fmt.write(guarded, data))

    check()


# -- form and service inputs --------------------------------------------------------------

# Text as people type and paste it, including the awkward parts.
texts = st.one_of(
    st.none(),
    st.text(max_size=60),
    st.sampled_from(["", " ", "ILO", "ilo", "BD", "BD-C", "zz", "https://x.example", "-1"]),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=250, max_size=400),
)
anything = st.one_of(texts, st.integers(), st.floats(), st.decimals(), st.booleans())


def stakeholder_type_values() -> st.SearchStrategy[Any]:
    from coordination.vocab import StakeholderType

    return st.one_of(st.sampled_from([t.value for t in StakeholderType]), texts)


def test_organisation_input_is_saved_or_refused_cleanly(session, guarded):
    create_organisation(session, name="Existing", acronym="EXIST", stakeholder_type="ngo")
    session.commit()

    @DB_SETTINGS
    @given(
        st.fixed_dictionaries(
            {"name": texts, "acronym": texts, "stakeholder_type": stakeholder_type_values()},
            optional={
                "constituency": texts,
                "iati_type": anything,
                "country": texts,
                "iati_identifier": texts,
                "website": texts,
                "description": texts,
                "parent": texts,
            },
        )
    )
    def check(fields: dict[str, Any]) -> None:
        all_or_nothing(guarded, lambda: create_organisation(guarded, **fields))

    check()


def test_refused_organisation_update_leaves_the_row_unchanged(session, guarded):
    create_organisation(
        session, name="Existing", acronym="EXIST", stakeholder_type="ngo", country="BD"
    )
    create_organisation(session, name="Other", acronym="OTHER", stakeholder_type="ngo")
    session.commit()
    columns = [c.key for c in Organisation.__table__.c]

    @DB_SETTINGS
    @given(
        st.fixed_dictionaries(
            {},
            optional={
                "name": texts,
                "acronym": st.one_of(texts, st.just("OTHER")),
                "stakeholder_type": stakeholder_type_values(),
                "iati_type": anything,
                "country": texts,
                "website": texts,
                "parent": st.one_of(texts, st.just("EXIST")),
            },
        )
    )
    def check(changes: dict[str, Any]) -> None:
        organisation = guarded.scalars(
            select(Organisation).where(Organisation.acronym == "EXIST")
        ).one()
        before = {key: getattr(organisation, key) for key in columns}
        try:
            update_organisation(guarded, organisation, **changes)
            guarded.flush()
        except CoordinationError:
            # Refused: the row in memory must be as it was, not half-updated.
            assert {key: getattr(organisation, key) for key in columns} == before
        finally:
            guarded.rollback()

    check()


def test_intervention_input_is_saved_or_refused_cleanly(session, guarded):
    create_organisation(session, name="Lead", acronym="LEAD", stakeholder_type="ngo")
    session.commit()

    @DB_SETTINGS
    @given(
        st.fixed_dictionaries(
            {
                "code": texts,
                "title": texts,
                "intervention_type": st.one_of(st.just("training"), texts),
                "lead_organisation": st.one_of(st.just("LEAD"), texts),
                "start_date": st.one_of(st.dates(), texts),
                "themes": st.lists(st.one_of(st.just("social-dialogue"), texts), max_size=3),
            },
            optional={
                "places": st.lists(st.one_of(st.just("BD"), st.just("BD-C"), texts), max_size=3),
                "end_date": st.one_of(st.dates(), texts),
                "partners": st.lists(texts, max_size=2),
                "target_groups": st.lists(texts, max_size=2),
                "status": texts,
            },
        )
    )
    def check(fields: dict[str, Any]) -> None:
        all_or_nothing(guarded, lambda: create_intervention(guarded, **fields))

    check()


def test_period_values_are_saved_or_refused_cleanly(session, guarded):
    load_fixtures(session, "demo")
    create_user(session, "fuzz-manager@example.org", "a long password 1", UserRole.MANAGER)
    session.commit()
    period_ids = session.scalars(
        select(IndicatorPeriod.id)
        .where(IndicatorPeriod.locked.is_(False))
        .order_by(IndicatorPeriod.id)
    ).all()
    numbers = st.one_of(
        texts,
        st.integers(-(10**20), 10**20),
        st.floats(allow_nan=True, allow_infinity=True),
        st.decimals(allow_nan=True, allow_infinity=True),
        st.just(Decimal("1e-30")),
    )

    @DB_SETTINGS
    @given(
        st.sampled_from(period_ids),
        st.fixed_dictionaries(
            {},
            optional={
                "value": numbers,
                "numerator": numbers,
                "denominator": numbers,
                "narrative": texts,
                "comment": texts,
                "evidence_links": st.lists(st.text(max_size=60), max_size=3),
                "disaggregations": st.dictionaries(
                    st.text(max_size=20), st.dictionaries(st.text(max_size=20), numbers), max_size=2
                ),
            },
        ),
    )
    def check(period_id: int, values: dict[str, Any]) -> None:
        period = guarded.get(IndicatorPeriod, period_id)
        manager = guarded.scalars(
            select(User).where(User.email == "fuzz-manager@example.org")
        ).one()
        all_or_nothing(guarded, lambda: report_update(guarded, period, manager, **values))

    check()
