"""Helpers for the trust tests: a two-organisation scenario, database snapshots, form parsing.

The scenario has one account per role and two partner organisations (A and B), each
with a contact, a led intervention and a draft indicator update, so a test can check
that partner A never sees or changes what belongs to B.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date
from html.parser import HTMLParser
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from coordination.db import Base
from coordination.models import IndicatorUpdate, MeetingParticipant, Organisation, Person, User
from coordination.services import results as results_service
from coordination.services.accounts import create_user
from coordination.services.interventions import add_project_document
from coordination.vocab import UserRole
from tests import factories
from tests.web.conftest import PASSWORD, login

__all__ = [
    "ROLES",
    "Scenario",
    "build_scenario",
    "form_values",
    "snapshot",
    "token_of",
]

#: every kind of visitor: nobody logged in, then one account per role and organisation
ROLES = ("anonymous", "donor", "partner_a", "partner_b", "manager", "admin")

# Strings that only a person allowed to see B's private records may ever be shown.
SECRET_CONTACT_B = "Zebulon Secretcontact"
SECRET_EMAIL_B = "zebulon.secret@b.example.org"
SECRET_DRAFT_B = "SECRET-DRAFT-NARRATIVE-B"

_TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


@dataclass
class Scenario:
    org_a: Organisation
    org_b: Organisation
    emails: dict[str, str]
    rows: dict[str, Any] = field(default_factory=dict)

    def organisation_of(self, role: str) -> int | None:
        return {"partner_a": self.org_a.id, "partner_b": self.org_b.id}.get(role)

    def client(self, app: Flask, role: str) -> FlaskClient:
        client = app.test_client()
        if role != "anonymous":
            response = login(client, self.emails[role], PASSWORD)
            assert response.status_code == 302, response.text[-2000:]
        return client


def build_scenario(session: Session) -> Scenario:
    """Accounts for every role, two partner organisations with private records, shared work."""
    org_a = factories.create_organisation(session, acronym="ORGA", name="Organisation A")
    org_b = factories.create_organisation(session, acronym="ORGB", name="Organisation B")
    emails = {}
    users: dict[str, User] = {}
    for role, user_role, organisation in [
        ("admin", UserRole.ADMIN, None),
        ("manager", UserRole.MANAGER, None),
        ("donor", UserRole.DONOR, None),
        ("partner_a", UserRole.PARTNER, org_a),
        ("partner_b", UserRole.PARTNER, org_b),
    ]:
        email = f"{role.replace('_', '-')}@example.org"
        users[role] = create_user(session, email, PASSWORD, user_role, organisation=organisation)
        emails[role] = email

    contact_a = factories.create_person(session, name="Alma Contact", organisation=org_a)
    contact_b = factories.create_person(
        session, name=SECRET_CONTACT_B, email=SECRET_EMAIL_B, organisation=org_b
    )
    project = factories.create_project(session, code="PRJ-T", title="Trust project")
    work_a = factories.create_intervention(
        session, code="INT-A", title="Work of A", lead_organisation=org_a
    )
    work_b = factories.create_intervention(
        session, code="INT-B", title="Work of B", lead_organisation=org_b
    )
    work_a.project = work_b.project = project
    add_project_document(
        session,
        project,
        title="Trust project brief",
        url="https://www.example.org/trust/brief.pdf",
        category="A02",
        language="en",
    )
    factories.create_partnership(session, [org_a, org_b], name="A and B together")
    body = factories.create_body(session, name="Garment taskforce", convener=org_a)
    factories.create_membership(session, body, org_a)
    meeting = factories.create_meeting(session, title="Quarterly review")
    meeting.participants.append(MeetingParticipant(organisation=org_b, person=contact_b))
    meeting.participants.append(MeetingParticipant(organisation=org_a, person=contact_a))

    result = results_service.create_result(
        session, project, code="O1", title="Outcome one", level="outcome"
    )
    indicator_a = results_service.create_indicator(
        session, result, code="I1", title="Workers trained (A)", unit="workers"
    )
    indicator_a.responsible_organisation = org_a
    indicator_b = results_service.create_indicator(
        session, result, code="I2", title="Workers trained (B)", unit="workers"
    )
    indicator_b.responsible_organisation = org_b
    session.flush()
    period_a = results_service.create_period(
        session, indicator_a, start_date=date(2025, 1, 1), end_date=date(2025, 6, 30), target=10
    )
    period_b = results_service.create_period(
        session, indicator_b, start_date=date(2025, 1, 1), end_date=date(2025, 6, 30), target=10
    )
    draft_a = results_service.report_update(
        session, period_a, users["partner_a"], value=3, narrative="Draft narrative of A"
    )
    draft_b = results_service.report_update(
        session, period_b, users["partner_b"], value=4, narrative=SECRET_DRAFT_B
    )
    session.commit()
    return Scenario(
        org_a,
        org_b,
        emails,
        {
            "contact_a": contact_a,
            "contact_b": contact_b,
            "work_a": work_a,
            "work_b": work_b,
            "body": body,
            "meeting": meeting,
            "project": project,
            "result": result,
            "period_a": period_a,
            "draft_a": draft_a,
            "draft_b": draft_b,
        },
    )


# Models with rows a partner may read only when their organisation owns them, and the
# column naming the owner. Any view or page (existing or future) must respect them.
PRIVATE_MODELS: dict[type, str] = {
    Person: "organisation_id",
    IndicatorUpdate: "reporting_organisation_id",
}


# Derived caches, not data: any request that renders a calendar feed may fill
# meeting_ical_cache and calendar_feed_cache (serialised events and feed bodies, see
# coordination.services.event_store and feed_store), and any that shows progress
# indicator_progress_cache (coordination.services.progress_snapshot).
CACHE_TABLES = frozenset({"meeting_ical_cache", "calendar_feed_cache", "indicator_progress_cache"})


def snapshot(engine: Engine) -> dict[str, tuple[int, str]]:
    """Row count and a checksum of every data table: any write of data changes it."""
    state = {}
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            if table.name in CACHE_TABLES:
                continue
            key = list(table.primary_key.columns) or list(table.columns)
            rows = connection.execute(select(table).order_by(*key)).all()
            digest = hashlib.sha256(repr([tuple(row) for row in rows]).encode()).hexdigest()
            state[table.name] = (len(rows), digest)
    return state


def changed_tables(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return sorted(name for name in before if before[name] != after.get(name))


def token_of(client: FlaskClient) -> str:
    """A valid CSRF token for this client's session (anonymous clients get one too)."""
    page = client.get("/login")
    match = _TOKEN.search(page.text)
    if match is None:  # logged-in clients are redirected away from nothing: use home
        page = client.get("/admin/")
        match = _TOKEN.search(page.text)
    assert match, "no CSRF token found"
    return match.group(1)


