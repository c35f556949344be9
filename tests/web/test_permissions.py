"""Who may do what: a role matrix, partner scoping, donors read only, the audit trail.

Every refusal is checked on the server (status 403 and the database unchanged), not
by looking for missing buttons.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from coordination.models import AuditEntry, Intervention, Organisation, Person, Theme
from coordination.vocab import ActivityStatus, UserRole
from tests import factories
from tests.web.conftest import post

ROLES = [r.value for r in UserRole]
EVERYONE = set(ROLES)
MANAGERS = {"admin", "manager"}

# endpoint: (roles that may list, roles that may open the create form)
MATRIX = {
    "organisation": (EVERYONE, MANAGERS),
    "person": (EVERYONE, MANAGERS | {"partner"}),
    "partnership": (EVERYONE, MANAGERS),
    "body": (EVERYONE, MANAGERS),
    "project": (EVERYONE, MANAGERS),
    "intervention": (EVERYONE, MANAGERS | {"partner"}),
    "meeting": (EVERYONE, MANAGERS),
    "result": (EVERYONE, MANAGERS),
    "indicator": (EVERYONE, MANAGERS),
    "indicatorperiod": (EVERYONE, MANAGERS),
    "country": (EVERYONE, set()),
    "area": (EVERYONE, MANAGERS),
    "theme": (EVERYONE, MANAGERS),
    "targetgroup": (EVERYONE, MANAGERS),
    "user": ({"admin"}, {"admin"}),
    "audit": (MANAGERS, set()),
}


@pytest.mark.parametrize("role", ROLES)
def test_role_matrix_for_list_and_create(client_as, role):
    client = client_as(role)
    for endpoint, (readers, creators) in MATRIX.items():
        listing = client.get(f"/admin/{endpoint}/")
        assert listing.status_code == (200 if role in readers else 403), (endpoint, role)
        create = client.get(f"/admin/{endpoint}/new/")
        assert create.status_code == (200 if role in creators else 403), (endpoint, role)
        if role in readers:
            has_create_button = f'href="/admin/{endpoint}/new/' in listing.text
            assert has_create_button == (role in creators), (endpoint, role)


@pytest.mark.parametrize(
    ("role", "allowed"),
    [("admin", True), ("manager", True), ("partner", False), ("donor", False)],
)
def test_edit_and_delete_of_a_shared_record(client_as, data, role, allowed):
    other = factories.create_organisation(data, acronym="OTHER", name="Other org")
    data.commit()
    client = client_as(role)
    url = f"/admin/organisation/edit/?id={other.id}"
    assert client.get(url).status_code == (200 if allowed else 403)
    response = post(
        client,
        url,
        {
            "name": "Renamed",
            "acronym": "OTHER",
            "stakeholder_type": "ngo",
            "constituency": "none",
            "iati_type": "21",
            "row_version": str(other.version),
        },
    )
    assert response.status_code == (302 if allowed else 403), response.text[-2000:]
    data.expunge_all()
    assert (data.get(Organisation, other.id).name == "Renamed") is allowed

    response = post(client, "/admin/organisation/delete/", {"id": str(other.id)})
    assert response.status_code == (302 if allowed else 403)
    data.expunge_all()
    assert (data.get(Organisation, other.id) is None) is allowed


def test_partner_edits_own_organisation_but_cannot_delete_it(client_as, data, users):
    client = client_as("partner")
    own = users.partner_org
    response = post(
        client,
        f"/admin/organisation/edit/?id={own.id}",
        {
            "name": "Own organisation, renamed",
            "acronym": "OWN",
            "stakeholder_type": "ngo",
            "constituency": "none",
            "iati_type": "21",
            "row_version": str(own.version),
        },
    )
    assert response.status_code == 302
    data.expunge_all()
    assert data.get(Organisation, own.id).name == "Own organisation, renamed"
    assert post(client, "/admin/organisation/delete/", {"id": str(own.id)}).status_code == 403
    assert data.get(Organisation, own.id) is not None


def test_partner_sees_only_people_of_their_organisation(client_as, data, users):
    mine = factories.create_person(data, name="Mine Contact", organisation=users.partner_org)
    other_org = factories.create_organisation(data)
    theirs = factories.create_person(data, name="Their Contact", organisation=other_org)
    data.commit()
    client = client_as("partner")
    listing = client.get("/admin/person/")
    assert "Mine Contact" in listing.text
    assert "Their Contact" not in listing.text
    details = client.get(f"/admin/person/details/?id={theirs.id}", follow_redirects=True)
    assert "Their Contact" not in details.text
    assert "Record does not exist" in details.text
    assert client.get(f"/admin/person/details/?id={mine.id}").status_code == 200
    # Donors and managers see every contact.
    assert "Their Contact" in client_as("donor").get("/admin/person/").text
    # The home page counts only what the partner may see.
    home = client.get("/admin/")
    assert 'data-count="People">1<' in home.text


def test_partner_cannot_touch_another_organisations_contact(client_as, data, users):
    other_org = factories.create_organisation(data)
    theirs = factories.create_person(data, name="Their Contact", organisation=other_org)
    data.commit()
    client = client_as("partner")
    response = post(
        client,
        f"/admin/person/edit/?id={theirs.id}",
        {"name": "Hijacked", "organisation": str(users.partner_org.id), "sex": "female"},
    )
    assert response.status_code in (302, 403)
    post(client, "/admin/person/delete/", {"id": str(theirs.id)})
    post(client, "/admin/person/action/", {"action": "delete", "rowid": str(theirs.id)})
    data.expunge_all()
    person = data.get(Person, theirs.id)
    assert person is not None and person.name == "Their Contact"
    assert person.organisation_id == other_org.id


def _interventions(data, users):
    own = factories.create_intervention(data, lead_organisation=users.partner_org, code="OWN-1")
    other = factories.create_intervention(data, code="OTHER-1")
    data.commit()
    return own, other


def _intervention_form(intervention, **changes):
    values = {
        "code": intervention.code,
        "title": intervention.title,
        "intervention_type": intervention.intervention_type.value,
        "lead_organisation": str(intervention.lead_organisation_id),
        "status": intervention.status.value,
        "start_date": intervention.start_date.isoformat(),
        "end_date": intervention.end_date.isoformat() if intervention.end_date else "",
        "row_version": str(intervention.version),
    }
    values.update(changes)
    return values


def test_partner_cannot_change_another_organisations_intervention(client_as, data, users):
    own, other = _interventions(data, users)
    client = client_as("partner")
    edit = f"/admin/intervention/edit/?id={other.id}"
    assert client.get(edit).status_code == 403
    assert post(client, edit, _intervention_form(other, title="Hijacked")).status_code == 403
    assert post(client, "/admin/intervention/delete/", {"id": str(other.id)}).status_code == 403
    action = {"action": "delete", "rowid": [str(own.id), str(other.id)]}
    assert post(client, "/admin/intervention/action/", action).status_code == 403
    ajax = {"list_form_pk": str(other.id), "status": "closed"}
    assert post(client, "/admin/intervention/ajax/update/", ajax).status_code == 403

    data.expunge_all()
    assert data.get(Intervention, own.id) is not None  # the mixed bulk delete did nothing
    unchanged = data.get(Intervention, other.id)
    assert unchanged.title == other.title
    assert unchanged.status is ActivityStatus.IMPLEMENTATION


def test_partner_edits_own_intervention(client_as, data, users):
    own, _other = _interventions(data, users)
    client = client_as("partner")
    response = post(
        client, f"/admin/intervention/edit/?id={own.id}", _intervention_form(own, title="Renamed")
    )
    assert response.status_code == 302, response.text[-3000:]
    data.expunge_all()
    assert data.get(Intervention, own.id).title == "Renamed"
    listing = client.get("/admin/intervention/").text
    assert f"/admin/intervention/edit/?id={own.id}" in listing
    assert f"/admin/intervention/edit/?id={_other.id}" not in listing  # no edit icon there
    assert 'data-role="x-editable"' not in listing  # partners edit through the form
    # Partners have no inline (ajax) editing, even of their own rows.
    ajax = {"list_form_pk": str(own.id), "status": "closed"}
    assert post(client, "/admin/intervention/ajax/update/", ajax).status_code == 403
    assert post(client, "/admin/intervention/delete/", {"id": str(own.id)}).status_code == 302
    data.expunge_all()
    assert data.get(Intervention, own.id) is None


def test_partner_cannot_hand_an_intervention_to_another_organisation(client_as, data, users):
    own, other = _interventions(data, users)
    client = client_as("partner")
    response = post(
        client,
        f"/admin/intervention/edit/?id={own.id}",
        _intervention_form(own, lead_organisation=str(other.lead_organisation_id)),
    )
    assert response.status_code == 200
    assert "you can only save records of your own organisation" in response.text
    data.expunge_all()
    assert data.get(Intervention, own.id).lead_organisation_id == users.partner_org.id


def test_partner_creates_interventions_only_for_their_organisation(client_as, data, users):
    other_org = factories.create_organisation(data)
    data.commit()
    client = client_as("partner")
    form = client.get("/admin/intervention/new/")
    assert form.status_code == 200
    assert f'value="{users.partner_org.id}"' in form.text  # lead organisation preset
    values = {
        "code": "NEW-1",
        "title": "New work",
        "intervention_type": "training",
        "status": "implementation",
        "start_date": "2025-01-01",
    }
    refused = post(
        client, "/admin/intervention/new/", {**values, "lead_organisation": str(other_org.id)}
    )
    assert refused.status_code == 200
    assert "you can only save records of your own organisation" in refused.text
    assert data.scalar(select(func.count()).select_from(Intervention)) == 0

    created = post(
        client,
        "/admin/intervention/new/",
        {**values, "lead_organisation": str(users.partner_org.id)},
    )
    assert created.status_code == 302, created.text[-3000:]
    saved = data.scalars(select(Intervention)).one()
    assert saved.lead_organisation_id == users.partner_org.id
    entry = data.scalars(select(AuditEntry).where(AuditEntry.entity_type == "Intervention")).one()
    assert entry.actor == "partner@example.org"


def test_donor_reads_everything_shared_but_every_write_is_refused(client_as, data):
    intervention = factories.create_intervention(data)
    theme = data.scalars(select(Theme)).first()
    data.commit()
    client = client_as("donor")
    before = data.scalar(select(func.count()).select_from(AuditEntry))  # after the login
    assert client.get(f"/admin/intervention/details/?id={intervention.id}").status_code == 200
    writes = [
        ("/admin/intervention/new/", _intervention_form(intervention, code="X-1")),
        (
            f"/admin/intervention/edit/?id={intervention.id}",
            _intervention_form(intervention, title="X"),
        ),
        ("/admin/intervention/delete/", {"id": str(intervention.id)}),
        ("/admin/intervention/action/", {"action": "delete", "rowid": str(intervention.id)}),
        (
            "/admin/intervention/ajax/update/",
            {"list_form_pk": str(intervention.id), "status": "closed"},
        ),
        ("/admin/theme/new/", {"code": "x", "name": "X"}),
        (f"/admin/theme/edit/?id={theme.id}", {"code": "x", "name": "X"}),
        ("/admin/theme/delete/", {"id": str(theme.id)}),
    ]
    for url, values in writes:
        assert post(client, url, values).status_code == 403, url
    assert client.get("/admin/organisation/ajax/lookup/?name=parent&query=a").status_code == 403
    data.expunge_all()
    assert data.get(Intervention, intervention.id).title == intervention.title
    assert data.get(Theme, theme.id).name == theme.name
    assert data.scalar(select(func.count()).select_from(AuditEntry)) == before


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_audit_trail_is_read_only_even_for_admins(client_as, data, role):
    factories.create_organisation(data)
    data.commit()
    entry = data.scalars(select(AuditEntry)).first()
    client = client_as(role)
    assert client.get("/admin/audit/").status_code == 200
    assert client.get(f"/admin/audit/details/?id={entry.id}").status_code == 200
    assert client.get("/admin/audit/new/").status_code == 403
    assert client.get(f"/admin/audit/edit/?id={entry.id}").status_code == 403
    for url, values in [
        ("/admin/audit/new/", {"actor": "x", "action": "create"}),
        (f"/admin/audit/edit/?id={entry.id}", {"actor": "forged"}),
        ("/admin/audit/delete/", {"id": str(entry.id)}),
        ("/admin/audit/action/", {"action": "delete", "rowid": str(entry.id)}),
        ("/admin/audit/ajax/update/", {"list_form_pk": str(entry.id), "actor": "forged"}),
    ]:
        assert post(client, url, values).status_code == 403, url
    data.expunge_all()
    assert data.get(AuditEntry, entry.id).actor == entry.actor


def test_manager_cannot_manage_accounts(client_as, users):
    client = client_as("manager")
    assert client.get("/admin/user/").status_code == 403
    response = post(client, "/admin/user/new/", {"email": "x@example.org", "role": "admin"})
    assert response.status_code == 403


def test_admin_creates_an_account_with_a_hashed_password(client_as, data, users):
    from coordination.models import User
    from coordination.services.accounts import authenticate

    client = client_as("admin")
    values = {"email": "New@Example.org", "role": "donor", "active": "y"}
    short = post(client, "/admin/user/new/", {**values, "new_password": "short"})
    assert short.status_code == 200

    assert "use at least 10 characters" in short.text
    partner = post(
        client,
        "/admin/user/new/",
        {**values, "role": "partner", "new_password": "long enough pass"},
    )
    assert "a partner account needs an organisation" in partner.text
    created = post(client, "/admin/user/new/", {**values, "new_password": "long enough pass"})
    assert created.status_code == 302, created.text[-3000:]
    user = data.scalars(select(User).where(User.email == "new@example.org")).one()
    assert user.password_hash.startswith("$argon2")
    assert authenticate(data, "new@example.org", "long enough pass") is not None


def test_manager_edits_status_inline(client_as, data):
    intervention = factories.create_intervention(data)
    data.commit()
    client = client_as("manager")
    assert 'data-role="x-editable"' in client.get("/admin/intervention/").text
    ajax = {"list_form_pk": str(intervention.id), "status": "closed"}
    assert post(client, "/admin/intervention/ajax/update/", ajax).status_code == 200
    data.expunge_all()
    assert data.get(Intervention, intervention.id).status is ActivityStatus.CLOSED


def test_bulk_delete_by_a_manager(client_as, data):
    first = factories.create_organisation(data)
    second = factories.create_organisation(data)
    kept = factories.create_organisation(data)
    data.commit()
    client = client_as("manager")
    response = post(
        client,
        "/admin/organisation/action/",
        {"action": "delete", "rowid": [str(first.id), str(second.id)]},
    )
    assert response.status_code == 302
    remaining = set(data.scalars(select(Organisation.id)))
    assert kept.id in remaining and first.id not in remaining and second.id not in remaining


def test_partner_adds_contacts_only_to_their_organisation(client_as, data, users):
    other_org = factories.create_organisation(data)
    data.commit()
    client = client_as("partner")
    values = {"name": "New Contact", "sex": "female", "active": "y"}
    refused = post(client, "/admin/person/new/", {**values, "organisation": str(other_org.id)})
    assert refused.status_code == 200
    assert "you can only save records of your own organisation" in refused.text
    created = post(
        client, "/admin/person/new/", {**values, "organisation": str(users.partner_org.id)}
    )
    assert created.status_code == 302
    person = data.scalars(select(Person)).one()
    assert person.organisation_id == users.partner_org.id


def test_admin_changes_a_password_or_keeps_it(client_as, data, users):
    from coordination.models import User
    from coordination.services.accounts import authenticate
    from tests.web.conftest import PASSWORD

    # A plain id: touching an expired ORM object would open a read snapshot early.
    donor_id = data.scalar(select(User.id).where(User.email == "donor@example.org"))
    data.rollback()
    client = client_as("admin")
    values = {"email": "donor@example.org", "role": "donor", "active": "y"}
    kept = post(client, f"/admin/user/edit/?id={donor_id}", {**values, "new_password": ""})
    assert kept.status_code == 302
    assert authenticate(data, "donor@example.org", PASSWORD) is not None
    data.rollback()  # authenticate records the login: do not hold SQLite's write lock
    changed = post(
        client,
        f"/admin/user/edit/?id={donor_id}",
        {**values, "new_password": "a brand new password"},
    )
    assert changed.status_code == 302
    assert authenticate(data, "donor@example.org", "a brand new password") is not None
    data.rollback()
    entry = data.scalars(
        select(AuditEntry).where(AuditEntry.entity_type == "User").order_by(AuditEntry.id.desc())
    ).first()
    assert "a brand new password" not in str(entry.changes)


def test_lookups_serve_only_those_who_can_write(client_as, data, users):
    factories.create_organisation(data, acronym="LOOKME", name="Look me up")
    data.commit()
    partner = client_as("partner")
    found = partner.get("/admin/intervention/ajax/lookup/?name=lead_organisation&query=LOOK")
    assert found.status_code == 200
    assert "LOOKME" in found.text
    # Partners cannot write meetings, so the meeting form's person lookup stays closed:
    # it would list other organisations' contacts.
    assert partner.get("/admin/meeting/ajax/lookup/?name=organiser&query=LOOK").status_code == 403
    assert (
        client_as("donor")
        .get("/admin/intervention/ajax/lookup/?name=lead_organisation&query=LOOK")
        .status_code
        == 403
    )
