"""All models, importable from one place so that the mapper registry is complete."""

from coordination.models.accounts import User
from coordination.models.audit import AuditEntry
from coordination.models.calendar_revision import calendar_revision  # noqa: F401  (listeners)
from coordination.models.coordination import OverlapDecision
from coordination.models.interventions import (
    Intervention,
    InterventionOrganisation,
    InterventionPlace,
    Project,
    ProjectDocument,
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
from coordination.models.results import (
    DimensionCategory,
    Indicator,
    IndicatorDimension,
    IndicatorPeriod,
    IndicatorUpdate,
    PeriodTarget,
    Result,
    UpdateValue,
)

__all__ = [
    "ActionItem",
    "Area",
    "AuditEntry",
    "Body",
    "BodyMembership",
    "Country",
    "Decision",
    "DimensionCategory",
    "Indicator",
    "IndicatorDimension",
    "IndicatorPeriod",
    "IndicatorUpdate",
    "Intervention",
    "InterventionOrganisation",
    "InterventionPlace",
    "Meeting",
    "MeetingOccurrence",
    "MeetingParticipant",
    "Organisation",
    "OverlapDecision",
    "Partnership",
    "PeriodTarget",
    "Person",
    "Project",
    "ProjectDocument",
    "ProjectOrganisation",
    "Result",
    "TargetGroup",
    "Theme",
    "UpdateValue",
    "User",
]

# The audit listener must be registered whenever the models are in use.
import coordination.audit  # noqa: E402, F401
import coordination.storable  # noqa: E402, F401
