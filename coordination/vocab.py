"""Controlled vocabularies shared by models, forms, imports and exports.

Each enum's value is what we store; ``label`` is what people read. Where a
vocabulary maps onto an IATI codelist the mapping lives here, next to the terms.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "ActionStatus",
    "ActivityStatus",
    "BodyRole",
    "Constituency",
    "DocumentCategory",
    "IndicatorAggregation",
    "IndicatorMeasure",
    "InterventionType",
    "MeetingStatus",
    "MeetingType",
    "OrganisationRole",
    "OverlapDecisionKind",
    "ParticipantRole",
    "PartnershipType",
    "ResultLevel",
    "Rsvp",
    "Sex",
    "StakeholderType",
    "TARGET_GROUPS",
    "UpdateStatus",
    "THEMES",
    "UserRole",
    "choices",
    "media_type_of",
]


class Vocabulary(StrEnum):
    """A StrEnum whose members carry a human label (the second tuple item)."""

    label: str

    def __new__(cls, value: str, label: str | None = None) -> Vocabulary:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label or value.replace("_", " ").capitalize()
        return member


def choices(vocabulary: type[Vocabulary]) -> list[tuple[str, str]]:
    """(value, label) pairs for select boxes, in declaration order."""
    return [(member.value, member.label) for member in vocabulary]


class Constituency(Vocabulary):
    """The ILO's tripartite constituents; everyone else is ``none``."""

    GOVERNMENT = "government", "Government"
    EMPLOYERS = "employers", "Employers"
    WORKERS = "workers", "Workers"
    NONE = "none", "None (not a constituent)"


class StakeholderType(Vocabulary):
    GOVERNMENT = "government", "Government"
    EMPLOYERS_ORGANISATION = "employers_organisation", "Employers' organisation"
    BUSINESS_MEMBERSHIP = "business_membership", "Business membership organisation"
    WORKERS_ORGANISATION = "workers_organisation", "Workers' organisation"
    BRAND = "brand", "Brand / buyer"
    MANUFACTURER = "manufacturer", "Manufacturer"
    DONOR = "donor", "Donor"
    UN_AGENCY = "un_agency", "UN agency"
    IFI = "ifi", "International financial institution"
    NGO = "ngo", "NGO / CSO"
    RESEARCH = "research", "Research / academic"
    TRAINING_INSTITUTE = "training_institute", "Training institute"
    OTHER = "other", "Other"

    @property
    def default_constituency(self) -> Constituency:
        return _DEFAULT_CONSTITUENCY.get(self, Constituency.NONE)

    @property
    def default_iati_type(self) -> int:
        return _DEFAULT_IATI_TYPE[self]


_DEFAULT_CONSTITUENCY = {
    StakeholderType.GOVERNMENT: Constituency.GOVERNMENT,
    StakeholderType.EMPLOYERS_ORGANISATION: Constituency.EMPLOYERS,
    StakeholderType.BUSINESS_MEMBERSHIP: Constituency.EMPLOYERS,
    StakeholderType.WORKERS_ORGANISATION: Constituency.WORKERS,
}

# IATI OrganisationType codelist (the codes the issue names).
IATI_ORGANISATION_TYPES: dict[int, str] = {
    10: "Government",
    15: "Other Public Sector",
    21: "International NGO",
    22: "National NGO",
    23: "Regional NGO",
    24: "Partner Country based NGO",
    30: "Public Private Partnership",
    40: "Multilateral",
    60: "Foundation",
    70: "Private Sector",
    71: "Private Sector in Provider Country",
    72: "Private Sector in Aid Recipient Country",
    73: "Private Sector in Third Country",
    80: "Academic, Training and Research",
    90: "Other",
}

_DEFAULT_IATI_TYPE = {
    StakeholderType.GOVERNMENT: 10,
    StakeholderType.EMPLOYERS_ORGANISATION: 22,
    StakeholderType.BUSINESS_MEMBERSHIP: 22,
    StakeholderType.WORKERS_ORGANISATION: 22,
    StakeholderType.BRAND: 70,
    StakeholderType.MANUFACTURER: 72,
    StakeholderType.DONOR: 10,
    StakeholderType.UN_AGENCY: 40,
    StakeholderType.IFI: 40,
    StakeholderType.NGO: 21,
    StakeholderType.RESEARCH: 80,
    StakeholderType.TRAINING_INSTITUTE: 80,
    StakeholderType.OTHER: 90,
}


class OrganisationRole(Vocabulary):
    """IATI OrganisationRole codelist: how an organisation takes part in an activity."""

    FUNDING = "funding", "Funding"
    ACCOUNTABLE = "accountable", "Accountable"
    EXTENDING = "extending", "Extending"
    IMPLEMENTING = "implementing", "Implementing"

    @property
    def iati_code(self) -> int:
        return list(OrganisationRole).index(self) + 1


