"""Validation as field errors, constant query counts on list pages, the home page."""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, select

from admin.extensions import db
from coordination.models import Intervention, Organisation, Theme
from tests import factories
from tests.web.conftest import post

ORG = {"name": "Another", "stakeholder_type": "ngo", "constituency": "none", "iati_type": "21"}


def test_duplicate_acronym_is_a_field_error(client_as, data, users):
    client = client_as("manager")
    response = post(client, "/admin/organisation/new/", {**ORG, "acronym": "own"})
    assert response.status_code == 200
    assert "is already used by Own organisation" in response.text
    assert data.scalar(select(func.count()).select_from(Organisation)) == 1


def test_end_before_start_is_a_field_error(client_as, data, users):
    client = client_as("manager")
    response = post(
        client,
        "/admin/partnership/new/",
        {
            "name": "P",
            "partnership_type": "mou",
            "start_date": "2025-02-01",
            "end_date": "2025-01-01",
        },
    )
    assert response.status_code == 200
    assert "before it starts" in response.text


def test_unknown_currency_is_a_field_error(client_as, users):
    client = client_as("manager")
    response = post(
        client,
        "/admin/project/new/",
        {"code": "P-1", "title": "P", "status": "implementation", "currency": "XYZ"},
    )
    assert response.status_code == 200
    assert "unknown ISO 4217 currency" in response.text


@pytest.mark.parametrize("endpoint", ["intervention", "organisation", "person"])
def test_list_query_count_does_not_grow_with_rows(app, client_as, data, users, endpoint):
    client = client_as("admin")

    def count_statements() -> int:
        statements = []
        with app.app_context():
            engine = db.engine
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            page = client.get(f"/admin/{endpoint}/?page_size=100")
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        assert page.status_code == 200
        rows.append(page.text.count('name="rowid"'))
        return len(statements)

    rows: list[int] = []

    def add(n: int) -> None:
        for _ in range(n):
            organisation = factories.create_organisation(data, country_code="BD")
            factories.create_person(data, organisation=organisation)
            factories.create_intervention(
                data,
                lead_organisation=organisation,
                places=[("BD", "BD-C")],
                themes=["productivity"],
            )
        data.commit()

    add(10)
    ten = count_statements()
    add(90)
    hundred = count_statements()
    assert ten == hundred
    # Sanity check: the pages really listed the rows (one partner org plus the new ones).
    assert rows[1] >= 100 and rows[0] >= 10


def test_home_page_counts_and_recent_changes(client_as, data, users):
    factories.create_intervention(data, code="HOME-1")
    data.commit()
    home = client_as("manager").get("/admin/")
    assert 'data-count="Interventions">1<' in home.text
    assert 'data-count="Organisations">2<' in home.text
    themes = data.scalar(select(func.count()).select_from(Theme))
    assert f'data-count="Themes">{themes}<' in home.text
    assert "HOME-1" in home.text  # recent changes
    assert "test-setup" in home.text
    donor_home = client_as("donor").get("/admin/")
    assert 'data-count="Users"' not in donor_home.text


def test_no_page_loads_assets_from_another_site(client_as):
    client = client_as("admin")
    for path in ["/admin/", "/admin/intervention/", "/admin/intervention/new/", "/login"]:
        text = client.get(path).text
        assert 'src="http' not in text and 'href="http' not in text and "//cdn" not in text, path


def test_unknown_country_code_is_a_field_error(client_as, data, users):
    client = client_as("manager")
    response = post(client, "/admin/organisation/new/", {**ORG, "acronym": "NEW", "country": "ZZ"})
    assert response.status_code == 200
    assert "unknown country code &#39;ZZ&#39;" in response.text
    assert data.scalar(select(func.count()).select_from(Organisation)) == 1


def _place_form(**places: str) -> dict[str, str]:
    return {
        "code": "PLACE-1",
        "title": "Somewhere",
        "intervention_type": "training",
        "status": "implementation",
        "start_date": "2025-01-01",
        **places,
    }


