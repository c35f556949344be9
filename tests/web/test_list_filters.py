"""List filters: vocabulary filters work by stored value, and no bad value is ever a 500."""

from __future__ import annotations

import pytest
from flask import Flask

from coordination.vocab import ActivityStatus
from tests import factories


def _filter_arg(app: Flask, endpoint: str, label: str, operation: str) -> str:
    """The ``flt0_N`` query key of a list filter, found by its label and operation."""
    with app.test_request_context():
        admin = app.extensions["admin"][0]
        view = next(v for v in admin._views if getattr(v, "endpoint", "") == endpoint)
        for arg, (_index, flt) in view._filter_args.items():
            if str(flt.name) == label and str(flt.operation()) == operation:
                return f"flt0_{arg}"
    raise AssertionError(f"no {label} {operation} filter on {endpoint}")


@pytest.fixture
def two_statuses(data, users):
    factories.create_intervention(data, code="RUNNING-1", status=ActivityStatus.IMPLEMENTATION)
    factories.create_intervention(data, code="CLOSED-1", status=ActivityStatus.CLOSED)
    data.commit()


def test_status_filter_selects_by_stored_value(app, client_as, two_statuses):
    client = client_as("donor")
    key = _filter_arg(app, "intervention", "Status", "equals")
    page = client.get(f"/admin/intervention/?{key}=implementation")
    assert page.status_code == 200
    assert "RUNNING-1" in page.text and "CLOSED-1" not in page.text
    in_list = _filter_arg(app, "intervention", "Status", "in list")
    page = client.get(f"/admin/intervention/?{in_list}=closed,pipeline")
    assert "CLOSED-1" in page.text and "RUNNING-1" not in page.text
    # the filter box offers labels, not raw values
    assert "Implementation" in client.get("/admin/intervention/").text


@pytest.mark.parametrize(
    "value", ["bogus", "IMPLEMENTATION", "", ",", "implementation,nope", "1' OR '1'='1", "\x00"]
)
def test_unknown_status_value_is_an_invalid_filter_not_a_500(app, client_as, two_statuses, value):
    client = client_as("manager")
    for operation in ("equals", "not equal", "in list", "not in list"):
        key = _filter_arg(app, "intervention", "Status", operation)
        page = client.get("/admin/intervention/", query_string={key: value})
        assert page.status_code == 200, (operation, value)
        if value == "implementation,nope" or value.strip(","):
            assert "Invalid Filter Value" in page.text, (operation, value)
        # an invalid filter is dropped: the whole list shows
        assert "RUNNING-1" in page.text and "CLOSED-1" in page.text


@pytest.mark.parametrize("endpoint", ["intervention", "organisation", "project", "meeting"])
def test_no_filter_value_ends_in_a_server_error(app, client_as, two_statuses, endpoint):
    client = client_as("admin")
    with app.test_request_context():
        admin = app.extensions["admin"][0]
        view = next(v for v in admin._views if getattr(v, "endpoint", "") == endpoint)
        args = list(view._filter_args)
    assert args
    for arg in args:
        for value in ("zz-not-a-value", "2025-13-45", "9" * 40, "a,b,,c", "2025-01-01 to x"):
            page = client.get(f"/admin/{endpoint}/", query_string={f"flt0_{arg}": value})
            assert page.status_code == 200, (arg, value, page.status_code)
