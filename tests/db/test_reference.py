"""Reference data from ISO lists: countries and first-level administrative areas."""

import pytest
from sqlalchemy import select

from coordination.errors import ValidationError
from coordination.models import Area
from coordination.services.reference import find_area, find_country, sync_reference_data


def test_areas_are_the_first_administrative_level(session):
    codes = set(session.scalars(select(Area.code).where(Area.country_code == "ID")))
    assert {"ID-JB", "ID-JK", "ID-JT"} <= codes  # provinces
    assert "ID-JW" not in codes  # the island group above them is not an administration
    assert "BD-C" in set(session.scalars(select(Area.code).where(Area.country_code == "BD")))
    assert "BD-13" not in set(session.scalars(select(Area.code)))  # districts are level two


def test_sync_is_idempotent(session):
    assert sync_reference_data(session) == {
        "countries": 0,
        "areas": 0,
        "themes": 0,
        "target_groups": 0,
    }


@pytest.mark.parametrize("text", ["VN", "VNM", "viet nam"])
def test_countries_by_code_or_name(session, text):
    assert find_country(session, text).code == "VN"


@pytest.mark.parametrize("text", ["Ha Noi", "HÀ NỘI", "VN-HN", "HN"])
def test_areas_by_code_or_name_ignoring_case_and_accents(session, text):
    assert find_area(session, find_country(session, "VN"), text).code == "VN-HN"


def test_area_of_another_country_is_named_as_such(session):
    with pytest.raises(ValidationError, match="is in BD, not in KH"):
        find_area(session, find_country(session, "KH"), "BD-C")


def test_unknown_country_is_a_field_error(session):
    with pytest.raises(ValidationError) as error:
        find_country(session, "Atlantis")
    assert "country" in error.value.errors
