"""One module per area; :func:`register_views` adds them all to an ``Admin``."""

from __future__ import annotations

from flask_admin import Admin

from admin.extensions import db
from admin.views.accounts import UserView
from admin.views.audit import AuditView
from admin.views.calendar import ActionItemsView, CalendarImportView, CalendarView, FeedView
from admin.views.coordination import coordination_views
from admin.views.iati import IatiView
from admin.views.interventions import InterventionView, ProjectDocumentView, ProjectView
from admin.views.logframe import LogframeView
from admin.views.meetings import MeetingView
from admin.views.reference import AreaView, CountryView, TargetGroupView, ThemeView
from admin.views.results import IndicatorPeriodView, IndicatorView, ResultView
from admin.views.stakeholders import BodyView, OrganisationView, PartnershipView, PersonView
from admin.views.threew import ThreeWView
from admin.views.updates import UpdatesView
from coordination.models import (
    Area,
    AuditEntry,
    Body,
    Country,
    Indicator,
    IndicatorPeriod,
    Intervention,
    Meeting,
    Organisation,
    Partnership,
    Person,
    Project,
    ProjectDocument,
    Result,
    TargetGroup,
    Theme,
    User,
)

__all__ = ["register_views"]


def register_views(admin: Admin) -> None:
    stakeholders, work, results, reference, system = (
        "Stakeholders",
        "Projects",
        "Results framework",
        "Reference",
        "System",
    )
    admin.add_views(
        OrganisationView(Organisation, db, name="Organisations", category=stakeholders),
        PersonView(Person, db, name="People", category=stakeholders),
        PartnershipView(Partnership, db, name="Partnerships", category=stakeholders),
        BodyView(Body, db, name="Bodies", category=stakeholders),
        ProjectView(Project, db, name="Projects", category=work),
        ProjectDocumentView(ProjectDocument, db, name="Project documents", category=work),
        InterventionView(Intervention, db, name="Interventions", category=work),
        MeetingView(Meeting, db, name="Meetings", category=work),
        ThreeWView(name="3W import / export", category=work, endpoint="threew", url="3w"),
        ResultView(Result, db, name="Results", category=results),
        IndicatorView(Indicator, db, name="Indicators", category=results),
        IndicatorPeriodView(IndicatorPeriod, db, name="Indicator periods", category=results),
        LogframeView(name="Logframes and IPTT", category=results, endpoint="logframe"),
        UpdatesView(name="Reported updates", category=results, endpoint="updates"),
        CountryView(Country, db, name="Countries", category=reference),
        AreaView(Area, db, name="Areas", category=reference),
        ThemeView(Theme, db, name="Themes", category=reference),
        TargetGroupView(TargetGroup, db, name="Target groups", category=reference),
        UserView(User, db, name="Users", category=system),
        AuditView(AuditEntry, db, name="Audit trail", category=system, endpoint="audit"),
    )
    admin.add_views(*coordination_views())
    calendar = "Calendar"
    admin.add_views(
        CalendarView(
            name="Calendar", endpoint="calendar", url="/admin/calendar", category=calendar
        ),
        ActionItemsView(
            name="Action items",
            endpoint="action_items",
            url="/admin/action-items",
            category=calendar,
        ),
        FeedView(
            name="My calendar feed", endpoint="my_feed", url="/admin/my-feed", category=calendar
        ),
        CalendarImportView(
            name="Import calendar",
            endpoint="calendar_import",
            url="/admin/calendar-import",
            category=calendar,
        ),
    )
    from admin.feeds_http import register as register_feeds

    register_feeds(admin)
    admin.add_view(IatiView(name="IATI", category=work, endpoint="iati"))