class ActivityStatus(Vocabulary):
    """IATI ActivityStatus codelist (codes 1-6, in order)."""

    PIPELINE = "pipeline", "Pipeline / identification"
    IMPLEMENTATION = "implementation", "Implementation"
    FINALISATION = "finalisation", "Finalisation"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"
    SUSPENDED = "suspended", "Suspended"

    @property
    def iati_code(self) -> int:
        return list(ActivityStatus).index(self) + 1

    @property
    def is_active(self) -> bool:
        return self in (ActivityStatus.PIPELINE, ActivityStatus.IMPLEMENTATION)


class DocumentCategory(Vocabulary):
    """IATI DocumentCategory codelist, activity-level codes (A) and organisation-level (B).

    Stored and exported as the IATI code itself, upper case ("A08").
    """

    PROJECT_APPRAISAL = "A01", "A01 Pre- and post-project impact appraisal"
    OBJECTIVES = "A02", "A02 Objectives / Purpose of activity"
    BENEFICIARIES = "A03", "A03 Intended ultimate beneficiaries"
    CONDITIONS = "A04", "A04 Conditions"
    BUDGET = "A05", "A05 Budget"
    CONTRACT_SUMMARY = "A06", "A06 Summary information about contract"
    REVIEW_AND_EVALUATION = "A07", "A07 Review of project performance and evaluation"
    RESULTS = "A08", "A08 Results, outcomes and outputs"
    MEMORANDUM = "A09", "A09 Memorandum of understanding"
    TENDER = "A10", "A10 Tender"
    CONTRACT = "A11", "A11 Contract"
    ACTIVITY_WEB_PAGE = "A12", "A12 Activity web page"
    ANNUAL_REPORT = "B01", "B01 Annual report"
    INSTITUTIONAL_STRATEGY = "B02", "B02 Institutional strategy paper"
    COUNTRY_STRATEGY = "B03", "B03 Country strategy paper"
    AID_ALLOCATION_POLICY = "B04", "B04 Aid allocation policy"
    PROCUREMENT_POLICY = "B05", "B05 Procurement policy and procedure"
    INSTITUTIONAL_AUDIT = "B06", "B06 Institutional audit report"
    COUNTRY_AUDIT = "B07", "B07 Country audit report"
    EXCLUSIONS_POLICY = "B08", "B08 Exclusions policy"
    INSTITUTIONAL_EVALUATION = "B09", "B09 Institutional evaluation report"
    COUNTRY_EVALUATION = "B10", "B10 Country evaluation report"
    SECTOR_STRATEGY = "B11", "B11 Sector strategy"
    THEMATIC_STRATEGY = "B12", "B12 Thematic strategy"
    COUNTRY_MEMORANDUM = "B13", "B13 Country-level memorandum of understanding"
    EVALUATIONS_POLICY = "B14", "B14 Evaluations policy"
    GENERAL_TERMS = "B15", "B15 General terms and conditions"
    ORGANISATION_WEB_PAGE = "B16", "B16 Organisation web page"
    COUNTRY_WEB_PAGE = "B17", "B17 Country / region web page"
    SECTOR_WEB_PAGE = "B18", "B18 Sector web page"


# IATI FileFormat is the IANA media type; these are the ones a link's extension reveals.
FILE_FORMATS = {
    "pdf": "application/pdf",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "csv": "text/csv",
    "txt": "text/plain",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "zip": "application/zip",
}


def media_type_of(url: str) -> str:
    """The IATI FileFormat of a link, from its extension; web pages by default.

    A fixed table rather than :mod:`mimetypes`, whose answers depend on the machine.

    >>> media_type_of("https://example.org/report.PDF?x=1"), media_type_of("https://example.org/page")
    ('application/pdf', 'text/html')
    """
    path = url.split("?", 1)[0].split("#", 1)[0].rsplit("/", 1)[-1]
    extension = path.rsplit(".", 1)[-1].lower() if "." in path else ""
    return FILE_FORMATS.get(extension, "text/html")


class InterventionType(Vocabulary):
    RESEARCH = "research", "Research / knowledge product"
    TRAINING = "training", "Training / capacity building"
    POLICY_ADVICE = "policy_advice", "Policy advice"
    ADVOCACY = "advocacy", "Advocacy / campaign"
    SOCIAL_DIALOGUE = "social_dialogue", "Social dialogue / convening"
    ENTERPRISE_SERVICE = "enterprise_service", "Enterprise-level service"
    NETWORK = "network", "Network / platform"


class PartnershipType(Vocabulary):
    MOU = "mou", "Memorandum of understanding"
    JOINT_PROGRAMME = "joint_programme", "Joint programme"
    FUNDING_AGREEMENT = "funding_agreement", "Funding agreement"
    NETWORK_MEMBERSHIP = "network_membership", "Network membership"
    INFORMAL = "informal", "Informal"


