"""Logging in and out, redirects after login, and CSRF."""

from __future__ import annotations

import pytest

from admin import create_app
from admin.auth import is_safe_next
from tests.web.conftest import PASSWORD, csrf_token, login, post


def test_login_then_logout(client, users):
    response = login(client, "Admin@Example.org ", PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"
    home = client.get("/admin/")
    assert home.status_code == 200
    assert "admin@example.org" in home.text

    response = post(client, "/logout", {})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 302  # back to the login page


def test_logout_needs_post_and_token(client_as):
    client = client_as("manager")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400  # no CSRF token
    assert client.get("/admin/").status_code == 200  # still logged in


def test_wrong_password_is_a_field_error(client, users):
    response = login(client, "admin@example.org", "not the password")
    assert response.status_code == 200
    assert "Wrong e-mail address or password." in response.text
    assert client.get("/admin/").status_code == 302


def test_unknown_user_gets_the_same_answer(client, users):
    response = login(client, "nobody@example.org", PASSWORD)
    assert response.status_code == 200
    assert "Wrong e-mail address or password." in response.text


def test_anonymous_is_sent_to_login_with_next(client, users):
    response = client.get("/admin/intervention/?page=1")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    assert response.headers["Location"] == "/login?next=/admin/intervention/?page%3D1"
    assert client.get("/admin/").status_code == 302
    assert client.post("/admin/organisation/new/", data={}).status_code in (302, 400)


def test_login_follows_a_local_next(client, users):
    response = login(client, "donor@example.org", next="/admin/organisation/?page=2")
    assert response.headers["Location"] == "/admin/organisation/?page=2"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "//evil.example/admin/",
        "\\\\evil.example",
        "/\\evil.example",
        "javascript:alert(1)",
        "https:evil.example",
        "https://evil.example/",
        "http://localhost/admin/",
        "/\t/evil.example",
        "/\n/evil.example",
        "\t//evil.example",
        "evil.example",
        "",
    ],
)
def test_login_refuses_foreign_next(client, users, target):
    response = login(client, "donor@example.org", next=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"


def test_is_safe_next():
    assert is_safe_next("/admin/")
    assert not is_safe_next("/admin/\r\nSet-Cookie: x")
    assert not is_safe_next(None)


def test_post_without_csrf_token_is_refused(client_as, data, users):
    client = client_as("admin")
    response = client.post(
        "/admin/theme/new/", data={"code": "trade", "name": "Trade"}, follow_redirects=False
    )
    assert response.status_code == 400
    response = client.post(
        "/admin/theme/new/", data={"code": "trade", "name": "Trade", "csrf_token": "forged"}
    )
    assert response.status_code == 400
    from sqlalchemy import select

    from coordination.models import Theme

    assert data.scalars(select(Theme).where(Theme.code == "trade")).first() is None


def test_login_form_needs_csrf(client, users):
    response = client.post("/login", data={"email": "admin@example.org", "password": PASSWORD})
    assert response.status_code == 400


def test_secret_key_is_required_outside_tests(db_url, monkeypatch):
    monkeypatch.delenv("COORDINATION_SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="COORDINATION_SECRET_KEY"):
        create_app({"DATABASE_URL": db_url})
    assert create_app({"DATABASE_URL": db_url, "DEMO": True}).secret_key
    key = "k3Yq8vN2pR7sT1wX4zA6bC9dE0fG5hJ-"
    assert create_app({"DATABASE_URL": db_url, "SECRET_KEY": key}).secret_key == key


def test_csrf_token_helper_reads_the_login_page(client):
    assert len(csrf_token(client)) > 20


def test_delete_action_and_inline_edit_need_the_token(client_as, data):
    from sqlalchemy import select

    from coordination.models import Intervention
    from tests import factories

    intervention = factories.create_intervention(data)
    data.commit()
    client = client_as("admin")
    for url, values in [
        ("/admin/intervention/delete/", {"id": str(intervention.id)}),
        ("/admin/intervention/action/", {"action": "delete", "rowid": str(intervention.id)}),
        (
            "/admin/intervention/ajax/update/",
            {"list_form_pk": str(intervention.id), "status": "closed"},
        ),
    ]:
        assert client.post(url, data=values).status_code == 400, url
    data.expunge_all()
    kept = data.scalars(select(Intervention)).one()
    assert kept.status.value == "implementation"
