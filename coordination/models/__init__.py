"""All models, importable from one place so that the mapper registry is complete."""

from coordination.models.accounts import User
from coordination.models.audit import AuditEntry
from coordination.models.interventions import (
    Intervention,
    InterventionOrganisation,
    InterventionPlace,
    Project,
    ProjectOrganisation,
)
from coordination.models.meetings import (
    ActionItem,
    Decision,
    Meeting,
    MeetingOccurrence,
    MeetingParticipant,
)
from coordination.models.organisations import (
    Body,
    BodyMembership,
    Organisation,
    Partnership,
    Person,
)
from coordination.models.reference import Area, Country, TargetGroup, Theme
from coordination.models.results import Indicator, IndicatorPeriod, Result

__all__ = [
    "ActionItem",
    "Area",
    "AuditEntry",
    "Body",
    "BodyMembership",
    "Country",
    "Decision",
    "Indicator",
    "IndicatorPeriod",
    "Intervention",
    "InterventionOrganisation",
    "InterventionPlace",
    "Meeting",
    "MeetingOccurrence",
    "MeetingParticipant",
    "Organisation",
    "Partnership",
    "Person",
    "Project",
    "ProjectOrganisation",
    "Result",
    "TargetGroup",
    "Theme",
    "User",
]

# The audit listener must be registered whenever the models are in use.
import coordination.audit  # noqa: E402, F401
