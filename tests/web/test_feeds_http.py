"""Calendars over HTTP: secret feed URLs without login, downloads with login, and
conditional GETs that cost one small query."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events
from flask import Flask
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from admin.extensions import db
from coordination.feeds import make_feed_token
from coordination.models import Meeting, User
from coordination.services import meetings as svc
from coordination.services.accounts import create_user
from tests import factories
from tests.web.conftest import PASSWORD, Users, csrf_token, login

ICAL = "text/calendar; charset=utf-8"


@pytest.fixture
def partner(data: Session, users: Users):
    """A partner of BGMEA linked to a person, invited to a Dhaka meeting and organising a
    Geneva series that crosses the European switch to summer time (29 March 2026)."""
    organisation = factories.create_organisation(data, acronym="BGMEA", name="BGMEA")
    person = factories.create_person(
        data, organisation=organisation, name="Nasrin Akter", email="nasrin@bgmea.example"
    )
    user = create_user(data, person.email, PASSWORD, "partner", organisation=organisation)
    user.person = person
    dhaka = factories.create_meeting(
        data, title="Dhaka dialogue", start=datetime(2026, 3, 3, 10), end=datetime(2026, 3, 3, 12)
    )
    svc.invite(data, dhaka, person=person)
    factories.create_meeting(
        data,
        title="Geneva webinars",
        timezone="Europe/Zurich",
        start=datetime(2026, 3, 19, 10),
        end=datetime(2026, 3, 19, 11),
        rrule="FREQ=WEEKLY;COUNT=3",
        organiser_person=person,
    )
    organisation_seat = factories.create_meeting(data, title="BGMEA seat")
    svc.invite(data, organisation_seat, organisation=organisation)
    stranger = factories.create_meeting(data, title="Not theirs")
    svc.invite(data, stranger, person=factories.create_person(data))
    data.commit()
    return user


def token(app: Flask, user: User, kind: str = "person") -> str:
    return make_feed_token(user, kind, app.config["SECRET_KEY"])


def summaries(data: bytes) -> list[str]:
    return sorted(str(e["SUMMARY"]) for e in icalendar.Calendar.from_ical(data).events)


def test_person_feed_is_served_without_login(app, client, partner):
    response = client.get(f"/feeds/{token(app, partner)}.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == ICAL
    assert response.headers["ETag"].startswith('"')
    assert response.headers["Cache-Control"] == "private, no-cache"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "Set-Cookie" not in response.headers
    assert summaries(response.data) == ["Dhaka dialogue", "Geneva webinars"]
    calendar = icalendar.Calendar.from_ical(response.data)
    assert str(calendar["X-WR-CALNAME"]) == "Meetings: Nasrin Akter"
    (dhaka,) = [e for e in calendar.events if str(e["SUMMARY"]) == "Dhaka dialogue"]
    # Each event links to its meeting's page on this site.
    assert str(dhaka["URL"]).startswith("http://localhost/admin/calendar/meeting/")


def test_organisation_feed_has_the_organisation_meetings(app, client, partner):
    response = client.get(f"/feeds/{token(app, partner, 'organisation')}.ics")
    assert response.status_code == 200
    assert summaries(response.data) == ["BGMEA seat", "Dhaka dialogue", "Geneva webinars"]
    assert b"X-WR-CALNAME:Meetings: BGMEA" in response.data


def test_served_feed_parses_back_with_correct_local_times_across_dst(app, client, partner):
    data = client.get(f"/feeds/{token(app, partner)}.ics").data
    calendar = icalendar.Calendar.from_ical(data)
    # One VTIMEZONE per zone used, and an independent expansion of the series.
    zones = sorted(str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE"))
    assert zones == ["Asia/Dhaka", "Europe/Zurich"]
    found = recurring_ical_events.of(calendar).between(date(2026, 3, 1), date(2026, 4, 30))
    webinars = [e for e in found if str(e["SUMMARY"]) == "Geneva webinars"]
    zurich = ZoneInfo("Europe/Zurich")
    assert [e.start.astimezone(zurich).strftime("%d %H:%M") for e in webinars] == [
        "19 10:00",
        "26 10:00",
        "02 10:00",
    ]
    # 10:00 in Geneva is 09:00 UTC before 29 March and 08:00 UTC after it.
    assert [e.start.astimezone(UTC).hour for e in webinars] == [9, 9, 8]
    (dhaka,) = [e for e in found if str(e["SUMMARY"]) == "Dhaka dialogue"]
    assert dhaka.start == datetime(2026, 3, 3, 4, tzinfo=UTC)
    assert dhaka.start.tzinfo.key == "Asia/Dhaka"


def test_etag_and_last_modified_give_304(app, client, partner):
    url = f"/feeds/{token(app, partner)}.ics"
    first = client.get(url)
    etag, last_modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert parsedate_to_datetime(last_modified).tzinfo is not None
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == etag
    since = client.get(url, headers={"If-Modified-Since": last_modified})
    assert since.status_code == 304
    stale = client.get(url, headers={"If-None-Match": '"something-else"'})
    assert stale.status_code == 200 and stale.data == first.data


def test_a_change_to_a_meeting_changes_the_etag(app, client, partner, data):
    url = f"/feeds/{token(app, partner)}.ics"
    etag = client.get(url).headers["ETag"]
    meeting = data.scalars(select(Meeting).where(Meeting.title == "Dhaka dialogue")).one()
    svc.update_meeting(data, meeting, title="Dhaka dialogue (moved room)")
    data.commit()
    response = client.get(url, headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert response.headers["ETag"] != etag
    assert "Dhaka dialogue (moved room)" in summaries(response.data)


def _statements_of(engine, request) -> list[str]:
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        request()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return statements


def test_304_costs_one_statement_by_primary_keys(app, client, partner, data):
    url = f"/feeds/{token(app, partner)}.ics"
    etag = client.get(url).headers["ETag"]
    with app.app_context():
        engine = db.engine
    found: list = []
    statements = _statements_of(
        engine, lambda: found.append(client.get(url, headers={"If-None-Match": etag}))
    )
    (response,) = found
    assert response.status_code == 304
    # One statement: the token's account and the calendar revision, both by primary key.
    # The feed's state was computed at this revision already; nothing else is read.
    assert len(statements) == 1, statements
    (check,) = statements
    assert "app_user" in check and "calendar_revision" in check
    assert "meeting" not in check and "count(" not in check.lower()
    assert "Set-Cookie" not in response.headers and "Vary" not in response.headers
    assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"

    # A write anywhere in the calendar (here: another feed's meeting, through another
    # engine) moves the revision: the next check computes the aggregate once more and
    # keeps the ETag, since this feed did not change; the one after is one statement.
    stranger = data.scalars(select(Meeting).where(Meeting.title == "Not theirs")).one()
    svc.update_meeting(data, stranger, title="Still not theirs")
    data.commit()
    found.clear()
    statements = _statements_of(
        engine, lambda: found.append(client.get(url, headers={"If-None-Match": etag}))
    )
    assert found[0].status_code == 304
    assert len(statements) == 2 and "count(" in statements[1].lower(), statements
    assert "calendar_revision" in statements[1]
    statements = _statements_of(engine, lambda: client.get(url, headers={"If-None-Match": etag}))
    assert len(statements) == 1, statements


def test_forged_and_malformed_tokens_are_404(app, client, partner):
    good = token(app, partner)
    forged = good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")
    for bad in (forged, "nonsense", "1.p.1.0.x", good.replace(".p.", ".o.")):
        response = client.get(f"/feeds/{bad}.ics")
        assert response.status_code == 404, bad
        assert b"BEGIN:VCALENDAR" not in response.data


def test_reset_token_is_gone_and_the_new_one_works(app, client, partner, data):
    old = token(app, partner)
    assert client.get(f"/feeds/{old}.ics").status_code == 200
    partner.feed_token_generation += 1
    data.commit()
    response = client.get(f"/feeds/{old}.ics")
    assert response.status_code == 410
    assert b"BEGIN:VCALENDAR" not in response.data
    assert client.get(f"/feeds/{token(app, partner)}.ics").status_code == 200


def test_deactivated_account_feed_is_gone(app, client, partner, data):
    url = f"/feeds/{token(app, partner)}.ics"
    partner.active = False
    data.commit()
    assert client.get(url).status_code == 410
    assert client.get(url.replace(".p.", ".o.")).status_code == 404  # never issued


def test_token_of_another_secret_is_refused(app, client, partner):
    other = make_feed_token(partner, "person", "another-secret")
    assert client.get(f"/feeds/{other}.ics").status_code == 404


def test_a_token_is_not_a_login(app, client, partner):
    feed = f"/feeds/{token(app, partner)}.ics"
    assert client.get(feed).status_code == 200
    secret = token(app, partner)
    # Fetching the feed left no session behind: the admin still wants a login.
    home = client.get("/admin/")
    assert home.status_code == 302 and "/login" in home.headers["Location"]
    # Nor does the token open anything when offered in the ways credentials travel.
    attempts = [
        client.get(f"/admin/?token={secret}"),
        client.get("/admin/", headers={"Authorization": f"Bearer {secret}"}),
        client.get(f"/admin/calendar/all.ics?token={secret}"),
        client.get(f"/admin/calendar/meeting/1.ics?token={secret}"),
        client.get(f"/admin/my-feed/?token={secret}"),
        client.get(f"/feeds/{secret}.ics/../../admin/"),
    ]
    for response in attempts:
        assert response.status_code in (302, 404), response.request.url
        assert b"BEGIN:VCALENDAR" not in response.data
    client.set_cookie("session", secret)
    assert client.get("/admin/").status_code == 302
    client.set_cookie("remember_token", secret)
    assert client.get("/admin/").status_code == 302
    # And it cannot be used as a password.
    assert login(client, partner.email, secret).status_code == 200


def test_feed_needs_no_csrf_and_refuses_writes(app, client, partner):
    url = f"/feeds/{token(app, partner)}.ics"
    assert client.post(url).status_code == 405
    assert client.delete(url).status_code == 405


def test_feed_ignores_a_logged_in_session(app, client_as, partner):
    # Someone logged in as a manager who opens a partner's feed gets that feed, not
    # theirs, and the response sets no cookie.
    client = client_as("manager")
    response = client.get(f"/feeds/{token(app, partner)}.ics")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert summaries(response.data) == ["Dhaka dialogue", "Geneva webinars"]


# -- downloads for people who are logged in ----------------------------------------------


def test_downloads_need_a_login(client, partner):
    for path in ("/admin/calendar/all.ics", "/admin/calendar/meeting/1.ics"):
        response = client.get(path)
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]


def test_meeting_download(client_as, partner, data):
    meeting = data.scalars(select(Meeting).where(Meeting.title == "Dhaka dialogue")).one()
    response = client_as("manager").get(f"/admin/calendar/meeting/{meeting.id}.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == ICAL
    assert (
        response.headers["Content-Disposition"]
        == f'attachment; filename="meeting-{meeting.id}.ics"'
    )
    (only,) = icalendar.Calendar.from_ical(response.data).events
    assert str(only["UID"]) == f"meeting-{meeting.id}@coordination.local"
    assert "nasrin@bgmea.example" in str(only["ATTENDEE"])
    assert client_as("manager").get("/admin/calendar/meeting/999999.ics").status_code == 404


def test_body_and_whole_calendar_downloads(client_as, data, users):
    body = factories.create_body(data, name="Regional Gender Taskforce")
    factories.create_meeting(data, title="Taskforce", body=body)
    factories.create_meeting(data, title="Elsewhere")
    data.commit()
    client = client_as("donor")
    by_body = client.get(f"/admin/calendar/body/{body.id}.ics")
    assert by_body.status_code == 200
    assert summaries(by_body.data) == ["Taskforce"]
    whole = client.get("/admin/calendar/all.ics")
    assert summaries(whole.data) == ["Elsewhere", "Taskforce"]
    assert client.get("/admin/calendar/body/999999.ics").status_code == 404
    again = client.get("/admin/calendar/all.ics", headers={"If-None-Match": whole.headers["ETag"]})
    assert again.status_code == 304


def test_partners_and_donors_get_no_contact_addresses(client_as, partner, data):
    meeting = data.scalars(select(Meeting).where(Meeting.title == "Dhaka dialogue")).one()
    path = f"/admin/calendar/meeting/{meeting.id}.ics"
    managers = client_as("manager").get(path)
    donors = client_as("donor").get(path)
    assert b"nasrin@bgmea.example" in managers.data
    assert b"nasrin@bgmea.example" not in donors.data
    assert b"ATTENDEE" not in donors.data
    assert managers.headers["ETag"] != donors.headers["ETag"]


# -- the feed page -----------------------------------------------------------------------


def test_feed_page_shows_copy_add_and_reset(app, partner):
    client = app.test_client()
    assert login(client, partner.email).status_code == 302
    page = client.get("/admin/my-feed/")
    assert page.status_code == 200
    person_url = f"http://localhost/feeds/{token(app, partner)}.ics"
    organisation_url = f"http://localhost/feeds/{token(app, partner, 'organisation')}.ics"
    assert f'value="{person_url}"' in page.text
    assert f'value="{organisation_url}"' in page.text
    assert 'href="webcal://localhost/feeds/' in page.text
    assert page.text.count("Copy my feed URL") == 2
    assert "copy-feed.js" in page.text
    assert 'action="/admin/my-feed/reset"' in page.text


def test_reset_needs_csrf_and_revokes_the_old_url(app, partner, data):
    client = app.test_client()
    login(client, partner.email)
    old = token(app, partner)
    refused = client.post("/admin/my-feed/reset")
    assert refused.status_code == 400
    assert client.get(f"/feeds/{old}.ics").status_code == 200
    response = client.post(
        "/admin/my-feed/reset",
        data={"csrf_token": csrf_token(client, "/admin/my-feed/")},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "were reset" in response.text
    assert client.get(f"/feeds/{old}.ics").status_code == 410
    data.refresh(partner)
    assert partner.feed_token_generation == 1
    new = token(app, partner)
    assert new in response.text
    assert client.get(f"/feeds/{new}.ics").status_code == 200


def test_feed_page_without_person_or_organisation(client_as):
    page = client_as("manager").get("/admin/my-feed/")
    assert page.status_code == 200
    assert "linked to neither a person nor an organisation" in page.text
    assert "Copy my feed URL" not in page.text


def test_feed_page_needs_login(client):
    response = client.get("/admin/my-feed/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    response = client.post("/admin/my-feed/reset", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_last_modified_follows_the_latest_change(app, client, partner, data):
    url = f"/feeds/{token(app, partner)}.ics"
    first = parsedate_to_datetime(client.get(url).headers["Last-Modified"])
    meeting = data.scalars(select(Meeting).where(Meeting.title == "Geneva webinars")).one()
    svc.update_meeting(data, meeting, description="Bring the draft")
    data.commit()
    second = client.get(url)
    assert parsedate_to_datetime(second.headers["Last-Modified"]) >= first
    earlier = (first - timedelta(days=1)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert client.get(url, headers={"If-Modified-Since": earlier}).status_code == 200


def test_no_async_teardown_after_each_request(app):
    # Flask would start an asgiref event loop after every request for it; the app opens
    # no async sessions. The teardown that closes ordinary sessions stays.
    names = [f.__name__ for f in app.teardown_appcontext_funcs]
    assert "_close_async_sessions" not in names
    assert "_close_sessions" in names


# -- whole feed bodies kept across restarts ----------------------------------------------


def _restart() -> None:
    """What a new process starts with: nothing in memory (the database stays)."""
    from coordination.feeds import FEED_STATES
    from coordination.interop import ical

    ical.DEFAULT_CACHE.clear()
    svc.ENTRY_CACHE.clear()
    FEED_STATES.clear()


def test_after_a_restart_an_unchanged_feed_is_one_lookup_and_a_change_is_never_stale(
    app, client, partner, data, monkeypatch
):
    from coordination.models import Organisation, Person

    url = f"/feeds/{token(app, partner, 'organisation')}.ics"
    first = client.get(url)
    with app.app_context():
        engine = db.engine
    _restart()
    serialised: list[int] = []
    real = icalendar.Calendar.to_ical
    monkeypatch.setattr(
        icalendar.Calendar,
        "to_ical",
        lambda *a, **k: serialised.append(1) or real(*a, **k),
    )
    found: list = []
    statements = _statements_of(engine, lambda: found.append(client.get(url)))
    assert found[0].status_code == 200 and found[0].data == first.data
    assert found[0].headers["ETag"] == first.headers["ETag"]
    # Account and revision; the feed's state; its stored body. Nothing rendered.
    assert len(statements) == 3, statements
    assert "calendar_feed_cache" in statements[2] and not serialised

    person = data.scalars(select(Person).where(Person.name == "Nasrin Akter")).one()
    organisation = data.get(Organisation, partner.organisation_id)
    meeting = data.scalars(select(Meeting).where(Meeting.title == "BGMEA seat")).one()
    changes = [
        (lambda: svc.update_meeting(data, meeting, title="BGMEA seat, moved"), b"moved"),
        (lambda: setattr(person, "name", "Nasrin Akter Khan"), b"Nasrin Akter Khan"),
        (lambda: setattr(organisation, "name", "BGMEA Dhaka"), b"Meetings: BGMEA Dhaka"),
    ]
    for change, shown in changes:
        change()
        data.commit()
        _restart()
        response = client.get(url)
        assert response.status_code == 200
        assert shown in response.data.replace(b"\r\n ", b""), shown
    # Another host in UIDs is another feed body.
    app.config["CALENDAR_HOST"] = "elsewhere.example"
    _restart()
    assert b"@elsewhere.example" in client.get(url).data
