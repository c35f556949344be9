"""Calendar pages: the calendar, a meeting's page, action items, calendar downloads,
the personal feed page and calendar import.

Reads go through :mod:`coordination.services.meetings` helpers (feeds, occurrences,
attendance) and writes through its services; these views only parse requests and
choose templates.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import abort, flash, jsonify, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import exists, or_, select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response
from wtforms import HiddenField, SelectField
from wtforms.validators import DataRequired

from admin.auth import EVERYONE, MANAGERS, RoleRules, current_role
from admin.extensions import db
from admin.feeds_http import (
    calendar_host,
    calendar_response,
    feed_url,
    without_attendees,
)
from coordination.errors import ValidationError
from coordination.feeds import reset_feed_token
from coordination.interop.ical import check_timezone
from coordination.models import (
    ActionItem,
    Body,
    Country,
    Meeting,
    MeetingParticipant,
    Organisation,
    Person,
    Theme,
    User,
)
from coordination.models.meetings import meeting_theme
from coordination.services.meetings import (
    attendance_summary,
    feed_query,
    import_calendar,
    occurrences,
)
from coordination.vocab import ActionStatus, MeetingStatus

__all__ = [
    "ActionItemsView",
    "CalendarImportView",
    "CalendarView",
    "FeedView",
]

# The widest range the calendar's JSON endpoint expands at once (a year view and a bit).
MAX_RANGE = timedelta(days=400)
# Largest calendar file the upload page accepts.
MAX_UPLOAD = 5 * 1024 * 1024


def _sees_contacts() -> bool:
    """Managers and admins read every contact; partners and donors do not (admin.auth)."""
    return current_role() in MANAGERS


class _CalendarBase(RoleRules, BaseView):
    allow_create = allow_edit = allow_delete = False

    def is_visible(self) -> bool:
        return self.is_accessible()


# ---------------------------------------------------------------------------------------
# The calendar, its events, a meeting's page and downloads
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    body: int | None = None
    theme: int | None = None
    country: str | None = None
    organisation: int | None = None

    @classmethod
    def from_args(cls, args: Any) -> Filters:
        def number(name: str) -> int | None:
            value = (args.get(name) or "").strip()
            if not value:
                return None
            if not value.isdigit():
                abort(400, description=f"{name} must be a number")
            return int(value)

        country = (args.get("country") or "").strip().upper() or None
        if country is not None and (len(country) != 2 or not country.isalpha()):
            abort(400, description="country must be a two-letter ISO code")
        return cls(number("body"), number("theme"), country, number("organisation"))

    def apply(self, query: Any) -> Any:
        if self.organisation is not None:
            query = query.where(
                feed_query(organisation=_Ref(self.organisation)).whereclause  # type: ignore[arg-type]
            )
        if self.body is not None:
            query = query.where(Meeting.body_id == self.body)
        if self.theme is not None:
            query = query.where(
                exists().where(
                    meeting_theme.c.meeting_id == Meeting.id, meeting_theme.c.theme_id == self.theme
                )
            )
        if self.country is not None:
            query = query.where(Meeting.country_code == self.country)
        return query


@dataclass(frozen=True)
class _Ref:
    id: int


def _parse_instant(value: str | None, name: str) -> datetime:
    """FullCalendar sends ISO 8601 with an offset (or a date); naive means UTC."""
    if not value:
        abort(400, description=f"{name} is required")
    try:
        parsed = datetime.fromisoformat(value.replace(" ", "+").replace("Z", "+00:00"))
    except ValueError:
        abort(400, description=f"{name} is not an ISO 8601 date or time: {value!r}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _event_json(meeting: Meeting, occurrence: Any) -> dict[str, Any]:
    zone = meeting.zone
    local_start = occurrence.starts_at.astimezone(zone)
    local_end = occurrence.ends_at.astimezone(zone)
    if meeting.all_day:
        start: str = local_start.date().isoformat()
        end: str = local_end.date().isoformat()
        when = local_start.strftime("%d %b %Y")
        last = local_end.date() - timedelta(days=1)
        if last > local_start.date():
            when += last.strftime(" – %d %b %Y")
    else:
        start, end = local_start.isoformat(), local_end.isoformat()
        when = f"{local_start:%d %b %Y %H:%M}–{local_end:%H:%M} ({meeting.timezone})"
    place = ", ".join(
        p for p in (meeting.city, meeting.country.name if meeting.country else None) if p
    )
    classes = [f"meeting-{meeting.status.value}", f"meeting-type-{meeting.meeting_type.value}"]
    if occurrence.moved:
        classes.append("meeting-moved")
    return {
        "id": f"{meeting.id}@{occurrence.original_start.isoformat()}",
        "groupId": str(meeting.id),
        "title": meeting.title
        + (" (cancelled)" if meeting.status is MeetingStatus.CANCELLED else ""),
        "start": start,
        "end": end,
        "allDay": meeting.all_day,
        "url": url_for("calendar.meeting", meeting_id=meeting.id),
        "classNames": classes,
        "extendedProps": {
            "meetingId": meeting.id,
            "type": meeting.meeting_type.label,
            "status": meeting.status.label,
            "timezone": meeting.timezone,
            "local": when,
            "place": place,
            "body": meeting.body.name if meeting.body else None,
            "recurring": meeting.is_recurring,
            "moved": occurrence.moved,
        },
    }


class CalendarView(_CalendarBase):
    """Month, week and list views of every meeting, filtered; meeting pages; downloads."""

    read_roles = EVERYONE

    @expose("/")
    def index(self) -> str:
        filters = Filters.from_args(request.args)
        options = {
            "bodies": db.session.execute(select(Body.id, Body.name).order_by(Body.name)).all(),
            "themes": db.session.execute(select(Theme.id, Theme.name).order_by(Theme.name)).all(),
            "countries": db.session.execute(
                select(Country.code, Country.name)
                .where(Country.code.in_(select(Meeting.country_code)))
                .order_by(Country.name)
            ).all(),
            "organisations": db.session.execute(
                select(Organisation.id, Organisation.acronym, Organisation.name).order_by(
                    Organisation.acronym, Organisation.name
                )
            ).all(),
        }
        download = url_for("calendar.body_ics", body_id=filters.body) if filters.body else None
        return self.render(
            "coordination/calendar/calendar.html",
            filters=filters,
            options=options,
            body_download=download,
            initial_date=request.args.get("date", ""),
        )

    @expose("/events")
    def events(self) -> Response:
        """The meetings overlapping [start, end) as FullCalendar events, series expanded."""
        start = _parse_instant(request.args.get("start"), "start")
        end = _parse_instant(request.args.get("end"), "end")
        if end <= start:
            abort(400, description="end must be after start")
        if end - start > MAX_RANGE:
            abort(400, description=f"at most {MAX_RANGE.days} days at once")
        filters = Filters.from_args(request.args)
        query = filters.apply(
            select(Meeting).where(
                Meeting.starts_at < end,
                or_(Meeting.rrule.is_not(None), Meeting.ends_at > start),
            )
        ).options(
            selectinload(Meeting.occurrences),
            selectinload(Meeting.country),
            selectinload(Meeting.body),
        )
        events = []
        for meeting in db.session.scalars(query.order_by(Meeting.starts_at, Meeting.id)):
            for occurrence in occurrences(meeting, start, end):
                events.append(_event_json(meeting, occurrence))
        return jsonify(events)

    @expose("/meeting/<int:meeting_id>")
    def meeting(self, meeting_id: int) -> str:
        meeting = db.session.scalars(
            select(Meeting)
            .where(Meeting.id == meeting_id)
            .options(
                selectinload(Meeting.participants)
                .selectinload(MeetingParticipant.person)
                .selectinload(Person.organisation),
                selectinload(Meeting.participants).selectinload(MeetingParticipant.organisation),
                selectinload(Meeting.themes),
                selectinload(Meeting.outcomes),
                selectinload(Meeting.occurrences),
                selectinload(Meeting.decisions),
                selectinload(Meeting.action_items).selectinload(ActionItem.owner_person),
                selectinload(Meeting.action_items).selectinload(ActionItem.owner_organisation),
                selectinload(Meeting.country),
                selectinload(Meeting.body),
                selectinload(Meeting.organiser),
                selectinload(Meeting.organiser_person),
            )
        ).first()
        if meeting is None:
            abort(404)
        upcoming = []
        if meeting.is_recurring:
            now = datetime.now(UTC)
            upcoming = occurrences(meeting, now, now + timedelta(days=400))[:6]
        exceptions = [o for o in meeting.occurrences]
        return self.render(
            "coordination/calendar/meeting.html",
            meeting=meeting,
            summary=attendance_summary(meeting),
            upcoming=upcoming,
            exceptions=exceptions,
            today=date.today(),
            sees_contacts=_sees_contacts(),
            may_edit=current_role() in MANAGERS,
        )

    @expose("/meeting/<int:meeting_id>.ics")
    def meeting_ics(self, meeting_id: int) -> Response:
        meeting = db.session.get(Meeting, meeting_id)
        if meeting is None:
            abort(404)
        query = select(Meeting).where(Meeting.id == meeting_id)
        return self._download(query, meeting.title, f"meeting-{meeting_id}.ics", "meeting")

    @expose("/body/<int:body_id>.ics")
    def body_ics(self, body_id: int) -> Response:
        body = db.session.get(Body, body_id)
        if body is None:
            abort(404)
        query = feed_query(body=body)
        return self._download(query, f"Meetings: {body.name}", f"body-{body_id}.ics", "body")

    @expose("/all.ics")
    def all_ics(self) -> Response:
        return self._download(feed_query(), "Meetings", "meetings.ics", "all")

    def _download(self, query: Any, name: str, filename: str, what: str) -> Response:
        contacts = _sees_contacts()
        return calendar_response(
            query,
            name=name,
            filename=filename,
            salt=f"download|{what}|{'contacts' if contacts else 'no-contacts'}",
            attachment=True,
            transform=None if contacts else without_attendees,
        )


# ---------------------------------------------------------------------------------------
# Action items
# ---------------------------------------------------------------------------------------


@dataclass
class OwnerGroup:
    key: str
    label: str
    items: list[ActionItem]

    @property
    def overdue(self) -> int:
        today = date.today()
        return sum(1 for item in self.items if item.is_overdue(today))


class ActionItemsView(_CalendarBase):
    """Open action items per person and per organisation, overdue first."""

    @expose("/")
    def index(self) -> str:
        today = date.today()
        query = (
            select(ActionItem)
            .where(ActionItem.status == ActionStatus.OPEN)
            .options(
                selectinload(ActionItem.meeting),
                selectinload(ActionItem.owner_person).selectinload(Person.organisation),
                selectinload(ActionItem.owner_organisation),
            )
        )
        organisation_id = request.args.get("organisation", "").strip()
        if organisation_id:
            if not organisation_id.isdigit():
                abort(400, description="organisation must be a number")
            people = select(Person.id).where(Person.organisation_id == int(organisation_id))
            query = query.where(
                or_(
                    ActionItem.owner_organisation_id == int(organisation_id),
                    ActionItem.owner_person_id.in_(people),
                )
            )
        items = list(db.session.scalars(query))
        far = date.max
        items.sort(key=lambda i: (not i.is_overdue(today), i.due_date or far, i.id))
        by_person: dict[int, OwnerGroup] = {}
        by_organisation: dict[int, OwnerGroup] = {}
        for item in items:
            person = item.owner_person
            if person is not None:
                by_person.setdefault(
                    person.id, OwnerGroup(f"person-{person.id}", person.name, [])
                ).items.append(item)
            organisation = item.owner_organisation or (person.organisation if person else None)
            if organisation is not None:
                label = organisation.acronym or organisation.name
                by_organisation.setdefault(
                    organisation.id, OwnerGroup(f"organisation-{organisation.id}", label, [])
                ).items.append(item)
        order = lambda group: (-group.overdue, group.label.casefold())  # noqa: E731
        organisations = db.session.execute(
            select(Organisation.id, Organisation.acronym, Organisation.name).order_by(
                Organisation.acronym, Organisation.name
            )
        ).all()
        return self.render(
            "coordination/calendar/action_items.html",
            today=today,
            total=len(items),
            overdue=sum(1 for item in items if item.is_overdue(today)),
            people=sorted(by_person.values(), key=order),
            organisations=sorted(by_organisation.values(), key=order),
            organisation_options=organisations,
            chosen_organisation=organisation_id,
        )


# ---------------------------------------------------------------------------------------
# My calendar feed
# ---------------------------------------------------------------------------------------


class ResetFeedForm(FlaskForm):
    """Only the CSRF token: resetting is a POST no other site can trigger."""


@dataclass(frozen=True)
class FeedLink:
    kind: str
    title: str
    subject: str
    url: str
    webcal: str


class FeedView(_CalendarBase):
    """The user's secret feed URLs: copy, add to a calendar program, reset."""

    @expose("/")
    def index(self) -> str:
        user = db.session.get(User, current_user.id)
        if user is None:  # pragma: no cover - the login loader refuses unknown users
            abort(403)
        links = []
        if user.person is not None:
            links.append(
                FeedLink(
                    "person",
                    "My meetings",
                    user.person.name,
                    feed_url(user, "person"),
                    feed_url(user, "person", scheme="webcal"),
                )
            )
        if user.organisation is not None:
            links.append(
                FeedLink(
                    "organisation",
                    "My organisation's meetings",
                    user.organisation.name,
                    feed_url(user, "organisation"),
                    feed_url(user, "organisation", scheme="webcal"),
                )
            )
        return self.render(
            "coordination/calendar/feed.html", links=links, reset_form=ResetFeedForm()
        )

    @expose("/reset", methods=["POST"])
    def reset(self) -> Response:
        form = ResetFeedForm()
        if not form.validate_on_submit():  # pragma: no cover - CSRFProtect refuses first
            abort(400)
        user = db.session.get(User, current_user.id)
        if user is None:  # pragma: no cover
            abort(403)
        reset_feed_token(db.session, user)
        db.session.commit()
        flash(
            "Your feed addresses were reset. The old ones no longer work: subscribe again "
            "with the new address in every calendar program that used the old one.",
            "success",
        )
        return redirect(url_for("my_feed.index"))


