"""A partner copies their calendar feed URL, checks what it serves, and opens the calendar."""

from __future__ import annotations

import urllib.request

import icalendar

from tests.e2e.conftest import screenshot


def test_partner_copies_feed_url_and_opens_the_calendar(page_as, live_server):
    page = page_as("partner")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page.goto("/admin/my-feed/")
    field = page.locator("#feed-url-organisation")
    url = field.input_value()
    assert url.startswith(live_server.url + "/feeds/") and url.endswith(".ics")
    page.locator("#feed-organisation .copy-feed-url").click()
    page.locator("#feed-organisation .copy-status").filter(has_text="Copied.").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == url
    webcal = page.locator("#feed-organisation .add-to-calendar").get_attribute("href")
    assert webcal == "webcal:" + url.split(":", 1)[1]
    screenshot(page, "calendar-feed-partner")

    # What a calendar program gets: no cookie, no login, just the URL.
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
        assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
        etag = response.headers["ETag"]
        calendar = icalendar.Calendar.from_ical(response.read())
    titles = {str(event["SUMMARY"]) for event in calendar.events}
    # BGMEA was at the Dhaka leadership training.
    assert any("Bangladesh" in title for title in titles), titles
    request = urllib.request.Request(url, headers={"If-None-Match": etag})
    try:
        urllib.request.urlopen(request, timeout=10)  # noqa: S310
        raise AssertionError("expected 304 Not Modified")
    except urllib.error.HTTPError as not_modified:
        assert not_modified.code == 304

    # The calendar, in May 2026: the taskforce series and the Dhaka training.
    page.goto("/admin/calendar/?date=2026-05-01")
    page.locator(".fc-daygrid-event").first.wait_for()
    assert page.locator(".fc-toolbar-title").inner_text() == "May 2026"
    events = page.locator(".fc-event")
    assert events.filter(has_text="Regional Gender Taskforce").count() >= 1
    screenshot(page, "calendar-month-partner")

    # The list view, then a meeting's page from it.
    page.get_by_role("button", name="List").click()
    page.locator(".fc-list-event").first.wait_for()
    assert page.locator(".fc-list-event").count() >= 2
    page.locator(".fc-list-event a", has_text="Regional Gender Taskforce").first.click()
    page.wait_for_load_state()
    assert "/admin/calendar/meeting/" in page.url
    assert page.locator("#download-ics").is_visible()
    assert page.locator("#tripartite-flag").count() == 1
    screenshot(page, "meeting-page-partner")


def test_filtering_the_calendar_by_body(page_as):
    page = page_as("donor")
    page.goto("/admin/calendar/?date=2026-05-01")
    page.locator(".fc-event").first.wait_for()
    everything = page.locator(".fc-event").count()
    page.select_option("#filter-body", label="Regional Gender Taskforce for the Garment Sector")
    page.wait_for_function(f"document.querySelectorAll('.fc-event').length < {everything}")
    titles = page.locator(".fc-event").all_inner_texts()
    assert titles and all("Regional Gender" in title for title in titles), titles
    assert "body=" in page.url  # the filter is in the address, to share or reload
    download = page.locator("#body-download")
    assert download.is_visible()
    href = download.get_attribute("href")
    assert href.startswith("/admin/calendar/body/") and href.endswith(".ics")
    assert page.request.get(href).headers["content-type"] == "text/calendar; charset=utf-8"
    page.reload()
    page.locator(".fc-event").first.wait_for()
    assert page.locator(".fc-event").count() == len(titles)