class OverlapDecisionKind(Vocabulary):
    """A coordinator's verdict on a pair of overlapping interventions."""

    CONFIRMED_DUPLICATE = "confirmed_duplicate", "Confirmed duplicate"
    COMPLEMENTARY = "complementary", "Complementary"
    NOT_RELATED = "not_related", "Not related"


class Sex(Vocabulary):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    OTHER = "other", "Other"
    NOT_STATED = "not_stated", "Not stated"


class BodyType(Vocabulary):
    TASKFORCE = "taskforce", "Taskforce"
    NETWORK = "network", "Network"
    COMMITTEE = "committee", "Committee"
    PLATFORM = "platform", "Platform"
    OTHER = "other", "Other"


class BodyRole(Vocabulary):
    CHAIR = "chair", "Chair"
    SECRETARIAT = "secretariat", "Secretariat"
    MEMBER = "member", "Member"
    OBSERVER = "observer", "Observer"


class UserRole(Vocabulary):
    ADMIN = "admin", "Administrator"
    MANAGER = "manager", "Manager"
    PARTNER = "partner", "Partner"
    DONOR = "donor", "Donor (read only)"


class ResultLevel(Vocabulary):
    """Levels of a results chain, from the top down."""

    GOAL = "goal", "Goal / impact"
    OUTCOME = "outcome", "Outcome"
    OUTPUT = "output", "Output"
    ACTIVITY = "activity", "Activity"


class IndicatorMeasure(Vocabulary):
    """How an indicator is measured (IATI IndicatorMeasure codes 1, 2, 5 plus currency)."""

    UNIT = "unit", "Unit / number"
    PERCENTAGE = "percentage", "Percentage"
    CURRENCY = "currency", "Currency"
    QUALITATIVE = "qualitative", "Qualitative"


class IndicatorAggregation(Vocabulary):
    """How period values combine over time."""

    CUMULATIVE = "cumulative", "Cumulative (period values add up)"
    LATEST = "latest", "Latest value (a level)"


class UpdateStatus(Vocabulary):
    """Where a reported actual stands in the approval workflow (Akvo RSR style)."""

    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted for approval"
    APPROVED = "approved", "Approved"
    RETURNED = "returned", "Returned for revision"


class MeetingType(Vocabulary):
    REGIONAL_TRIPARTITE = "regional_tripartite", "Regional tripartite-plus meeting"
    TASKFORCE = "taskforce", "Taskforce meeting"
    NETWORK = "network", "Network meeting"
    TRAINING = "training", "Training"
    WEBINAR = "webinar", "Webinar"
    BILATERAL = "bilateral", "Bilateral"
    OTHER = "other", "Other"


class MeetingStatus(Vocabulary):
    PLANNED = "planned", "Planned"
    CONFIRMED = "confirmed", "Confirmed"
    CANCELLED = "cancelled", "Cancelled"
    HELD = "held", "Held"


class ParticipantRole(Vocabulary):
    CHAIR = "chair", "Chair"
    SPEAKER = "speaker", "Speaker"
    PARTICIPANT = "participant", "Participant"
    OBSERVER = "observer", "Observer"


class Rsvp(Vocabulary):
    """An invitee's answer, in iCalendar's PARTSTAT terms (value upper-cased is the PARTSTAT)."""

    NEEDS_ACTION = "needs_action", "No answer yet"
    ACCEPTED = "accepted", "Accepted"
    TENTATIVE = "tentative", "Tentative"
    DECLINED = "declined", "Declined"

    @property
    def partstat(self) -> str:
        return self.value.upper().replace("_", "-")


class ActionStatus(Vocabulary):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    DROPPED = "dropped", "Dropped"


# Seed terms for the two open vocabularies that live in tables (users may add more).
THEMES: list[dict[str, str | None]] = [
    {
        "code": "social-dialogue",
        "name": "Social dialogue and industrial relations",
        "dac_code": "16080",
    },
    {"code": "gender-equality", "name": "Gender equality", "dac_code": "15170"},
    {
        "code": "productivity",
        "name": "Productivity and competitiveness",
        "dac_code": "25030",
    },
    {
        "code": "environment",
        "name": "Environmental sustainability",
        "dac_code": "41010",
    },
]

TARGET_GROUPS: list[dict[str, str]] = [
    {"code": "women-workers", "name": "Women workers"},
    {"code": "men-workers", "name": "Men workers"},
    {"code": "migrant-workers", "name": "Migrant workers"},
    {"code": "factory-managers", "name": "Factory managers"},
    {"code": "employers-organisations", "name": "Employers' organisations"},
    {"code": "workers-organisations", "name": "Workers' organisations"},
    {"code": "labour-inspectors", "name": "Labour inspectors"},
    {"code": "policy-makers", "name": "Policy makers"},
    {"code": "brands", "name": "Brands"},
    {"code": "smes", "name": "SMEs"},
    {"code": "female-leaders", "name": "Tripartite female leaders"},
    {"code": "researchers", "name": "Researchers"},
]
