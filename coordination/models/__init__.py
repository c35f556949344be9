"""All models, importable from one place so that the mapper registry is complete."""

from coordination.models.accounts import User
from coordination.models.audit import AuditEntry
from coordination.models.coordination import OverlapDecision
from coordination.models.interventions import (
    Intervention,
    InterventionOrganisation,
    InterventionPlace,
    Project,
    ProjectOrganisation,
)
from coordination.models.meetings import Meeting, MeetingParticipant
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
    "Area",
    "AuditEntry",
    "Body",
    "BodyMembership",
    "Country",
    "Indicator",
    "IndicatorPeriod",
    "Intervention",
    "InterventionOrganisation",
    "InterventionPlace",
    "Meeting",
    "MeetingParticipant",
    "Organisation",
    "OverlapDecision",
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
