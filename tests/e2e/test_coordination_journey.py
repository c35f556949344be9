"""A coordinator reviews the demo's overlaps in a real browser and marks a duplicate.

The journey leaves the shared demo database as it found it: the decision it records is
reopened at the end.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import screenshot

PAIR = "KH-01/KH-02"  # CGTI / Better Factories Cambodia: a deliberate duplicate


@pytest.fixture
def analysis_day(live_server):
    live_server.app.config["ANALYSIS_TODAY"] = "2025-06-01"
    yield
    live_server.app.config.pop("ANALYSIS_TODAY", None)


def test_coordinator_marks_a_duplicate_and_reopens_it(page_as, analysis_day):
    page = page_as("manager")
    page.goto("/admin/")
    page.locator("a.dropdown-toggle", has_text="Coordination").click()
    page.get_by_role("link", name="Overlap review").click()
    page.wait_for_load_state()
    page.select_option("#kind", "duplicate")
    page.click("#pair-filters button[type=submit]")
    page.wait_for_load_state()

    cards = page.locator("article.pair-card")
    codes = {cards.nth(i).get_attribute("data-pair") for i in range(cards.count())}
    assert {"BD-01/BD-02", "KH-01/KH-02", "VN-01/VN-02", "ID-01/ID-02"} <= codes
    card = page.locator(f"article.pair-card[data-pair='{PAIR}']")
    assert card.locator("[data-kind=duplicate]").count() == 1
    assert "Factory managers" in card.locator("tr", has_text="Target groups").inner_text()
    screenshot(page, "coordination-overlap-review")

    card.get_by_label("Confirmed duplicate").check()
    card.locator("textarea[name=note]").fill(
        "Same coaching for the same factories; CGTI and BFC agreed to merge."
    )
    card.get_by_role("button", name="Save decision").click()
    page.wait_for_load_state()
    assert page.locator(".alert-success").count() == 1
    assert page.locator(f"article.pair-card[data-pair='{PAIR}']").count() == 0
    decided = page.locator(f"#decided tr[data-pair='{PAIR}']")
    assert "Confirmed duplicate" in decided.inner_text()
    screenshot(page, "coordination-overlap-decided")

    # Donors see the verdict but cannot change it.
    donor = page_as("donor")
    donor.goto("/admin/overlaps/")
    assert donor.locator(f"#decided tr[data-pair='{PAIR}']").count() == 1
    assert donor.get_by_role("button", name="Reopen").count() == 0
    assert donor.get_by_role("button", name="Save decision").count() == 0

    decided.get_by_role("button", name="Reopen").click()
    page.wait_for_load_state()
    assert page.locator(f"article.pair-card[data-pair='{PAIR}']").count() == 1


def test_gaps_coverage_and_network_pages(page_as, analysis_day):
    page = page_as("donor")
    page.goto("/admin/gaps/")
    assert page.locator("#partnership-gaps tr[data-gap]").count() > 0
    screenshot(page, "coordination-gaps")

    page.goto("/admin/coverage/")
    cell = page.locator("#coverage td[data-cell] a").first
    assert cell.count() == 1
    screenshot(page, "coordination-coverage")
    expected = int(cell.inner_text())
    cell.click()
    page.wait_for_load_state()
    assert "/admin/intervention/" in page.url
    assert page.locator("table.model-list tbody tr").count() >= expected
    assert page.locator(".alert-danger, .alert-error").count() == 0

    page.goto("/admin/network/")
    page.wait_for_selector("#network[data-ready='1']", timeout=20_000)
    assert int(page.get_attribute("#network", "data-nodes") or 0) > 20
    assert "organisations" in page.locator("#network-summary").inner_text()
    screenshot(page, "coordination-network")
    page.select_option("#country", "KH")
    page.click("#network-filters button[type=submit]")
    page.wait_for_selector("#network[data-ready='1']", timeout=20_000)
    assert int(page.get_attribute("#network", "data-nodes") or 0) < 40
    with page.expect_download() as download:
        page.click("[data-download=GRAPHML]")
    assert download.value.suggested_filename == "network-KH.graphml"
