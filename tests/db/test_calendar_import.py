"""Calendar import (real samples, re-import, all-or-nothing) and the `calendar` CLI."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import icalendar
import pytest
import recurring_ical_events
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from coordination.commands.calendar import COMMANDS, calendar
from coordination.errors import ValidationError
from coordination.interop.ical import CalendarFormatError
from coordination.models import Meeting, MeetingParticipant
from coordination.services import meetings as svc
from tests import factories

SAMPLES = Path("/work/shared/calendars")
HOST = "calendar.test"

# What each real sample must do: how many meetings it creates, or why it is rejected.
EXPECTED = {
    "alarm_etar_future.ics": 1,
    "alarm_google_future.ics": 1,
    "alarm_thunderbird_future.ics": 1,
    "america_new_york_forward_reference.ics": 0,  # skipped: DTSTART given twice
    "big_bad_calendar.ics": "never ended",
    "bom_calendar.ics": 0,
    "broken_dtstart.ics": 0,  # skipped: DTSTART is not a date
    "broken_ical.ics": "broken line",
    "calendar_with_unicode.ics": 0,
    "issue_156_RDATE_with_PERIOD_TZID_khal.ics": 0,  # skipped: no UID
    "issue_722_timezone_transition_ambiguity.ics": 4,
    "pacific_fiji.ics": 0,  # skipped: DTSTART given twice
}

needs_samples = pytest.mark.skipif(not SAMPLES.is_dir(), reason="shared calendar samples missing")


def _count(session) -> int:
    return session.scalar(select(func.count(Meeting.id)))


@needs_samples
def test_every_sample_is_known_to_this_test():
    assert {p.name for p in SAMPLES.glob("*.ics")} == set(EXPECTED)


@needs_samples
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_real_sample_imports_or_is_rejected_with_a_reason(session, name):
    data = (SAMPLES / name).read_bytes()
    expected = EXPECTED[name]
    if isinstance(expected, str):
        with pytest.raises(CalendarFormatError, match=expected):
            svc.import_calendar(session, data, host=HOST)
        assert _count(session) == 0
        return
    report = svc.import_calendar(session, data, host=HOST)
    session.commit()
    assert len(report.created) == expected == _count(session)
    skipped = [reason for _, reason in report.skipped]
    assert all(reason for reason in skipped)
    if expected == 0 and "VEVENT" in data.decode("utf-8-sig"):
        assert skipped, "an event that is not imported must be reported"
    again = svc.import_calendar(session, data, host=HOST)  # never duplicates
    session.commit()
    assert _count(session) == expected
    assert len(again.unchanged) == expected and not again.created and not again.updated


@needs_samples
def test_sample_details_survive_import(session):
    svc.import_calendar(session, (SAMPLES / "alarm_thunderbird_future.ics").read_bytes(), host=HOST)
    meeting = session.scalars(select(Meeting)).one()
    assert meeting.ical_uid == "b9a23b47-f109-4e7a-908c-75e925b27def"
    assert meeting.timezone == "Europe/London"
    assert meeting.starts_at == datetime(2024, 10, 23, 14, 0, tzinfo=UTC)
    assert meeting.reminder_minutes == 15
    report = svc.import_calendar(
        session, (SAMPLES / "issue_722_timezone_transition_ambiguity.ics").read_bytes(), host=HOST
    )
    assert any("MyTimezone" in note for _, note in report.notes)


def test_broken_file_changes_nothing_even_after_good_events(session):
    factories.create_meeting(session)
    session.commit()
    good = b"BEGIN:VEVENT\r\nUID:ok-1\r\nDTSTART:20260101T100000Z\r\nSUMMARY:Fine\r\nEND:VEVENT\r\n"
    broken = b"BEGIN:VEVENT\r\nUID:bad\r\nDTSTART;;X=1:20260101\r\nEND:VEVENT\r\n"
    data = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n" + good + broken + b"END:VCALENDAR\r\n"
    with pytest.raises(CalendarFormatError):
        svc.import_calendar(session, data, host=HOST)
    assert _count(session) == 1


def test_a_failure_after_good_events_rolls_all_of_them_back(engine, monkeypatch):
    # The first event's savepoint must nest in the caller's transaction: on SQLite a
    # savepoint opened outside one commits when released, leaving half an import.
    events = "".join(
        f"BEGIN:VEVENT\r\nUID:ok-{n}@outlook\r\nDTSTART:2026010{n}T100000Z\r\n"
        f"SUMMARY:Event {n}\r\nEND:VEVENT\r\n"
        for n in (1, 2)
    )
    data = f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:test\r\n{events}END:VCALENDAR\r\n"
    linked = []

    def link_then_fail(session, meeting, event):
        linked.append(event.uid)
        if len(linked) == 2:
            raise RuntimeError("the process dies here")
        return []

    monkeypatch.setattr(svc, "_link_attendees", link_then_fail)
    with pytest.raises(RuntimeError), Session(engine) as session, session.begin():
        svc.import_calendar(session, data, host=HOST)
    with Session(engine) as session:
        assert _count(session) == 0


def test_export_imports_back_as_the_same_meetings(session):
    organisation = factories.create_organisation(session)
    person = factories.create_person(session, organisation=organisation)
    meeting = factories.create_meeting(
        session,
        timezone="Europe/Zurich",
        start=datetime(2026, 1, 15, 10),
        end=datetime(2026, 1, 15, 11),
        rrule="FREQ=MONTHLY;BYDAY=3TH;COUNT=6",
        reminder_minutes=10,
    )
    svc.invite(session, meeting, person=person, role="chair")
    svc.cancel_occurrence(session, meeting, datetime(2026, 2, 19, 10))
    svc.move_occurrence(
        session,
        meeting,
        datetime(2026, 3, 19, 10),
        start=datetime(2026, 3, 20, 9),
        end=datetime(2026, 3, 20, 10),
    )
    session.commit()
    data = svc.calendar_for(session, host=HOST)
    report = svc.import_calendar(session, data, host=HOST)
    session.commit()
    assert not report.created and not report.updated and len(report.unchanged) == 2
    assert _count(session) == 1 and meeting.ical_uid is None
    assert svc.calendar_for(session, host=HOST) == data  # nothing moved, not even SEQUENCE
    # Into another installation (another host), it arrives as a copy with its UID kept.
    other = svc.import_calendar(session, data, host="elsewhere.test")
    session.commit()
    assert len(other.created) == 1
    copy = session.scalars(select(Meeting).where(Meeting.ical_uid.is_not(None))).one()
    assert copy.ical_uid == f"meeting-{meeting.id}@{HOST}" and copy.rrule == meeting.rrule
    assert [(o.cancelled, o.starts_at) for o in copy.occurrences] == [
        (o.cancelled, o.starts_at) for o in meeting.occurrences
    ]
    assert [(p.person, p.role.value) for p in copy.participants] == [(person, "chair")]


def test_a_deleted_meetings_export_comes_back_once(session):
    meeting = factories.create_meeting(session)
    session.commit()
    # Exported long ago: the copy made by the import is newer than the file's
    # LAST-MODIFIED, and an identical re-import must still count as unchanged.
    meeting.updated_at = datetime(2026, 1, 1, tzinfo=UTC)
    session.commit()
    data = svc.calendar_for(session, host=HOST, meeting=meeting)
    session.delete(meeting)
    session.commit()
    assert len(svc.import_calendar(session, data, host=HOST).created) == 1
    assert len(svc.import_calendar(session, data, host=HOST).unchanged) == 1
    session.commit()
    (back,) = session.scalars(select(Meeting)).all()
    assert back.ical_uid == f"meeting-{meeting.id}@{HOST}"


def test_reimport_updates_by_uid_and_reports_unknown_attendees(session):
    person = factories.create_person(session, email="known@example.org")
    template = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:test\r\nBEGIN:VEVENT\r\nUID:abc@outlook\r\n"
        "SEQUENCE:{seq}\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:{title}\r\n"
        "DTSTART;TZID=Asia/Dhaka:20260303T100000\r\nDTEND;TZID=Asia/Dhaka:20260303T120000\r\n"
        "CATEGORIES:Training,Gender equality\r\n"
        "ATTENDEE;CN=Known;PARTSTAT=ACCEPTED;ROLE=CHAIR:mailto:KNOWN@example.org\r\n"
        "ATTENDEE;CN=Stranger:mailto:stranger@example.org\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    first = svc.import_calendar(session, template.format(seq=0, title="Draft"), host=HOST)
    session.commit()
    assert len(first.created) == 1
    assert any("stranger@example.org" in note for _, note in first.notes)
    meeting = session.scalars(select(Meeting)).one()
    assert meeting.meeting_type.value == "training"
    assert [t.code for t in meeting.themes] == ["gender-equality"]
    (seat,) = meeting.participants
    assert (seat.person, seat.role.value, seat.rsvp.value) == (person, "chair", "accepted")
    second = svc.import_calendar(session, template.format(seq=1, title="Final"), host=HOST)
    session.commit()
    assert len(second.updated) == 1 and _count(session) == 1
    assert meeting.title == "Final" and meeting.sequence == 1
    assert session.scalar(select(func.count(MeetingParticipant.id))) == 1


def test_text_from_a_file_is_neutralised(session):
    data = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:ctl\r\n"
        "DTSTART;VALUE=DATE:20260324\r\nDTEND;VALUE=DATE:20260327\r\n"
        "SUMMARY:Hội nghị\\, ba bên\x07\r\nDESCRIPTION:a\\nb\x00c\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    svc.import_calendar(session, data, host=HOST)
    meeting = session.scalars(select(Meeting)).one()
    assert meeting.title == "Hội nghị, ba bên"
    assert meeting.description == "a\nbc"
    assert meeting.all_day and (meeting.start_date.day, meeting.end_date.day) == (24, 26)


def test_events_we_cannot_store_are_skipped_one_by_one(session):
    data = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n"
        "BEGIN:VEVENT\r\nUID:ok\r\nDTSTART:20260101T100000Z\r\nSUMMARY:Fine\r\nEND:VEVENT\r\n"
        "BEGIN:VEVENT\r\nUID:rrule\r\nDTSTART:20260101T100000Z\r\nRRULE:FREQ=MINUTELY\r\n"
        "SUMMARY:Too often\r\nEND:VEVENT\r\n"
        "BEGIN:VEVENT\r\nUID:ok\r\nDTSTART:20260102T100000Z\r\nSUMMARY:Twice\r\nEND:VEVENT\r\n"
        "BEGIN:VEVENT\r\nUID:orphan\r\nRECURRENCE-ID:20260101T100000Z\r\n"
        "DTSTART:20260101T120000Z\r\nEND:VEVENT\r\n"
        "END:VCALENDAR\r\n"
    )
    report = svc.import_calendar(session, data, host=HOST)
    assert report.created == ["Fine [ok]"]
    reasons = dict(report.skipped)
    assert "FREQ" in reasons["Too often [rrule]"]
    assert "twice" in reasons["Twice [ok]"]
    assert "series that is not here" in reasons["(no title) [orphan]"]
    assert _count(session) == 1


def test_unknown_default_timezone_is_refused(session):
    with pytest.raises(ValidationError, match="timezone"):
        svc.import_calendar(
            session,
            b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
            host=HOST,
            default_timezone="Mars/Olympus",
        )


# -- CLI ------------------------------------------------------------------------------------


def _cli(db_url: str, *args: str):
    return CliRunner().invoke(calendar, [*args, "--database", db_url, "--host", HOST])


def test_cli_exports_a_persons_calendar_to_a_file(session, db_url, tmp_path):
    organisation = factories.create_organisation(session, acronym="VGCL")
    person = factories.create_person(
        session, email="lan@vgcl.example.org", organisation=organisation
    )
    body = factories.create_body(session, name="Regional Gender Taskforce")
    meeting = factories.create_meeting(session, title="Taskforce", body=body)
    svc.invite(session, meeting, person=person)
    factories.create_meeting(session, title="Someone else's")
    session.commit()
    out = tmp_path / "lan.ics"
    result = _cli(db_url, "export", "--person", "LAN@vgcl.example.org", "-o", str(out))
    assert result.exit_code == 0, result.output
    calendar_data = icalendar.Calendar.from_ical(out.read_bytes())
    assert [str(e["SUMMARY"]) for e in calendar_data.events] == ["Taskforce"]
    for option, value in (("--organisation", "vgcl"), ("--body", "Regional Gender Taskforce")):
        result = _cli(db_url, "export", option, value)
        assert result.exit_code == 0, result.output
        events = recurring_ical_events.of(icalendar.Calendar.from_ical(result.stdout_bytes)).all()
        assert [str(e["SUMMARY"]) for e in events] == ["Taskforce"]
    everything = _cli(db_url, "export")
    assert everything.stdout_bytes.count(b"BEGIN:VEVENT") == 2
    one = _cli(db_url, "export", "--meeting", str(meeting.id), "--reminder", "15")
    (event,) = icalendar.Calendar.from_ical(one.stdout_bytes).events
    assert event["UID"] == f"meeting-{meeting.id}@{HOST}" and event.walk("VALARM")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["export", "--person", "nobody@example.org"], "no person"),
        (["export", "--organisation", "NOPE"], "no organisation"),
        (["export", "--body", "Nope"], "no body"),
        (["export", "--meeting", "999"], "no meeting #999"),
        (["export", "--person", "a@b.c", "--body", "x"], "at most one"),
    ],
)
def test_cli_export_errors_are_one_line(db_url, args, message):
    result = _cli(db_url, *args)
    assert result.exit_code != 0
    assert message in result.output and "Traceback" not in result.output


@needs_samples
def test_cli_import_reports_and_rejects(session, db_url):
    result = _cli(db_url, "import", str(SAMPLES / "alarm_google_future.ics"))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("1 created, 0 updated, 0 unchanged, 0 skipped")
    skipped = _cli(db_url, "import", str(SAMPLES / "pacific_fiji.ics"))
    assert (
        "skipped an event with a custom tz name [noend123]: DTSTART is given 2 times"
        in skipped.output
    )
    broken = _cli(db_url, "import", str(SAMPLES / "broken_ical.ics"))
    assert broken.exit_code == 1 and "Error: file: broken line" in broken.output
    session.expire_all()
    assert _count(session) == 1


def test_commands_are_exported_for_registration():
    assert COMMANDS == [calendar]
    assert set(calendar.commands) == {"export", "import"}


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(title=st.text(min_size=1), description=st.text())
def test_any_text_survives_save_export_and_import(session, title, description):
    from coordination.interop.ical import clean_line

    if not clean_line(title):
        return  # a title of nothing but spaces and controls is refused; tested elsewhere
    with session.begin_nested() as savepoint:
        meeting = factories.create_meeting(session, title=title, description=description)
        assert meeting.title == clean_line(title)
        data = svc.calendar_for(session, host=HOST, meeting=meeting)
        svc.import_calendar(session, data, host="elsewhere.test")
        copy = session.scalars(select(Meeting).where(Meeting.ical_uid.is_not(None))).one()
        assert copy.title == meeting.title
        assert copy.description == meeting.description
        savepoint.rollback()


def test_reimporting_the_whole_demo_export_changes_nothing(session):
    import yaml

    data = Path(__file__).parents[2] / "fixtures" / "demo" / "meetings.yaml"
    svc.load_meetings(session, yaml.safe_load(data.read_text(encoding="utf-8"))["calendar"])
    session.commit()
    exported = svc.calendar_for(session, host=HOST)
    report = svc.import_calendar(session, exported, host=HOST)
    session.commit()
    assert not report.created and not report.updated and not report.skipped
    assert len(report.unchanged) == exported.count(b"BEGIN:VEVENT")
    assert svc.calendar_for(session, host=HOST) == exported


def test_an_older_copy_never_overwrites_a_newer_one(session):
    def invitation(sequence: int, title: str, modified: str) -> str:
        return (
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Google Inc//EN\r\nBEGIN:VEVENT\r\n"
            f"UID:inv@google.com\r\nSEQUENCE:{sequence}\r\nSUMMARY:{title}\r\n"
            f"LAST-MODIFIED:{modified}\r\nDTSTAMP:{modified}\r\n"
            "DTSTART:20260601T080000Z\r\nDTEND:20260601T090000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
        )

    svc.import_calendar(session, invitation(2, "Current", "20260501T000000Z"), host=HOST)
    session.commit()
    old = svc.import_calendar(session, invitation(1, "Stale", "20260401T000000Z"), host=HOST)
    assert "older than the version stored here (SEQUENCE 1 < 2)" in dict(old.skipped).values()
    again = svc.import_calendar(session, invitation(2, "Current", "20260501T000000Z"), host=HOST)
    assert again.unchanged == ["Current [inv@google.com]"]
    newer = svc.import_calendar(session, invitation(3, "Moved", "20260502T000000Z"), host=HOST)
    session.commit()
    assert newer.updated == ["Moved [inv@google.com]"]
    meeting = session.scalars(select(Meeting)).one()
    assert (meeting.title, meeting.sequence) == ("Moved", 3)
