"""Every demo role logs in with a real browser and sees what it may, and no more."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import screenshot


@pytest.mark.parametrize("role", ["admin", "manager", "partner", "donor"])
def test_each_role_reaches_the_home_page(page_as, role):
    page = page_as(role)
    assert page.locator("#counts").is_visible()
    assert page.locator("[data-count=Interventions]").inner_text().strip() != "0"
    screenshot(page, f"home-{role}")


def test_manager_edits_an_intervention_and_sees_it_in_the_list(page_as):
    page = page_as("manager")
    page.goto("/admin/intervention/")
    first_edit = page.locator("a[title='Edit Record']").first
    first_edit.click()
    page.wait_for_load_state()
    title = page.locator("input[name=title]")
    new_title = title.input_value() + " (reviewed)"
    title.fill(new_title)
    page.click("form [type=submit][value='Save'], form input[type=submit]")
    page.wait_for_load_state()
    assert page.locator(".alert-success").count() == 1
    page.goto("/admin/intervention/?search=" + "(reviewed)")
    assert page.get_by_text(new_title).count() >= 1
    screenshot(page, "interventions-manager")


def test_donor_sees_no_create_or_edit_controls(page_as):
    page = page_as("donor")
    page.goto("/admin/intervention/")
    assert page.locator("table.model-list tbody tr").count() > 0
    assert page.locator("a[title='Edit Record']").count() == 0
    assert page.get_by_role("link", name=re.compile("^Create$")).count() == 0
    response = page.goto("/admin/intervention/new/")
    assert response is not None and response.status == 403