def test_area_outside_the_chosen_country_is_a_field_error(client_as, data, users):
    hanoi = factories.area(data, "VN-HN")
    client = client_as("manager")
    values = _place_form(**{"places-0-country": "BD", "places-0-area": str(hanoi.id)})
    response = post(
        client,
        "/admin/intervention/new/",
        {**values, "lead_organisation": str(users.partner_org.id)},
    )
    assert response.status_code == 200
    assert "is in VN, not in BD" in response.text
    assert data.scalar(select(func.count()).select_from(Intervention)) == 0

    dhaka = factories.area(data, "BD-C")
    values["places-0-area"] = str(dhaka.id)
    values["participations-0-organisation"] = str(users.partner_org.id)
    values["participations-0-role"] = "implementing"
    response = post(
        client,
        "/admin/intervention/new/",
        {**values, "lead_organisation": str(users.partner_org.id)},
    )
    assert response.status_code == 302, response.text[-2000:]
    saved = data.scalars(select(Intervention)).one()
    assert [(p.country_code, p.area_id) for p in saved.places] == [("BD", dhaka.id)]
    assert [o.acronym for o in saved.partners] == ["OWN"]


def test_unknown_area_is_a_field_error(client_as, data, users):
    client = client_as("manager")
    values = _place_form(**{"places-0-country": "BD", "places-0-area": "999999"})
    response = post(
        client,
        "/admin/intervention/new/",
        {**values, "lead_organisation": str(users.partner_org.id)},
    )
    assert response.status_code == 200
    assert "unknown area &#39;999999&#39;" in response.text


def test_stale_edit_is_refused_with_a_clear_message(client_as, data, users):
    own = users.partner_org
    client = client_as("manager")
    form = {**ORG, "acronym": "OWN", "row_version": str(own.version)}
    first = post(client, f"/admin/organisation/edit/?id={own.id}", {**form, "name": "First"})
    assert first.status_code == 302
    second = post(client, f"/admin/organisation/edit/?id={own.id}", {**form, "name": "Second"})
    assert second.status_code == 200
    assert "changed by someone else" in second.text
    data.expunge_all()
    assert data.get(Organisation, own.id).name == "First"


def test_duplicate_code_is_a_field_error(client_as, data, users):
    factories.create_project(data, code="P-1")
    data.commit()
    client = client_as("manager")
    response = post(
        client, "/admin/project/new/", {"code": "P-1", "title": "Again", "status": "implementation"}
    )
    assert response.status_code == 200
    assert "Already exists." in response.text


def test_database_constraint_becomes_a_form_message(client_as, data, users):
    # A membership names an organisation or a person, never both: the database's CHECK
    # refuses it, and the form says so instead of failing with a 500.
    person = factories.create_person(data)
    data.commit()
    client = client_as("manager")
    response = post(
        client,
        "/admin/body/new/",
        {
            "name": "Taskforce",
            "body_type": "taskforce",
            "memberships-0-organisation": str(users.partner_org.id),
            "memberships-0-person": str(person.id),
            "memberships-0-role": "member",
        },
    )
    assert response.status_code == 200
    assert "Not saved: some values break a rule of the database" in response.text


def test_every_list_searches_and_sorts_without_error(client_as, data, users):
    factories.create_intervention(data, code="SEARCH-1", themes=["environment"])
    data.commit()
    client = client_as("admin")
    for endpoint in [
        "organisation",
        "person",
        "partnership",
        "body",
        "project",
        "projectdocument",
        "intervention",
        "meeting",
        "result",
        "indicator",
        "indicatorperiod",
        "country",
        "area",
        "theme",
        "targetgroup",
        "user",
        "audit",
    ]:
        for query in ("?search=a", "?sort=0&desc=1"):
            assert client.get(f"/admin/{endpoint}/{query}").status_code == 200, (endpoint, query)


def test_interventions_filter_by_theme(client_as, data, users):
    factories.create_intervention(data, code="GREEN-1", themes=["environment"])
    factories.create_intervention(data, code="EQUAL-1", themes=["gender-equality"])
    data.commit()
    client = client_as("donor")
    listing = client.get("/admin/intervention/")
    # Filters are addressed by position (flt0_<index>): find "Themes / Name equals".
    view = next(
        v for v in client.application.extensions["admin"][0]._views if v.endpoint == "intervention"
    )
    index = next(
        i
        for i, f in enumerate(view._filters)
        if f.column.key == "name"
        and "equal" in f.operation().lower()
        and "theme" in str(f.name).lower()
    )
    filtered = client.get(f"/admin/intervention/?flt0_{index}=Environmental sustainability")
    assert listing.status_code == filtered.status_code == 200
    assert "GREEN-1" in filtered.text
    assert "EQUAL-1" not in filtered.text


