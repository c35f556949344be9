"""Projects and interventions: the 3W (who does what where) at the heart of the tool."""

from __future__ import annotations

from typing import Any

from flask_admin.model.form import InlineFormAdmin
from sqlalchemy.orm import joinedload, selectinload

from admin.extensions import db
from admin.views.base import CoordinationModelView
from admin.views.stakeholders import ORGANISATION_LOOKUP
from coordination.models import (
    Area,
    Intervention,
    InterventionOrganisation,
    InterventionPlace,
    Project,
    ProjectOrganisation,
)
from coordination.validation import check_currency, check_date_range, check_place

__all__ = ["InterventionView", "ProjectView"]

AREA_LOOKUP = {"fields": ("name", "code"), "page_size": 20}


class ProjectPartnerInline(InlineFormAdmin):
    form_columns = ("organisation", "role")
    form_ajax_refs = {"organisation": ORGANISATION_LOOKUP}


class InterventionPartnerInline(InlineFormAdmin):
    form_columns = ("organisation", "role")
    form_ajax_refs = {"organisation": ORGANISATION_LOOKUP}
    form_label = "Partner organisation"


class PlaceInline(InlineFormAdmin):
    form_columns = ("id", "country", "area")
    form_ajax_refs = {"area": AREA_LOOKUP}
    form_label = "Place"


def _names(items: Any) -> str:
    return ", ".join(str(item) for item in items)


class ProjectView(CoordinationModelView):
    column_list = ("code", "title", "status", "start_date", "end_date", "budget", "currency")
    column_searchable_list = ("code", "title", "iati_identifier")
    column_filters = ("status", "themes.name", "countries.name", "start_date", "end_date")
    column_default_sort = "code"
    form_columns = (
        "code",
        "title",
        "description",
        "status",
        "start_date",
        "end_date",
        "budget",
        "currency",
        "iati_identifier",
        "countries",
        "themes",
        "participations",
    )
    column_labels = {
        "participations": "Partner organisations",
        "iati_identifier": "IATI identifier",
    }
    inline_models = (ProjectPartnerInline(ProjectOrganisation),)
    list_loader_options = (
        selectinload(Project.participations).joinedload(ProjectOrganisation.organisation),
    )

    def validate_model(self, model: Project, is_created: bool) -> None:
        check_date_range(model.start_date, model.end_date)
        check_currency(model.currency)
        if model.currency:
            model.currency = model.currency.upper()


class InterventionView(CoordinationModelView):
    """Partners create interventions led by their own organisation and edit only those."""

    owner_attribute = "lead_organisation_id"
    owner_field = "lead_organisation"
    partner_creates = True

    column_list = (
        "code",
        "title",
        "intervention_type",
        "lead_organisation",
        "themes",
        "places",
        "start_date",
        "end_date",
        "status",
    )
    column_searchable_list = ("code", "title")
    column_filters = (
        "themes.name",
        "places.country.name",
        "intervention_type",
        "status",
        "lead_organisation.acronym",
        "project.code",
        "target_groups.name",
        "start_date",
        "end_date",
    )
    column_default_sort = ("start_date", True)
    column_labels = {
        "intervention_type": "Type",
        "lead_organisation": "Lead organisation",
        "participations": "Partner organisations",
        "places": "Where",
    }
    column_formatters = {
        "themes": lambda view, context, model, name: _names(model.themes),
        "places": lambda view, context, model, name: _names(model.places),
    }
    editable_columns = ("status",)
    form_columns = (
        "code",
        "title",
        "description",
        "intervention_type",
        "lead_organisation",
        "project",
        "status",
        "start_date",
        "end_date",
        "themes",
        "target_groups",
        "places",
        "participations",
    )
    form_ajax_refs = {"lead_organisation": ORGANISATION_LOOKUP}
    inline_models = (
        PlaceInline(InterventionPlace),
        InterventionPartnerInline(InterventionOrganisation),
    )
    list_loader_options = (
        joinedload(Intervention.lead_organisation),
        selectinload(Intervention.themes),
        selectinload(Intervention.places).joinedload(InterventionPlace.country),
        selectinload(Intervention.places)
        .joinedload(InterventionPlace.area)
        .joinedload(Area.country),
    )

    def validate_model(self, model: Intervention, is_created: bool) -> None:
        check_date_range(model.start_date, model.end_date)
        for index, place in enumerate(model.places):
            country_code = place.country.code if place.country is not None else place.country_code
            area_id = place.area.id if place.area is not None else place.area_id
            check_place(db.session, country_code, area_id, prefix=f"places-{index}-")