class _FormParser(HTMLParser):
    """Collects the fields of every <form> on a page as a browser would submit them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[list[tuple[str, str]]] = []
        self._current: list[tuple[str, str]] | None = None
        self._select: dict[str, Any] | None = None
        self._textarea: dict[str, Any] | None = None
        self._option: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self._current = []
            self.forms.append(self._current)
        if self._current is None:
            return
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self._current.append((a["name"], a.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "select" and a.get("name"):
            self._select = {"name": a["name"], "multiple": "multiple" in a, "options": []}
        elif tag == "option" and self._select is not None:
            self._option = {"value": a.get("value"), "selected": "selected" in a, "text": ""}
            self._select["options"].append(self._option)
        elif tag == "textarea" and a.get("name"):
            self._textarea = {"name": a["name"], "text": ""}

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea["text"] += data
        if self._option is not None:
            self._option["text"] += data

    def handle_endtag(self, tag: str) -> None:
        if self._current is None:
            return
        if tag == "textarea" and self._textarea is not None:
            text = self._textarea["text"]
            self._current.append((self._textarea["name"], text.removeprefix("\n")))
            self._textarea = None
        elif tag == "option":
            self._option = None
        elif tag == "select" and self._select is not None:
            options = self._select["options"]
            chosen = [o for o in options if o["selected"]]
            if not chosen and options and not self._select["multiple"]:
                chosen = options[:1]  # a single select always submits something
            for option in chosen:
                value = option["value"] if option["value"] is not None else option["text"]
                self._current.append((self._select["name"], value))
            self._select = None
        elif tag == "form":
            self._current = None


def form_values(html: str, marker: str = "row_version") -> list[tuple[str, str]]:
    """The fields of the form holding ``marker`` (default: a model's edit form)."""
    parser = _FormParser()
    parser.feed(html)
    for values in parser.forms:
        if any(name == marker for name, _ in values):
            return [(n, v) for n, v in values if "-_-" not in n and "__prefix__" not in n]
    candidates = [f for f in parser.forms if len(f) > 1]
    assert candidates, "no form on the page"
    return max(candidates, key=len)
