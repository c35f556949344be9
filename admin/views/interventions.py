"""Projects and interventions: the 3W (who does what where) at the heart of the tool."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask_admin.contrib.sqla.ajax import QueryAjaxModelLoader
from flask_admin.model.form import InlineFormAdmin
from markupsafe import Markup
from sqlalchemy.orm import joinedload, selectinload
from wtforms import StringField, TextAreaField
from wtforms.validators import Length, Optional

from admin.extensions import db
from admin.forms import PartnerRolesField
from admin.views.base import CoordinationModelView
from admin.views.stakeholders import ORGANISATION_LOOKUP
from coordination.models import (
    Area,
    Intervention,
    InterventionOrganisation,
    InterventionPlace,
    Organisation,
    Project,
    ProjectDocument,
    ProjectOrganisation,
)
from coordination.services.interventions import check_project_document
from coordination.validation import check_currency, check_date_range, check_place

__all__ = ["InterventionView", "ProjectDocumentView", "ProjectView"]

AREA_LOOKUP = {"fields": ("name", "code"), "page_size": 20}


class PlaceInline(InlineFormAdmin):
    form_columns = ("id", "country", "area")
    form_ajax_refs = {"area": AREA_LOOKUP}
    form_label = "Place"


class PartnerRoles:
    """Adds the "Partner organisations" rows (organisation + IATI role) to a view's form."""

    link_model: type
    _partner_lookup = "partner_organisation"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._partner_loader = QueryAjaxModelLoader(
            self._partner_lookup, db, Organisation, fields=("acronym", "name"), page_size=20
        )
        self.form_extra_fields = {
            "participations": PartnerRolesField(
                self.link_model, self._partner_loader, label="Partner organisations"
            )
        }
        super().__init__(*args, **kwargs)

    def _process_ajax_references(self) -> dict[str, Any]:
        references = super()._process_ajax_references()  # type: ignore[misc]
        references[self._partner_lookup] = self._partner_loader
        return references


def _names(items: Any) -> str:
    return ", ".join(str(item) for item in items)


def _results_links(_view: Any, _context: Any, model: Project, _name: str) -> Markup:
    # ProjectDocumentView names its filters in URLs: this one is its project code filter.
    documents = url_for("projectdocument.index_view", flt0_project_code_equals=model.code)
    return Markup(
        '<a href="{}">Logframe</a> · <a href="{}">IPTT</a> · <a href="{}">Documents</a>'
    ).format(
        url_for("logframe.logframe", project_id=model.id),
        url_for("logframe.iptt", project_id=model.id),
        documents,
    )


class ProjectView(PartnerRoles, CoordinationModelView):
    column_list = (
        "code",
        "title",
        "status",
        "start_date",
        "end_date",
        "budget",
        "currency",
        "results_links",
    )
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
        "participations",  # PartnerRoles' field
    )
    column_labels = {"iati_identifier": "IATI identifier", "results_links": "Results"}
    column_formatters = {"results_links": _results_links}
    column_formatters_detail = {"results_links": _results_links}
    link_model = ProjectOrganisation
    list_loader_options = (
        selectinload(Project.participations).joinedload(ProjectOrganisation.organisation),
    )

    def get_details_columns(self) -> Any:
        return [*super().get_details_columns(), ("results_links", "Results")]

    def validate_model(self, model: Project, is_created: bool) -> None:
        check_date_range(model.start_date, model.end_date)
        check_currency(model.currency)
        if model.currency:
            model.currency = model.currency.upper()


def _document_link(_view: Any, _context: Any, model: ProjectDocument, _name: str) -> Markup:
    # Only http(s) addresses are ever stored, so the link cannot run script.
    return Markup('<a href="{}" rel="noopener noreferrer" target="_blank">{}</a>').format(
        model.url, model.url
    )


class ProjectDocumentView(CoordinationModelView):
    """Documents published about a project; each is an IATI document-link of its activity."""

    column_list = ("project", "title", "category", "format", "language", "document_date", "url")
    column_searchable_list = ("title", "url")
    column_filters = ("project.code", "category", "format", "document_date")
    named_filter_urls = True  # projects link to their documents by project code
    column_default_sort = [("project_id", False), ("category", False), ("title", False)]
    column_labels = {"url": "Address", "document_date": "Date", "project.code": "Project code"}
    column_formatters = {"url": _document_link}
    column_formatters_detail = {"url": _document_link}
    form_columns = (
        "project",
        "title",
        "url",
        "category",
        "format",
        "language",
        "document_date",
        "description",
    )
    form_overrides = {"description": TextAreaField}
    form_args = {
        "url": {"label": "Address", "description": "http:// or https:// address of the document"},
        "category": {"description": "IATI document category"},
        "language": {"description": "ISO 639-1 code, such as en or fr"},
        "document_date": {"label": "Date", "description": "when the document was published"},
    }
    list_loader_options = (joinedload(ProjectDocument.project),)

    def scaffold_form(self) -> Any:
        form_class = super().scaffold_form()
        # Required in the database, optional here: left empty, the service takes it
        # from the address's extension.
        form_class.format = StringField(
            "Format",
            [Optional(), Length(max=130)],
            description="media type such as application/pdf; empty: guessed from the address",
        )
        return form_class

    def validate_model(self, model: ProjectDocument, is_created: bool) -> None:
        check_project_document(db.session, model)


class InterventionView(PartnerRoles, CoordinationModelView):
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
        "participations",  # PartnerRoles' field
    )
    form_ajax_refs = {"lead_organisation": ORGANISATION_LOOKUP}
    inline_models = (PlaceInline(InterventionPlace),)
    link_model = InterventionOrganisation
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
