"""Meetings and their participants."""

from __future__ import annotations

from datetime import UTC
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_admin.model.form import InlineFormAdmin
from sqlalchemy.orm import joinedload, selectinload
from wtforms import SelectField

from admin.views.base import CoordinationModelView
from admin.views.stakeholders import ORGANISATION_LOOKUP, PERSON_LOOKUP
from coordination.errors import ValidationError
from coordination.models import Meeting, MeetingParticipant
from coordination.validation import check_date_range

__all__ = ["MeetingView"]


def _tristate(value: Any) -> bool | None:
    return {"1": True, "0": False, "True": True, "False": False}.get(str(value))


class ParticipantInline(InlineFormAdmin):
    form_columns = ("id", "person", "organisation", "role", "attended")
    # A checkbox cannot say "not recorded yet": saving a form would turn unknown into "no".
    form_overrides = {"attended": SelectField}
    form_args = {
        "attended": {
            "choices": [("", "not recorded"), ("1", "attended"), ("0", "did not attend")],
            "coerce": _tristate,
        }
    }
    form_ajax_refs = {"person": PERSON_LOOKUP, "organisation": ORGANISATION_LOOKUP}
    form_label = "Participant"


class MeetingView(CoordinationModelView):
    column_list = (
        "title",
        "meeting_type",
        "starts_at",
        "city",
        "country",
        "organiser",
        "body",
        "status",
        "participants",
    )
    column_searchable_list = ("title", "venue", "city")
    column_filters = ("meeting_type", "status", "organiser.acronym", "body.name")
    column_default_sort = ("starts_at", True)
    column_labels = {"starts_at": "Starts (UTC)", "ends_at": "Ends (UTC)"}
    form_args = {
        "starts_at": {"label": "Starts (in the meeting's time zone)"},
        "ends_at": {"label": "Ends (in the meeting's time zone)"},
    }
    column_formatters = {
        "participants": lambda view, context, model, name: len(model.participants),
    }
    form_columns = (
        "title",
        "meeting_type",
        "status",
        "starts_at",
        "ends_at",
        "timezone",
        "all_day",
        "venue",
        "city",
        "country",
        "online_url",
        "organiser",
        "body",
        "themes",
        "description",
        "participants",
    )
    form_ajax_refs = {"organiser": ORGANISATION_LOOKUP}
    inline_models = (ParticipantInline(MeetingParticipant),)
    list_loader_options = (
        joinedload(Meeting.country),
        joinedload(Meeting.organiser),
        joinedload(Meeting.body),
        selectinload(Meeting.participants),
    )

    def on_form_prefill(self, form: Any, id: Any) -> None:
        # Stored in UTC, typed in the meeting's zone: show the form in that zone too, or
        # saving an unchanged form would move the meeting by the zone's offset.
        try:
            zone = ZoneInfo(form.timezone.data or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            return
        for name in ("starts_at", "ends_at"):
            value = form[name].data
            if value is not None and value.tzinfo is not None:
                form[name].data = value.astimezone(zone).replace(tzinfo=None)

    def validate_model(self, model: Any, is_created: bool) -> None:
        # People type local times; the database keeps UTC plus the IANA zone.
        try:
            zone = ZoneInfo(model.timezone or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationError(
                {"timezone": f"unknown time zone {model.timezone!r}; use e.g. Asia/Dhaka"}
            ) from None
        for attribute in ("starts_at", "ends_at"):
            value = getattr(model, attribute)
            if value is not None and value.tzinfo is None:
                setattr(model, attribute, value.replace(tzinfo=zone).astimezone(UTC))
        check_date_range(model.starts_at, model.ends_at, end_field="ends_at")
        for index, participant in enumerate(model.participants):
            if participant.person is None and participant.organisation is None:
                raise ValidationError(
                    {f"participants-{index}-person": "choose a person or an organisation"}
                )
