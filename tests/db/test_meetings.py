"""Meeting services: scheduling, series, participants, attendance, action items, minutes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import func, select

from coordination.errors import ValidationError
from coordination.models import ActionItem, Meeting, MeetingOccurrence
from coordination.services import meetings as svc
from coordination.vocab import ActionStatus, Constituency, MeetingStatus, Sex, StakeholderType
from tests import factories

DEMO = Path(__file__).parents[2] / "fixtures" / "demo" / "meetings.yaml"
ZURICH = ZoneInfo("Europe/Zurich")


def test_local_times_are_stored_as_utc_with_their_zone(session):
    meeting = factories.create_meeting(
        session,
        timezone="Asia/Phnom_Penh",
        start=datetime(2026, 5, 5, 14, 0),
        end=datetime(2026, 5, 5, 15, 30),
    )
    session.commit()
    session.expire_all()
    assert meeting.starts_at == datetime(2026, 5, 5, 7, 0, tzinfo=UTC)
    assert meeting.local_start.hour == 14 and meeting.timezone == "Asia/Phnom_Penh"
    assert not meeting.all_day and meeting.sequence == 0


def test_all_day_meeting_spans_its_dates_in_its_zone(session):
    meeting = factories.create_meeting(
        session, timezone="Asia/Bangkok", start_date=date(2026, 3, 24), end_date=date(2026, 3, 26)
    )
    assert meeting.all_day
    assert meeting.starts_at == datetime(2026, 3, 23, 17, 0, tzinfo=UTC)
    assert meeting.ends_at == datetime(2026, 3, 26, 17, 0, tzinfo=UTC)  # exclusive
    assert (meeting.start_date, meeting.end_date) == (date(2026, 3, 24), date(2026, 3, 26))


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"timezone": "Europe/Geneva"}, "timezone"),
        ({"start": datetime(2026, 1, 2, 10), "end": datetime(2026, 1, 2, 9)}, "end"),
        ({"start_date": date(2026, 1, 3), "end_date": date(2026, 1, 2)}, "end_date"),
        ({"title": " \x00 "}, "title"),
        ({"title": "x" * 301}, "title"),
        ({"rrule": "FREQ=HOURLY"}, "rrule"),
        ({"rrule": "FREQ=MONTHLY;BYDAY=1XX"}, "rrule"),
        ({"rrule": "FREQ=WEEKLY;COUNT=2;UNTIL=20270101T000000Z"}, "rrule"),
        ({"meeting_type": "party"}, "meeting_type"),
        ({"status": "maybe"}, "status"),
        ({"country_code": "XX"}, "country"),
        ({"reminder_minutes": -5}, "reminder_minutes"),
    ],
)
def test_bad_meetings_get_field_errors_and_nothing_is_written(session, overrides, field):
    with pytest.raises(ValidationError) as error:
        factories.create_meeting(session, **overrides)
    assert field in error.value.errors
    assert session.scalar(select(func.count(Meeting.id))) == 0


def test_text_is_cleaned_of_control_characters(session):
    meeting = factories.create_meeting(
        session, title="Taskforce\x00\n ឆ្នាំ\x1b", description="line 1\r\nline 2\rline 3\x07"
    )
    assert meeting.title == "Taskforce  ឆ្នាំ"
    assert meeting.description == "line 1\nline 2\nline 3"


def test_every_edit_raises_sequence_once_per_transaction(session):
    meeting = factories.create_meeting(session)
    person = factories.create_person(session)
    svc.invite(session, meeting, person=person)
    session.commit()
    assert meeting.sequence == 0  # created and filled in one transaction: one revision
    svc.update_meeting(session, meeting, title="Renamed")
    svc.update_meeting(session, meeting, venue="BIAM")
    session.commit()
    assert meeting.sequence == 1
    version = meeting.version
    svc.record_rsvp(session, meeting.participants[0], "accepted")  # a part changes
    session.commit()
    assert meeting.sequence == 2 and meeting.version > version


def test_rrule_is_canonical_and_local_until_becomes_utc(session):
    meeting = factories.create_meeting(
        session,
        timezone="Asia/Bangkok",
        start=datetime(2026, 5, 5, 14),
        end=datetime(2026, 5, 5, 15),
        rrule="RRULE:freq=monthly;byday=1TU;until=20261231T140000",
    )
    assert meeting.rrule == "FREQ=MONTHLY;UNTIL=20261231T070000Z;BYDAY=1TU"
    found = svc.occurrences(
        meeting, datetime(2026, 1, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC)
    )
    assert [o.starts_at.astimezone(meeting.zone).date() for o in found][-1] == date(2026, 12, 1)


def _webinars(session):
    return factories.create_meeting(
        session,
        timezone="Europe/Zurich",
        start=datetime(2026, 1, 15, 10),
        end=datetime(2026, 1, 15, 11, 30),
        rrule="FREQ=MONTHLY;BYDAY=3TH;COUNT=12",
    )


def test_series_keeps_local_time_across_daylight_saving_and_applies_exceptions(session):
    meeting = _webinars(session)
    svc.cancel_occurrence(session, meeting, date(2026, 4, 16), note="Easter week")
    svc.move_occurrence(
        session,
        meeting,
        datetime(2026, 10, 15, 10),
        start=datetime(2026, 10, 29, 14),
        end=datetime(2026, 10, 29, 15, 30),
    )
    session.commit()
    found = svc.occurrences(
        meeting, datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
    )
    local = [o.starts_at.astimezone(ZURICH) for o in found]
    assert len(found) == 11
    assert date(2026, 4, 16) not in [d.date() for d in local]
    assert local[8] == datetime(2026, 10, 29, 14, tzinfo=ZURICH) and found[8].moved
    assert {d.hour for i, d in enumerate(local) if i != 8} == {10}
    assert found[2].starts_at.hour == 9 and found[3].starts_at.hour == 8  # UTC+1, then UTC+2


@pytest.mark.parametrize(
    "original",
    [date(2026, 4, 17), datetime(2026, 4, 16, 11, 0)],
    ids=["not-a-rule-date", "wrong-time"],
)
def test_exceptions_must_fall_on_an_occurrence(session, original):
    meeting = _webinars(session)
    with pytest.raises(ValidationError, match="no occurrence"):
        svc.cancel_occurrence(session, meeting, original)
    assert session.scalar(select(func.count(MeetingOccurrence.id))) == 0


def test_exceptions_need_a_series_and_can_be_restored(session):
    single = factories.create_meeting(session)
    with pytest.raises(ValidationError, match="not a recurring series"):
        svc.cancel_occurrence(session, single, date(2026, 3, 3))
    meeting = _webinars(session)
    svc.cancel_occurrence(session, meeting, date(2026, 2, 19))
    with pytest.raises(ValidationError, match="restore them first"):
        svc.update_meeting(
            session, meeting, start=datetime(2026, 1, 15, 11), end=datetime(2026, 1, 15, 12)
        )
    with pytest.raises(ValidationError, match="not in the new rule"):
        svc.update_meeting(
            session, meeting, title="Never saved", rrule="FREQ=MONTHLY;BYDAY=3TH;COUNT=1"
        )
    assert meeting.rrule == "FREQ=MONTHLY;COUNT=12;BYDAY=3TH"  # a refused change changes nothing
    assert meeting.title != "Never saved"
    svc.restore_occurrence(session, meeting, date(2026, 2, 19))
    assert meeting.occurrences == []
    svc.cancel_occurrence(session, meeting, date(2026, 3, 19))
    svc.update_meeting(session, meeting, rrule=None)  # no longer a series: no exceptions
    assert meeting.occurrences == [] and meeting.rrule is None


def test_inviting_twice_changes_the_role_instead_of_duplicating(session):
    meeting = factories.create_meeting(session)
    person = factories.create_person(session)
    first = svc.invite(session, meeting, person=person)
    again = svc.invite(session, meeting, person=person, role="chair")
    assert first is again and len(meeting.participants) == 1
    assert again.role.value == "chair"
    with pytest.raises(ValidationError, match="person or an organisation"):
        svc.invite(session, meeting)


def _constituent(session, kind: StakeholderType, sex: Sex):
    organisation = factories.create_organisation(session, stakeholder_type=kind)
    return factories.create_person(session, organisation=organisation, sex=sex)


def test_attendance_is_disaggregated_by_sex_and_constituency(session):
    meeting = factories.create_meeting(session)
    gov = _constituent(session, StakeholderType.GOVERNMENT, Sex.FEMALE)
    emp = _constituent(session, StakeholderType.EMPLOYERS_ORGANISATION, Sex.MALE)
    wrk = _constituent(session, StakeholderType.WORKERS_ORGANISATION, Sex.FEMALE)
    ngo = _constituent(session, StakeholderType.NGO, Sex.NOT_STATED)
    seats = [svc.invite(session, meeting, person=p) for p in (gov, emp, wrk, ngo)]
    before = svc.attendance_summary(meeting)
    assert before.counted == "invited" and before.tripartite_balanced
    for seat, came in zip(seats, (True, False, True, True), strict=True):
        svc.record_attendance(session, seat, came)
    after = svc.attendance_summary(meeting)
    assert after.counted == "attended" and after.attended == 3 and after.invited == 4
    assert after.by_sex == {"female": 2, "male": 0, "other": 0, "not_stated": 1}
    assert after.by_constituency == {"government": 1, "employers": 0, "workers": 1, "other": 1}
    assert not after.tripartite_balanced
    assert after.missing_constituencies == ("employers",)


def test_tripartite_balance_needs_comparable_delegations(session):
    meeting = factories.create_meeting(session)
    for kind, n in (
        (StakeholderType.GOVERNMENT, 5),
        (StakeholderType.EMPLOYERS_ORGANISATION, 1),
        (StakeholderType.WORKERS_ORGANISATION, 2),
    ):
        for _ in range(n):
            svc.invite(session, meeting, person=_constituent(session, kind, Sex.FEMALE))
    summary = svc.attendance_summary(meeting)
    assert summary.missing_constituencies == () and not summary.tripartite_balanced
    assert svc.attendance_summary(meeting, max_ratio=5).tripartite_balanced


def test_organisation_seat_counts_for_its_constituency(session):
    meeting = factories.create_meeting(session)
    union = factories.create_organisation(
        session, stakeholder_type=StakeholderType.WORKERS_ORGANISATION
    )
    assert union.constituency is Constituency.WORKERS
    svc.invite(session, meeting, organisation=union)
    assert svc.attendance_summary(meeting).by_constituency["workers"] == 1


def test_open_action_items_per_person_and_organisation_overdue_first(session):
    meeting = factories.create_meeting(session)
    organisation = factories.create_organisation(session)
    member = factories.create_person(session, organisation=organisation)
    other = factories.create_person(session)
    late = svc.add_action_item(
        session, meeting, "Send data", owner_person=member, due_date=date(2026, 5, 1)
    )
    soon = svc.add_action_item(
        session, meeting, "Draft ToR", owner_organisation=organisation, due_date=date(2026, 7, 1)
    )
    done = svc.add_action_item(
        session, meeting, "Book venue", owner_person=member, due_date=date(2026, 4, 1)
    )
    svc.complete_action_item(session, done, on=date(2026, 3, 30))
    svc.add_action_item(session, meeting, "Other's task", owner_person=other)
    today = date(2026, 6, 1)
    mine = svc.open_action_items(session, person=member, today=today)
    assert [a.item for a in mine] == [late] and mine[0].overdue and mine[0].days_overdue == 31
    theirs = svc.open_action_items(session, organisation=organisation, today=today)
    assert [(a.item, a.overdue) for a in theirs] == [(late, True), (soon, False)]
    assert done.status is ActionStatus.DONE and done.completed_on == date(2026, 3, 30)
    with pytest.raises(ValidationError, match="owner"):
        svc.add_action_item(session, meeting, "Nobody's")


def test_minutes_compile_across_a_series_oldest_first(session):
    first = factories.create_meeting(
        session, start=datetime(2026, 1, 6, 14), end=datetime(2026, 1, 6, 15), minutes="Kick-off."
    )
    second = factories.create_meeting(
        session, start=datetime(2026, 2, 3, 14), end=datetime(2026, 2, 3, 15), status="cancelled"
    )
    third = factories.create_meeting(
        session, start_date=date(2026, 3, 3), title="Third", minutes="Review."
    )
    svc.add_decision(session, third, "Adopt the plan.")
    svc.add_action_item(
        session,
        third,
        "Circulate the plan",
        owner_person=factories.create_person(session, name="Chan Sophea"),
        due_date=date(2026, 3, 31),
    )
    text = svc.compile_minutes([third, second, first])
    assert text.index(first.title) < text.index(second.title) < text.index("Third")
    assert "_Cancelled._" in text and "1. Adopt the plan." in text
    assert "- [ ] Circulate the plan (Chan Sophea, due 31 Mar 2026; open)" in text
    assert "14:00 (Asia/Dhaka)" in text


def _load_demo(session):
    return svc.load_meetings(session, yaml.safe_load(DEMO.read_text(encoding="utf-8"))["calendar"])


def test_demo_meetings_load_idempotently_with_what_the_issue_asks_for(session):
    assert _load_demo(session) == {"meetings": 9, "skipped": 0}
    session.commit()
    assert _load_demo(session) == {"meetings": 0, "skipped": 9}
    meetings = {m.ical_uid: m for m in session.scalars(select(Meeting))}
    regional = [m for m in meetings.values() if m.meeting_type.value == "regional_tripartite"]
    assert len(regional) == 2 and all(m.all_day for m in regional)
    series = meetings["demo-rgt-monthly@coordination.demo"]
    assert series.body.name == "Regional Gender Taskforce for the Garment Sector"
    assert [o.cancelled for o in series.occurrences] == [True, False]
    zones = {m.timezone for m in meetings.values() if m.meeting_type.value == "training"}
    assert zones == {"Asia/Dhaka", "Asia/Phnom_Penh", "Asia/Ho_Chi_Minh"}
    first = meetings["demo-rtpm-1@coordination.demo"]
    summary = svc.attendance_summary(first)
    assert summary.counted == "attended" and summary.tripartite_balanced
    assert summary.by_sex["female"] > 0 and summary.by_constituency["workers"] > 0
    assert session.scalar(
        select(func.count(ActionItem.id)).where(ActionItem.status == ActionStatus.OPEN)
    )
    assert first.status is MeetingStatus.HELD and first.decisions


def test_demo_loader_reports_unknown_references(session):
    data = {
        "meetings": [
            {
                "uid": "x@demo",
                "title": "X",
                "type": "other",
                "start": "2026-01-01 10:00",
                "end": "2026-01-01 11:00",
                "organiser": "NOPE",
            }
        ]
    }
    with pytest.raises(Exception, match="NOPE"):
        svc.load_meetings(session, data)
