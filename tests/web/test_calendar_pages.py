"""The calendar pages: the calendar and its events, a meeting's page, action items, and
calendar import through the upload page."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from admin.extensions import db
from coordination.models import AuditEntry, Meeting
from coordination.services import meetings as svc
from coordination.vocab import Sex, StakeholderType
from tests import factories
from tests.web.conftest import csrf_token

SAMPLES = Path("/work/shared/calendars")
needs_samples = pytest.mark.skipif(not SAMPLES.is_dir(), reason="shared calendar samples missing")

GOOD_ICS = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//Test//Upload//EN\r
BEGIN:VEVENT\r
UID:upload-1@example.org\r
DTSTAMP:20260101T000000Z\r
DTSTART;TZID=Asia/Phnom_Penh:20260410T090000\r
DTEND;TZID=Asia/Phnom_Penh:20260410T120000\r
SUMMARY:Ph\xe1\xba\xa1m Penh leaders' training\r
CATEGORIES:Training\r
END:VEVENT\r
BEGIN:VEVENT\r
DTSTAMP:20260101T000000Z\r
DTSTART:20260411T090000Z\r
SUMMARY:No UID here\r
END:VEVENT\r
END:VCALENDAR\r
"""


@pytest.fixture
def taskforce(data: Session):
    """A monthly series (first Tuesday, 10:00 Dhaka) with one cancelled and one moved
    occurrence, a three-day regional meeting and a meeting elsewhere."""
    body = factories.create_body(data, name="Regional Gender Taskforce")
    gender = factories.theme(data, "gender-equality")
    series = factories.create_meeting(
        data,
        title="Gender taskforce",
        body=body,
        themes=[gender],
        country_code="BD",
        start=datetime(2026, 3, 3, 10),
        end=datetime(2026, 3, 3, 11, 30),
        rrule="FREQ=MONTHLY;BYDAY=1TU;COUNT=6",
    )
    svc.cancel_occurrence(data, series, date(2026, 4, 7))
    svc.move_occurrence(
        data,
        series,
        date(2026, 5, 5),
        start=datetime(2026, 5, 6, 14),
        end=datetime(2026, 5, 6, 15, 30),
    )
    regional = factories.create_meeting(
        data,
        title="Regional tripartite-plus meeting",
        timezone="Asia/Phnom_Penh",
        country_code="KH",
        start_date=date(2026, 3, 17),
        end_date=date(2026, 3, 19),
    )
    elsewhere = factories.create_meeting(data, title="Other meeting", country_code="VN")
    data.commit()
    return {
        "body": body,
        "theme": gender,
        "series": series,
        "regional": regional,
        "other": elsewhere,
    }


def events(client, **params):
    query = {"start": "2026-02-23T00:00:00+06:00", "end": "2026-06-08T00:00:00+06:00", **params}
    response = client.get("/admin/calendar/events", query_string=query)
    assert response.status_code == 200, response.text
    return response.get_json()


# -- the calendar page -------------------------------------------------------------------


def test_calendar_page_loads_vendored_fullcalendar(client_as, taskforce):
    page = client_as("partner").get("/admin/calendar/")
    assert page.status_code == 200
    assert "/static/vendor/fullcalendar/index.global.min.js" in page.text
    assert "/static/coordination/calendar.js" in page.text
    assert not re.search(r"<script[^>]+src=\"https?://", page.text)  # no CDN
    assert 'data-events-url="/admin/calendar/events"' in page.text
    assert "Regional Gender Taskforce" in page.text  # the body filter offers it
    assert '<option value="KH"' in page.text  # countries with meetings
    script = client_as("partner").get("/static/vendor/fullcalendar/index.global.min.js")
    assert script.status_code == 200 and b"FullCalendar" in script.data[:200]
    script.close()