def test_meeting_times_are_read_in_the_meeting_time_zone(client_as, data, users):
    from datetime import UTC, datetime

    from coordination.models import Meeting

    client = client_as("manager")
    values = {
        "title": "Tripartite meeting",
        "meeting_type": "regional_tripartite",
        "status": "planned",
        "timezone": "Asia/Dhaka",
        "starts_at": "2025-05-01 09:00:00",
        "ends_at": "2025-05-01 08:00:00",
    }
    refused = post(client, "/admin/meeting/new/", values)
    assert refused.status_code == 200
    assert "before it starts" in refused.text
    unknown = post(client, "/admin/meeting/new/", {**values, "timezone": "Mars/Olympus"})
    assert "unknown time zone" in unknown.text

    created = post(client, "/admin/meeting/new/", {**values, "ends_at": "2025-05-01 17:00:00"})
    assert created.status_code == 302, created.text[-2000:]
    meeting = data.scalars(select(Meeting)).one()
    assert meeting.starts_at == datetime(2025, 5, 1, 3, 0, tzinfo=UTC)
    assert meeting.ends_at == datetime(2025, 5, 1, 11, 0, tzinfo=UTC)


def test_project_partners_are_edited_inline(client_as, data, users):
    from coordination.models import Project
    from coordination.vocab import OrganisationRole

    donor_org = factories.create_organisation(data, acronym="SIDA", name="Sida")
    data.commit()
    client = client_as("manager")
    values = {"code": "P-9", "title": "Garment sector programme", "status": "implementation"}
    created = post(
        client,
        "/admin/project/new/",
        {
            **values,
            "participations-0-organisation": str(donor_org.id),
            "participations-0-role": "funding",
            "participations-1-organisation": str(users.partner_org.id),
            "participations-1-role": "implementing",
        },
    )
    assert created.status_code == 302, created.text[-2000:]
    project = data.scalars(select(Project)).one()
    assert {(p.organisation.acronym, p.role) for p in project.participations} == {
        ("SIDA", OrganisationRole.FUNDING),
        ("OWN", OrganisationRole.IMPLEMENTING),
    }
    project_id, version = project.id, project.version
    data.rollback()

    form = client.get(f"/admin/project/edit/?id={project_id}")
    assert form.status_code == 200
    assert "Sida" in form.text
    edited = post(
        client,
        f"/admin/project/edit/?id={project_id}",
        {
            **values,
            "row_version": str(version),
            "participations-0-organisation": str(donor_org.id),
            "participations-0-role": "accountable",
        },
    )
    assert edited.status_code == 302, edited.text[-2000:]
    data.expunge_all()
    project = data.get(Project, project_id)
    assert [(p.organisation.acronym, p.role) for p in project.participations] == [
        ("SIDA", OrganisationRole.ACCOUNTABLE)
    ]


def test_meeting_participants_and_body_members_are_edited_inline(client_as, data, users):
    from coordination.models import Body, Meeting

    person = factories.create_person(data, name="Rahima Begum", organisation=users.partner_org)
    data.commit()
    client = client_as("manager")
    assert client.get("/admin/meeting/new/").status_code == 200
    created = post(
        client,
        "/admin/meeting/new/",
        {
            "title": "Taskforce meeting",
            "meeting_type": "taskforce",
            "status": "planned",
            "timezone": "UTC",
            "starts_at": "2025-06-01 09:00:00",
            "ends_at": "2025-06-01 11:00:00",
            "participants-0-person": str(person.id),
            "participants-0-role": "speaker",
        },
    )
    assert created.status_code == 302, created.text[-2000:]
    meeting = data.scalars(select(Meeting)).one()
    assert [(p.person_id, p.role.value) for p in meeting.participants] == [(person.id, "speaker")]

    nobody = post(
        client,
        "/admin/meeting/new/",
        {
            "title": "Empty seat",
            "meeting_type": "taskforce",
            "status": "planned",
            "timezone": "UTC",
            "starts_at": "2025-06-02 09:00:00",
            "ends_at": "2025-06-02 11:00:00",
            "participants-0-role": "speaker",
        },
    )
    assert nobody.status_code == 200
    assert "choose a person or an organisation" in nobody.text

    body = post(
        client,
        "/admin/body/new/",
        {
            "name": "Gender taskforce",
            "body_type": "taskforce",
            "memberships-0-organisation": str(users.partner_org.id),
            "memberships-0-role": "chair",
            "memberships-0-since": "2025-01-01",
        },
    )
    assert body.status_code == 302, body.text[-2000:]
    saved = data.scalars(select(Body)).one()
    assert [(m.organisation_id, m.role.value) for m in saved.memberships] == [
        (users.partner_org.id, "chair")
    ]
