"""The demo scenario's deliberate duplicates and partnership gaps, as the pages show them."""

from __future__ import annotations

import re

import pytest

from coordination.services.fixtures import load_fixtures

# fixtures/demo/README.md: the deliberate duplicates and the "side by side" pairs
DUPLICATES = {"BD-01/BD-02", "KH-01/KH-02", "VN-01/VN-02", "ID-01/ID-02"}
GAPS = {"BKMEA/BWB", "BFC/CGTI", "VCCI/VITAS", "KSBSI/KSPI"}


@pytest.fixture
def demo(app, data, users):
    app.config["ANALYSIS_TODAY"] = "2025-06-01"
    load_fixtures(data, "demo")
    data.commit()


def test_demo_duplicates_are_exactly_the_deliberate_ones(client_as, demo):
    page = client_as("donor").get("/admin/overlaps/?kind=duplicate").text
    shown = set(re.findall(r'<article class="card mb-4 pair-card" data-pair="([^"]+)"', page))
    assert shown == DUPLICATES


def test_demo_partnership_gaps_include_the_side_by_side_organisations(client_as, demo):
    page = client_as("manager").get("/admin/gaps/").text
    gaps = set(re.findall(r'<tr data-gap="([^"]+)"', page))
    assert GAPS <= gaps
    assert "Record a partnership" in page
