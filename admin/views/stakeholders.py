"""Organisations, their people, partnerships between them and standing bodies."""

from __future__ import annotations

from typing import Any

from flask_admin.model.form import InlineFormAdmin
from sqlalchemy.orm import joinedload, selectinload

from admin.extensions import db
from admin.views.base import CoordinationModelView
from coordination.models import Body, BodyMembership, Organisation, Partnership, Person
from coordination.validation import check_acronym_available, check_date_range

__all__ = ["BodyView", "OrganisationView", "PartnershipView", "PersonView"]

ORGANISATION_LOOKUP = {"fields": ("acronym", "name"), "page_size": 20}
PERSON_LOOKUP = {"fields": ("name", "email"), "page_size": 20}


class OrganisationView(CoordinationModelView):
    """Partners edit their own organisation's row; nobody but managers adds or removes one."""

    owner_attribute = "id"
    partner_deletes = False

    column_list = (
        "acronym",
        "name",
        "stakeholder_type",
        "constituency",
        "country",
        "parent",
    )
    column_searchable_list = ("acronym", "name", "iati_identifier")
    column_filters = ("stakeholder_type", "constituency", "country.name", "parent.acronym")
    column_default_sort = "acronym"
    column_labels = {"iati_type": "IATI organisation type", "iati_identifier": "IATI identifier"}
    form_columns = (
        "name",
        "acronym",
        "stakeholder_type",
        "constituency",
        "iati_type",
        "iati_identifier",
        "country",
        "website",
        "description",
        "parent",
    )
    form_ajax_refs = {"parent": ORGANISATION_LOOKUP}
    list_loader_options = (joinedload(Organisation.country), joinedload(Organisation.parent))

    def validate_model(self, model: Organisation, is_created: bool) -> None:
        if model.acronym:
            check_acronym_available(
                db.session, model.acronym, organisation_id=None if is_created else model.id
            )


class PersonView(CoordinationModelView):
    """Contacts. A partner sees and edits only the people of their own organisation."""

    owner_attribute = "organisation_id"
    owner_field = "organisation"
    partner_creates = True
    partner_reads_own_only = True

    column_list = ("name", "organisation", "job_title", "email", "sex", "active")
    column_searchable_list = ("name", "email", "job_title")
    column_filters = ("organisation.acronym", "sex", "active")
    column_default_sort = "name"
    form_columns = ("name", "email", "organisation", "job_title", "sex", "active")
    form_ajax_refs = {"organisation": ORGANISATION_LOOKUP}
    list_loader_options = (joinedload(Person.organisation),)


class MembershipInline(InlineFormAdmin):
    form_columns = ("id", "organisation", "person", "role", "since", "until")
    form_ajax_refs = {"organisation": ORGANISATION_LOOKUP, "person": PERSON_LOOKUP}


class PartnershipView(CoordinationModelView):
    column_list = ("name", "partnership_type", "members", "themes", "start_date", "end_date")
    column_searchable_list = ("name",)
    column_filters = ("partnership_type", "members.acronym", "themes.name", "start_date")
    column_default_sort = "name"
    form_columns = (
        "name",
        "partnership_type",
        "members",
        "themes",
        "countries",
        "start_date",
        "end_date",
        "description",
    )
    form_ajax_refs = {"members": ORGANISATION_LOOKUP}
    list_loader_options = (selectinload(Partnership.members), selectinload(Partnership.themes))


class BodyView(CoordinationModelView):
    column_list = ("name", "acronym", "body_type", "convener", "themes", "established")
    column_searchable_list = ("name", "acronym")
    column_filters = ("body_type", "convener.acronym", "themes.name")
    column_default_sort = "name"
    form_columns = (
        "name",
        "acronym",
        "body_type",
        "convener",
        "themes",
        "established",
        "description",
        "memberships",
    )
    form_ajax_refs = {"convener": ORGANISATION_LOOKUP}
    inline_models = (MembershipInline(BodyMembership),)
    list_loader_options = (joinedload(Body.convener), selectinload(Body.themes))

    def validate_model(self, model: Any, is_created: bool) -> None:
        for index, membership in enumerate(model.memberships):
            check_date_range(
                membership.since, membership.until, end_field=f"memberships-{index}-until"
            )
