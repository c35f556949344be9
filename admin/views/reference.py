"""Reference lists: countries (ISO, read-only), areas, themes and target groups."""

from __future__ import annotations

from sqlalchemy.orm import joinedload

from admin.views.base import CoordinationModelView
from coordination.models import Area

__all__ = ["AreaView", "CountryView", "TargetGroupView", "ThemeView"]


class CountryView(CoordinationModelView):
    """ISO 3166-1, synchronised from pycountry by ``coordination init``: nobody edits it."""

    allow_create = allow_edit = allow_delete = False
    column_list = ("code", "alpha3", "name")
    column_searchable_list = ("code", "alpha3", "name")
    column_default_sort = "name"
    can_view_details = False


class AreaView(CoordinationModelView):
    """ISO 3166-2 first-level areas, plus local areas (an industrial zone) people add."""

    column_list = ("name", "code", "kind", "country")
    column_searchable_list = ("name", "code")
    column_filters = ("country.name", "kind")
    column_default_sort = "name"
    form_columns = ("country", "name", "code", "kind")
    list_loader_options = (joinedload(Area.country),)


class ThemeView(CoordinationModelView):
    column_list = ("code", "name", "dac_code")
    column_searchable_list = ("code", "name")
    column_default_sort = "name"
    column_labels = {"dac_code": "OECD-DAC sector"}
    form_columns = ("code", "name", "dac_code", "description")


class TargetGroupView(CoordinationModelView):
    column_list = ("code", "name")
    column_searchable_list = ("code", "name")
    column_default_sort = "name"
    form_columns = ("code", "name")
