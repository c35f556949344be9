"""The results chain (logframe): results, their indicators and reporting periods."""

from __future__ import annotations

from sqlalchemy.orm import joinedload

from admin.views.base import CoordinationModelView
from coordination.models import Indicator, IndicatorPeriod, Result

__all__ = ["IndicatorPeriodView", "IndicatorView", "ResultView"]


class ResultView(CoordinationModelView):
    column_list = ("project", "code", "level", "title", "parent", "position")
    column_searchable_list = ("code", "title")
    column_filters = ("project.code", "level")
    column_default_sort = [("project_id", False), ("position", False)]
    form_columns = (
        "project",
        "parent",
        "level",
        "code",
        "title",
        "description",
        "assumptions",
        "position",
        "interventions",
    )
    form_ajax_refs = {"interventions": {"fields": ("code", "title"), "page_size": 20}}
    list_loader_options = (joinedload(Result.project), joinedload(Result.parent))


class IndicatorView(CoordinationModelView):
    column_list = ("result", "code", "title", "measure", "unit", "baseline_value", "baseline_date")
    column_searchable_list = ("code", "title")
    column_filters = ("measure", "result.code")
    column_default_sort = "code"
    form_columns = (
        "result",
        "code",
        "title",
        "definition",
        "measure",
        "ascending",
        "unit",
        "baseline_value",
        "baseline_date",
        "baseline_comment",
    )
    list_loader_options = (joinedload(Indicator.result),)


class IndicatorPeriodView(CoordinationModelView):
    column_list = ("indicator", "start_date", "end_date", "target_value", "actual_value")
    column_filters = ("indicator.code", "start_date", "end_date")
    column_default_sort = ("start_date", True)
    form_columns = (
        "indicator",
        "start_date",
        "end_date",
        "target_value",
        "actual_value",
        "comment",
    )
    list_loader_options = (joinedload(IndicatorPeriod.indicator),)