# ---------------------------------------------------------------------------------------
# Calendar import
# ---------------------------------------------------------------------------------------


def _timezone_choices() -> list[tuple[str, str]]:
    common = [
        "UTC",
        "Asia/Dhaka",
        "Asia/Phnom_Penh",
        "Asia/Ho_Chi_Minh",
        "Asia/Jakarta",
        "Asia/Yangon",
        "Asia/Karachi",
        "Asia/Colombo",
        "Asia/Bangkok",
        "Europe/Zurich",
    ]
    return [(zone, zone) for zone in common]


class UploadForm(FlaskForm):
    file = FileField("Calendar file (.ics)")
    timezone = SelectField("Time zone for times the file gives without one", default="UTC")
    # After a preview: the same file, so that importing needs no second upload.
    content = HiddenField()
    digest = HiddenField()
    step = HiddenField(validators=[DataRequired()])


class CalendarImportView(_CalendarBase):
    """Upload a calendar, preview what it would do, then import it all or nothing."""

    read_roles = MANAGERS

    @expose("/", methods=["GET", "POST"])
    def index(self) -> str:
        form = UploadForm()
        form.timezone.choices = _timezone_choices()
        report = error = None
        imported = False
        if request.method == "POST" and form.validate_on_submit():
            data, error = self._file(form)
            if data is not None:
                error = self._check_timezone(form.timezone.data)
            if data is not None and error is None:
                report, error = self._run(data, form.timezone.data or "UTC", form.step.data)
                if report is not None and form.step.data == "import":
                    imported = True
                elif report is not None:
                    form.content.data = base64.b64encode(data).decode("ascii")
                    form.digest.data = hashlib.sha256(data).hexdigest()
        elif request.method == "POST":
            error = "The form expired; upload the file again."
        return self.render(
            "coordination/calendar/import.html",
            form=form,
            report=report,
            error=error,
            imported=imported,
        )

    @staticmethod
    def _check_timezone(name: str | None) -> str | None:
        try:
            check_timezone(name or "UTC")
        except ValidationError as refused:
            return str(refused)
        return None

    @staticmethod
    def _file(form: UploadForm) -> tuple[bytes | None, str | None]:
        if form.step.data == "import":
            try:
                data = base64.b64decode(form.content.data or "", validate=True)
            except (binascii.Error, ValueError):
                return None, "The previewed file did not come back intact; upload it again."
            if not data or hashlib.sha256(data).hexdigest() != form.digest.data:
                return None, "The previewed file did not come back intact; upload it again."
            return data, None
        upload = form.file.data
        if upload is None or not getattr(upload, "filename", ""):
            return None, "Choose an .ics file to upload."
        data = upload.read(MAX_UPLOAD + 1)
        if len(data) > MAX_UPLOAD:
            return None, f"The file is larger than {MAX_UPLOAD // (1024 * 1024)} MB."
        if not data.strip():
            return None, "The file is empty."
        return data, None

    @staticmethod
    def _run(data: bytes, timezone: str, step: str) -> tuple[Any, str | None]:
        """Import inside the request's transaction: a preview is rolled back, an import
        committed; any refusal rolls everything back."""
        session = db.session
        session.info["audit_reason"] = "calendar import (upload)"
        try:
            report = import_calendar(session, data, host=calendar_host(), default_timezone=timezone)
        except ValidationError as refused:
            session.rollback()
            return None, str(refused)
        if step == "import":
            session.commit()
        else:
            session.rollback()
        return report, None
