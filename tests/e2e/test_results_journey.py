"""Results framework in a real browser: approve, report, download, read the logframe."""

from __future__ import annotations

import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from coordination.db import make_engine
from coordination.models import Indicator, Result
from tests.e2e.conftest import screenshot

PROJECT = "DW-GARMENT-ASIA"
PARTNER_INDICATOR = "3.1.2"  # enterprise managers and workers trained, by sex


@pytest.fixture(scope="module")
def partner_indicator(demo_database: str) -> int:
    """The indicator the demo partner (BGMEA) is responsible for, so it may report."""
    engine = make_engine(demo_database)
    try:
        with Session(engine) as session:
            indicator = session.scalar(select(Indicator).where(Indicator.code == PARTNER_INDICATOR))
            assert indicator.responsible_organisation.acronym == "BGMEA"
            return indicator.id
    finally:
        engine.dispose()


def open_logframe(page):
    page.goto("/admin/logframe/")
    page.get_by_role("link", name=PROJECT).first.click()
    page.wait_for_load_state()
    assert page.locator("#logframe").is_visible()


def test_manager_reads_the_logframe_and_approves_an_update(page_as):
    page = page_as("manager")
    open_logframe(page)
    assert page.locator("tr.indicator-row").count() >= 20
    assert page.locator("svg.sparkline").count() >= 10
    screenshot(page, "results-logframe-manager")

    page.goto("/admin/updates/")
    rows = page.locator("#update-queue tbody tr[data-update]")
    waiting = rows.count()
    assert waiting >= 1
    update_id = rows.first.get_attribute("data-update")
    rows.first.locator("[data-action=approve]").click()
    page.wait_for_load_state()
    assert page.locator(".alert-success").inner_text().count(f"#{update_id}") == 1
    assert page.locator("#update-queue tbody tr[data-update]").count() == waiting - 1
    screenshot(page, "results-queue-manager")


def test_manager_adds_an_output_and_finds_it_in_the_logframe(page_as, demo_database):
    engine = make_engine(demo_database)
    try:
        with Session(engine) as session:
            outcome = session.scalar(
                select(Result).where(Result.level == "outcome").order_by(Result.code)
            )
            project_id, outcome_id = outcome.project_id, outcome.id
    finally:
        engine.dispose()
    page = page_as("manager")
    page.goto("/admin/result/new/")
    # Select2 hides the selects it decorates: choose on the underlying <select>.
    page.select_option("select[name=project]", str(project_id), force=True)
    page.select_option("select[name=parent]", str(outcome_id), force=True)
    page.select_option("select[name=level]", "output", force=True)
    page.fill("input[name=code]", "9.9.9")
    page.fill("input[name=title]", "Buyer engagement guide published")
    page.click("form input[type=submit][value='Save']")
    page.wait_for_load_state()
    assert page.locator(".alert-success").count() == 1
    page.goto(f"/admin/logframe/{project_id}/")
    assert page.get_by_text("Buyer engagement guide published").count() == 1
    screenshot(page, "results-logframe-new-output")


def test_manager_returns_an_update_with_a_reason(page_as):
    page = page_as("manager")
    page.goto("/admin/updates/")
    row = page.locator("#update-queue tbody tr[data-update]").first
    if row.count() == 0:
        pytest.skip("no submitted update left in the demo queue")
    indicator_link = row.locator("a").first.get_attribute("href")
    row.locator("[data-action=return]").click()  # no reason: refused
    page.wait_for_load_state()
    assert "say why the update goes back" in page.locator(".alert-danger").inner_text()
    row = page.locator("#update-queue tbody tr[data-update]").first
    row.locator("input[name=reason]").fill("Please attach the attendance sheets")
    row.locator("[data-action=return]").click()
    page.wait_for_load_state()
    assert page.locator(".alert-success").count() == 1
    page.goto(indicator_link)
    assert page.locator(".return-reason", has_text="attendance sheets").count() >= 1


def test_partner_reports_a_value_and_submits_it(page_as, partner_indicator):
    page = page_as("partner")
    open_logframe(page)
    row = page.locator(f"tr[data-indicator='{PARTNER_INDICATOR}']")
    assert row.locator(".report-link").count() == 1
    assert page.locator(".report-link").count() == 1  # only its own indicator
    row.locator(".report-link").click()
    page.wait_for_load_state()
    assert page.locator("#indicator-chart[data-rendered=true]").count() == 1
    page.locator("[data-action=report]").last.click()
    page.wait_for_load_state()

    # A total below the sum of the categories is refused, with the error in the form.
    page.fill("input[name=value]", "10")
    inputs = page.locator("fieldset[data-dimension=sex] input")
    inputs.nth(0).fill("8")
    inputs.nth(1).fill("7")
    page.click("button[value=submit]")
    page.wait_for_load_state()
    error = page.locator("fieldset[data-dimension=sex] [data-error-for=sex]")
    assert "more than the total 10" in error.inner_text()
    screenshot(page, "results-report-error-partner")

    page.fill("input[name=value]", "40")
    page.fill("textarea[name=comment]", "Training register, Dhaka cluster")
    page.click("button[value=submit]")
    page.wait_for_load_state()
    assert "submitted for approval" in page.locator(".alert-success").inner_text()
    assert re.search(r"/admin/logframe/indicator/\d+", page.url)
    assert page.locator("#update-history [data-update-status=submitted]").count() >= 1
    screenshot(page, "results-indicator-partner")


def test_donor_reads_iptt_and_downloads_reports(page_as, tmp_path):
    page = page_as("donor")
    open_logframe(page)
    assert page.locator("form[method=post]").count() == 1  # logging out only
    assert page.locator(".report-link").count() == 0
    page.click("#iptt-link")
    page.wait_for_load_state()
    total = page.locator("#iptt tbody tr[data-indicator]").count()
    page.select_option("#filter-level", "output")
    page.click("#iptt-filters button[type=submit]")
    page.wait_for_load_state()
    assert 0 < page.locator("#iptt tbody tr[data-indicator]").count() < total
    screenshot(page, "results-iptt-donor")

    with page.expect_download() as download:
        page.click("[data-report=xlsx]")
    path = tmp_path / "report.xlsx"
    download.value.save_as(path)
    workbook = load_workbook(path)
    assert len(workbook.sheetnames) >= 3

    with page.expect_download() as download:
        page.click("[data-report=pdf]")
    path = tmp_path / "report.pdf"
    download.value.save_as(path)
    assert path.read_bytes().startswith(b"%PDF")