def test_calendar_needs_login(client):
    for path in ("/admin/calendar/", "/admin/calendar/events?start=2026-01-01&end=2026-02-01"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_events_expand_the_series_with_its_exceptions(client_as, taskforce):
    found = events(client_as("donor"))
    series = sorted(e["start"] for e in found if e["title"] == "Gender taskforce")
    # First Tuesdays March to June 2026, 10:00 Dhaka; 7 April cancelled; 5 May moved to
    # 6 May 14:00.
    assert series == [
        "2026-03-03T10:00:00+06:00",
        "2026-05-06T14:00:00+06:00",
        "2026-06-02T10:00:00+06:00",
    ]
    (moved,) = [e for e in found if e["start"].startswith("2026-05-06")]
    assert moved["extendedProps"]["moved"] is True
    assert "meeting-moved" in moved["classNames"]
    assert moved["url"] == f"/admin/calendar/meeting/{taskforce['series'].id}"


def test_multi_day_meeting_is_one_all_day_event_over_its_dates(client_as, taskforce):
    (regional,) = [e for e in events(client_as("donor")) if e["title"].startswith("Regional")]
    assert regional["allDay"] is True
    assert (regional["start"], regional["end"]) == ("2026-03-17", "2026-03-20")
    assert regional["extendedProps"]["local"] == "17 Mar 2026 – 19 Mar 2026"


def test_events_only_in_the_requested_range(client_as, taskforce):
    found = events(
        client_as("donor"), start="2026-06-01T00:00:00+06:00", end="2026-06-30T00:00:00+06:00"
    )
    assert [e["start"] for e in found] == ["2026-06-02T10:00:00+06:00"]


@pytest.mark.parametrize(
    ("filter_name", "expected"),
    [
        ("body", {"Gender taskforce"}),
        ("theme", {"Gender taskforce"}),
        ("country", {"Regional tripartite-plus meeting"}),
        ("organisation", {"Other meeting"}),
    ],
)
def test_events_filters(client_as, taskforce, data, filter_name, expected):
    organisation = factories.create_organisation(data, acronym="CCC")
    svc.invite(data, data.merge(taskforce["other"]), organisation=organisation)
    data.commit()
    value = {
        "body": taskforce["body"].id,
        "theme": taskforce["theme"].id,
        "country": "kh",
        "organisation": organisation.id,
    }[filter_name]
    found = events(client_as("partner"), **{filter_name: value})
    assert {e["title"] for e in found} == expected


@pytest.mark.parametrize(
    "params",
    [
        {"start": "2026-01-01"},
        {"start": "yesterday", "end": "2026-02-01"},
        {"start": "2026-02-01", "end": "2026-01-01"},
        {"start": "2020-01-01", "end": "2026-01-01"},
        {"start": "2026-01-01", "end": "2026-02-01", "body": "x"},
        {"start": "2026-01-01", "end": "2026-02-01", "country": "Bangladesh"},
    ],
)
def test_events_refuse_bad_parameters(client_as, params):
    response = client_as("donor").get("/admin/calendar/events", query_string=params)
    assert response.status_code == 400


def test_events_query_count_does_not_grow_with_meetings(app, client_as, data, taskforce):
    client = client_as("manager")

    def count() -> tuple[int, int]:
        statements: list[str] = []
        with app.app_context():
            engine = db.engine

        def record(*args):
            statements.append(args[2])

        event.listen(engine, "before_cursor_execute", record)
        try:
            found = events(client)
        finally:
            event.remove(engine, "before_cursor_execute", record)
        return len(statements), len(found)

    before, shown_before = count()
    for n in range(8):
        series = factories.create_meeting(
            data,
            title=f"Series {n}",
            body=taskforce["body"],
            country_code="KH",
            start=datetime(2026, 3, 2 + n, 9),
            end=datetime(2026, 3, 2 + n, 10),
            rrule="FREQ=WEEKLY;COUNT=10",
        )
        svc.cancel_occurrence(data, series, date(2026, 3, 9 + n))
    data.commit()
    after, shown_after = count()
    assert shown_after == shown_before + 8 * 9
    assert after == before


# -- a meeting's page --------------------------------------------------------------------


@pytest.fixture
def held_meeting(data: Session):
    ministry = factories.create_organisation(
        data, acronym="MoL", stakeholder_type=StakeholderType.GOVERNMENT
    )
    employers = factories.create_organisation(
        data, acronym="BGMEA", stakeholder_type=StakeholderType.EMPLOYERS_ORGANISATION
    )
    union = factories.create_organisation(
        data, acronym="NGWF", stakeholder_type=StakeholderType.WORKERS_ORGANISATION
    )
    people = [
        factories.create_person(data, name="Rahima", sex=Sex.FEMALE, organisation=ministry),
        factories.create_person(
            data, name="Karim", sex=Sex.MALE, organisation=employers, email="karim@bgmea.example"
        ),
        factories.create_person(data, name="Shila", sex=Sex.FEMALE, organisation=union),
        factories.create_person(data, name="Absent", sex=Sex.MALE, organisation=union),
    ]
    meeting = factories.create_meeting(
        data,
        title="Tripartite <review>",
        agenda="1. Wages\n2. Safety",
        minutes="Agreed to meet again.",
        status="held",
    )
    for person in people:
        participant = svc.invite(data, meeting, person=person)
        svc.record_attendance(data, participant, person.name != "Absent")
    svc.add_decision(data, meeting, "Adopt the wage roadmap")
    svc.add_action_item(
        data, meeting, "Send the draft", owner_person=people[1], due_date=date(2020, 1, 31)
    )
    svc.add_action_item(
        data, meeting, "Circulate minutes", owner_organisation=union, due_date=date(2099, 1, 1)
    )
    data.commit()
    return meeting


def test_meeting_page_shows_everything(client_as, held_meeting):
    page = client_as("manager").get(f"/admin/calendar/meeting/{held_meeting.id}")
    assert page.status_code == 200
    text = page.text
    assert "Tripartite &lt;review&gt;" in text  # escaped
    assert f'href="/admin/calendar/meeting/{held_meeting.id}.ics"' in text
    assert 'data-balanced="yes"' in text
    assert 'data-constituency="government">1<' in text
    assert 'data-constituency="employers">1<' in text
    assert 'data-constituency="workers">1<' in text
    assert 'data-sex="female">2<' in text and 'data-sex="male">1<' in text
    assert "4 invited, 3 attended" in text
    assert "Adopt the wage roadmap" in text
    assert "1. Wages" in text and "Agreed to meet again." in text
    assert text.count("table-danger overdue") == 1  # the 2020 item, not the 2099 one
    assert "karim@bgmea.example" in text  # managers see contact addresses
    assert "/admin/meeting/edit/" in text


def test_meeting_page_flags_an_unbalanced_delegation(client_as, held_meeting, data):
    for participant in held_meeting.participants:
        if participant.person.name == "Shila":
            svc.record_attendance(data, data.merge(participant), False)
    data.commit()
    page = client_as("donor").get(f"/admin/calendar/meeting/{held_meeting.id}")
    assert 'data-balanced="no"' in page.text
    assert "missing: workers" in page.text
    assert "karim@bgmea.example" not in page.text  # donors do not see contacts
    assert "/admin/meeting/edit/" not in page.text


def test_meeting_page_of_a_series_lists_exceptions(client_as, taskforce):
    page = client_as("partner").get(f"/admin/calendar/meeting/{taskforce['series'].id}")
    assert page.status_code == 200
    assert "Repeats:" in page.text and "BYDAY=1TU" in page.text
    assert "07 Apr 2026, 10:00:" in page.text and "cancelled" in page.text
    assert "moved to 06 May 2026, 14:00" in page.text


def test_unknown_meeting_is_404(client_as):
    assert client_as("partner").get("/admin/calendar/meeting/999999").status_code == 404


# -- action items ------------------------------------------------------------------------


def test_action_items_per_person_and_organisation_overdue_first(client_as, held_meeting):
    page = client_as("partner").get("/admin/action-items/")
    assert page.status_code == 200
    assert '2 open, <strong class="text-danger">1 overdue</strong>' in page.text
    person_part = page.text.split('id="per-person"')[1].split('id="per-organisation"')[0]
    organisation_part = page.text.split('id="per-organisation"')[1]
    assert "Karim" in person_part and "Send the draft" in person_part
    assert "Circulate minutes" not in person_part  # owned by an organisation only
    # The employer's list holds its person's item; the union's, its own.
    assert organisation_part.index("BGMEA") < organisation_part.index("NGWF")
    assert "days overdue" in organisation_part
    assert page.text.count("table-danger overdue") == 2  # once per person, once per org


def test_action_items_filtered_by_organisation(client_as, held_meeting, data):
    union = held_meeting.action_items[1].owner_organisation
    page = client_as("partner").get(f"/admin/action-items/?organisation={union.id}")
    assert "Circulate minutes" in page.text
    assert "Send the draft" not in page.text
    assert client_as("partner").get("/admin/action-items/?organisation=x").status_code == 400


def test_done_items_are_not_listed(client_as, held_meeting, data):
    item = data.merge(held_meeting.action_items[0])
    svc.complete_action_item(data, item)
    data.commit()
    page = client_as("manager").get("/admin/action-items/")
    assert "Send the draft" not in page.text
    assert "table-danger" not in page.text


# -- calendar import ---------------------------------------------------------------------


def _upload(client, content: bytes, name: str = "calendar.ics", timezone: str = "UTC"):
    from io import BytesIO

    return client.post(
        "/admin/calendar-import/",
        data={
            "csrf_token": csrf_token(client, "/admin/calendar-import/"),
            "step": "preview",
            "timezone": timezone,
            "file": (BytesIO(content), name),
        },
        content_type="multipart/form-data",
    )


def _confirm(client, preview_html: str):
    fields = dict(re.findall(r'name="(content|digest|timezone)"[^>]*value="([^"]*)"', preview_html))
    return client.post(
        "/admin/calendar-import/",
        data={
            "csrf_token": csrf_token(client, "/admin/calendar-import/"),
            "step": "import",
            **fields,
        },
    )


def _meetings(data: Session) -> int:
    data.expire_all()
    return data.scalar(select(func.count(Meeting.id))) or 0


def test_import_previews_then_imports(client_as, data):
    client = client_as("manager")
    audit_before = data.scalar(select(func.count(AuditEntry.id)))
    preview = _upload(client, GOOD_ICS)
    assert preview.status_code == 200
    assert "Preview: 1 created, 0 updated, 0 unchanged, 1 skipped" in preview.text
    assert "Phạm Penh leaders&#39; training" in preview.text
    assert "No UID here" in preview.text and "UID" in preview.text.split('id="skipped"')[1]
    assert _meetings(data) == 0  # a preview writes nothing, not even audit rows
    assert data.scalar(select(func.count(AuditEntry.id))) == audit_before
    done = _confirm(client, preview.text)
    assert done.status_code == 200
    assert "Imported: 1 created" in done.text
    assert _meetings(data) == 1
    meeting = data.scalars(select(Meeting)).one()
    assert meeting.ical_uid == "upload-1@example.org"
    assert meeting.timezone == "Asia/Phnom_Penh"
    assert meeting.local_start.hour == 9
    # The same file again: nothing new.
    again = _upload(client, GOOD_ICS)
    assert "0 created, 0 updated, 1 unchanged" in again.text or "0 created, 1 updated" in again.text
    _confirm(client, again.text)
    assert _meetings(data) == 1


def test_broken_file_shows_an_error_and_changes_nothing(client_as, data):
    client = client_as("manager")
    response = _upload(client, b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nthis is not a line\r\n")
    assert response.status_code == 200
    assert 'id="import-error"' in response.text
    assert "Nothing was imported." in response.text
    assert 'id="confirm-import"' not in response.text
    assert _meetings(data) == 0
    assert "Choose an .ics file" in _upload(client, b"", name="").text
    assert "The file is empty." in _upload(client, b"   \r\n").text


@needs_samples
def test_real_broken_sample_is_refused(client_as, data):
    client = client_as("manager")
    response = _upload(client, (SAMPLES / "broken_ical.ics").read_bytes())
    assert 'id="import-error"' in response.text
    assert _meetings(data) == 0


@needs_samples
def test_real_google_sample_imports(client_as, data):
    client = client_as("manager")
    preview = _upload(client, (SAMPLES / "alarm_google_future.ics").read_bytes())
    assert 'id="confirm-import"' in preview.text
    _confirm(client, preview.text)
    assert _meetings(data) >= 1


def test_tampered_preview_is_refused(client_as, data):
    client = client_as("manager")
    preview = _upload(client, GOOD_ICS)
    other = GOOD_ICS.replace(b"upload-1", b"upload-2")
    tampered = preview.text.replace(
        base64.b64encode(GOOD_ICS).decode(), base64.b64encode(other).decode()
    )
    response = _confirm(client, tampered)
    assert "did not come back intact" in response.text
    assert _meetings(data) == 0
    assert hashlib.sha256(GOOD_ICS).hexdigest() in preview.text


def test_import_needs_csrf(client_as, data):
    client = client_as("manager")
    response = client.post(
        "/admin/calendar-import/", data={"step": "import", "content": "", "digest": ""}
    )
    assert response.status_code == 400
    assert _meetings(data) == 0


@pytest.mark.parametrize("role", ["partner", "donor"])
def test_only_managers_import(client_as, role):
    client = client_as(role)
    assert client.get("/admin/calendar-import/").status_code == 403
    response = client.post("/admin/calendar-import/", data={"step": "preview"})
    assert response.status_code in (400, 403)


def test_calendar_menu_for_each_role(client_as):
    manager = client_as("manager").get("/admin/").text
    partner = client_as("partner").get("/admin/").text
    for text in (manager, partner):
        assert "/admin/calendar/" in text and "/admin/action-items/" in text
        assert "/admin/my-feed/" in text
    assert "/admin/calendar-import/" in manager
    assert "/admin/calendar-import/" not in partner


def test_today_is_not_overdue(client_as, data):
    meeting = factories.create_meeting(data)
    person = factories.create_person(data, name="Due today")
    svc.add_action_item(data, meeting, "Due now", owner_person=person, due_date=date.today())
    svc.add_action_item(
        data, meeting, "Due yesterday", owner_person=person, due_date=date.today() - timedelta(1)
    )
    data.commit()
    page = client_as("manager").get("/admin/action-items/")
    row = re.search(r'<tr class="([^"]*)" data-item="\d+">\s*<td>Due now', page.text)
    assert row and "overdue" not in row.group(1)
    assert "1 days overdue" in page.text
