"""Web-layer fixtures: an app on the test database, users per role, a logged-in client.

Logging in goes through the real login form (with its CSRF token), so every test
also exercises the login view, Flask-Login's user loading and ``is_accessible``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from admin import create_app
from coordination.models import Organisation
from coordination.services.accounts import create_user
from coordination.vocab import UserRole
from tests import factories

PASSWORD = "correct horse battery"
_TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


@pytest.fixture
def app(db_url: str) -> Iterator[Flask]:
    app = create_app({"TESTING": True, "DATABASE_URL": db_url})
    yield app
    from admin.extensions import db

    with app.app_context():
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def data(engine: Engine) -> Iterator[Session]:
    """A session for arranging and checking rows; committed writes are seen by the app."""
    with Session(engine, expire_on_commit=False) as session:
        session.info["actor"] = "test-setup"
        yield session


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    page = client.get(path)
    match = _TOKEN.search(page.text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client: FlaskClient, email: str, password: str = PASSWORD, **extra: str) -> Any:
    token = csrf_token(client)
    return client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token, **extra}
    )


class Users:
    """Creates one account per role (partners belong to ``partner_org``)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.partner_org: Organisation = factories.create_organisation(
            session, acronym="OWN", name="Own organisation"
        )
        self.emails: dict[UserRole, str] = {}
        for role in UserRole:
            email = f"{role.value}@example.org"
            create_user(
                session,
                email,
                PASSWORD,
                role,
                organisation=self.partner_org if role is UserRole.PARTNER else None,
            )
            self.emails[role] = email
        session.commit()


@pytest.fixture
def users(data: Session) -> Users:
    return Users(data)


@pytest.fixture
def client_as(app: Flask, users: Users) -> Callable[[UserRole | str], FlaskClient]:
    """A new client logged in with the given role."""

    def make(role: UserRole | str) -> FlaskClient:
        client = app.test_client()
        response = login(client, users.emails[UserRole(role)])
        assert response.status_code == 302, response.text
        return client

    return make


def post(client: FlaskClient, path: str, data: dict[str, Any], **kwargs: Any) -> Any:
    """POST with a valid CSRF token taken from the home page."""
    return client.post(path, data={"csrf_token": csrf_token(client, "/admin/"), **data}, **kwargs)
