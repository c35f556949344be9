"""CSRF on every POST, login throttling, session expiry, redirects after login,
security headers on every response, and the secret-key check at start-up."""

from __future__ import annotations

import re
import time

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from admin import create_app
from admin.auth import is_safe_next
from admin.security import KNOWN_SECRET_KEYS, LoginThrottle
from tests.web.conftest import PASSWORD, login
from tests.web.trust import build_scenario, changed_tables, snapshot, token_of

GOOD_KEY = "k3Yq8vN2pR7sT1wX4zA6bC9dE0fG5hJ-"


def _fill(rule):
    return {name: ("csv" if name != "id" else 1) for name in rule.arguments}


# -- CSRF ----------------------------------------------------------------------------


def test_every_post_endpoint_refuses_a_missing_or_forged_token(app: Flask, engine: Engine, data):
    """All POST rules of the app (new ones included), as an administrator who could write."""
    scenario = build_scenario(data)
    client = scenario.client(app, "admin")
    row_ids = {
        "intervention": scenario.rows["work_a"].id,
        "person": scenario.rows["contact_a"].id,
        "organisation": scenario.org_a.id,
    }
    before = snapshot(engine)
    checked = []
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods:
            continue
        with app.test_request_context():
            from flask import url_for

            url = url_for(rule.endpoint, **_fill(rule))
        row = str(row_ids.get(rule.endpoint.partition(".")[0], 1))
        payload = {
            "id": row,
            "rowid": row,
            "action": "delete",
            "list_form_pk": row,
            "name": "Forged",
            "title": "Forged",
            "status": "closed",
            "email": scenario.emails["admin"],
            "password": PASSWORD,
        }
        for token in (None, "forged-token", ""):
            data_ = dict(payload) if token is None else {**payload, "csrf_token": token}
            response = client.post(url + ("?id=" + row if "edit" in url else ""), data=data_)
            assert response.status_code == 400, (rule.endpoint, token, response.status_code)
            assert "CSRF" in response.get_data(as_text=True), rule.endpoint
        checked.append(rule.endpoint)
    assert changed_tables(before, snapshot(engine)) == []
    assert "intervention.ajax_update" in checked and "auth.logout" in checked
    assert len(checked) >= 5 * 16  # five POST endpoints per model view at least
    # The client is still logged in: a refused logout did not log anyone out.
    assert client.get("/admin/").status_code == 200


def test_a_token_from_another_session_is_refused(app: Flask, engine: Engine, data):
    scenario = build_scenario(data)
    manager = scenario.client(app, "manager")
    other = scenario.client(app, "admin")
    stolen = token_of(other)
    before = snapshot(engine)
    response = manager.post(
        "/admin/theme/new/", data={"code": "stolen", "name": "Stolen", "csrf_token": stolen}
    )
    assert response.status_code == 400
    assert changed_tables(before, snapshot(engine)) == []


# -- login throttling ----------------------------------------------------------------


def test_login_is_throttled_per_account(app: Flask, users):
    client = app.test_client()
    for _ in range(5):
        assert login(client, "manager@example.org", "wrong password").status_code == 200
    refused = login(client, "manager@example.org", PASSWORD)  # even the right password
    assert refused.status_code == 429
    assert "Too many failed logins for this account" in refused.text
    assert "try again in 15 minutes" in refused.text
    assert client.get("/admin/").status_code == 302  # not logged in
    # Other accounts are not locked out by someone guessing this one.
    other = app.test_client()
    assert login(other, "donor@example.org", PASSWORD).status_code == 302


def test_login_is_throttled_per_address(db_url, users):
    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "LOGIN_MAX_FAILURES_PER_IP": 3})
    client = app.test_client()
    for n in range(3):
        login(client, f"nobody{n}@example.org", "wrong password")
    refused = login(client, "admin@example.org", PASSWORD)
    assert refused.status_code == 429
    assert "your network address" in refused.text
    other_address = app.test_client()
    response = other_address.post(
        "/login",
        data={
            "email": "admin@example.org",
            "password": PASSWORD,
            "csrf_token": token_of(other_address),
        },
        environ_base={"REMOTE_ADDR": "192.0.2.7"},
    )
    assert response.status_code == 302


def test_throttle_window_slides_and_success_resets():
    throttle = LoginThrottle(per_account=2, per_ip=10, window=60)
    throttle.failed("A@x.org", "1.1.1.1", now=0)
    throttle.failed("a@x.org ", "1.1.1.1", now=10)
    assert throttle.retry_after("a@x.org", "1.1.1.1", now=20) == ("account", 41)
    assert throttle.retry_after("a@x.org", "1.1.1.1", now=61) is None  # first one aged out
    throttle.failed("a@x.org", "1.1.1.1", now=62)
    assert throttle.retry_after("a@x.org", "1.1.1.1", now=63) is not None
    throttle.succeeded("a@x.org")
    assert throttle.retry_after("a@x.org", "1.1.1.1", now=63) is None


# -- sessions ------------------------------------------------------------------------


def test_session_expires_when_idle(app: Flask, users, monkeypatch):
    client = app.test_client()
    assert login(client, "manager@example.org").status_code == 302
    assert client.get("/admin/").status_code == 200
    idle = app.config["SESSION_IDLE_MINUTES"] * 60
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + idle + 5)
    response = client.get("/admin/organisation/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/admin/organisation/"
    page = client.get("/login")  # (the clock stays advanced: cookies are signed with it)
    assert "Your session expired" in page.text
    assert client.get("/admin/").status_code == 302  # stays logged out


def test_activity_keeps_the_session_and_the_cookie_has_a_lifetime(app: Flask, users, monkeypatch):
    client = app.test_client()
    login(client, "manager@example.org")
    response = client.get("/admin/")
    cookie = response.headers.get("Set-Cookie", "")
    assert "Expires=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    step = app.config["SESSION_IDLE_MINUTES"] * 60 * 0.75
    real = time.time
    for n in (1, 2, 3):  # three idle-but-not-too-idle gaps in a row
        monkeypatch.setattr(time, "time", lambda n=n: real() + n * step)
        assert client.get("/admin/").status_code == 200
    assert app.permanent_session_lifetime.total_seconds() == 12 * 3600


def test_the_session_lifetime_is_enforced_by_the_signed_cookie(db_url, users):
    app = create_app({"TESTING": True, "DATABASE_URL": db_url})
    app.permanent_session_lifetime = app.config["PERMANENT_SESSION_LIFETIME"]
    serializer = app.session_interface.get_signing_serializer(app)
    assert serializer is not None
    signed = serializer.dumps({"_user_id": "1", "_fresh": True})
    # A cookie older than PERMANENT_SESSION_LIFETIME is not accepted, whatever it says.
    lifetime = int(app.permanent_session_lifetime.total_seconds())
    assert serializer.loads(signed, max_age=lifetime)["_user_id"] == "1"
    with pytest.raises(Exception, match="age"):
        serializer.loads(signed, max_age=-1)


# -- redirects after login -------------------------------------------------------------

OPEN_REDIRECTS = [
    "//evil.example",
    "//evil.example/admin/",
    "///evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "/\\evil.example",
    "/\\/evil.example",
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "https:evil.example",
    "https:/evil.example",
    "https://evil.example/",
    "http://localhost/admin/",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r/evil.example",
    "\t//evil.example",
    "\n//evil.example",
    "/admin/\r\nSet-Cookie: x=1",
    "evil.example",
    "",
]


@pytest.mark.parametrize("target", OPEN_REDIRECTS)
def test_is_safe_next_refuses_foreign_targets(target):
    assert not is_safe_next(target)


@pytest.mark.parametrize(
    "target", ["/admin/", "/admin/intervention/?page=2&sort=1", "/admin/organisation/details/?id=3"]
)
def test_is_safe_next_accepts_our_paths(target):
    assert is_safe_next(target)


@pytest.mark.parametrize("target", OPEN_REDIRECTS)
def test_login_route_never_redirects_away(client, users, target):
    response = login(client, "donor@example.org", next=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"
    page = client.get("/login?next=" + target)
    assert 'value="' + target + '"' not in page.text or target == ""


# -- response headers ----------------------------------------------------------------

_NONCE = re.compile(r"'nonce-([^']+)'")


def test_every_page_carries_the_security_headers(app: Flask, data: Session):
    scenario = build_scenario(data)
    client = scenario.client(app, "admin")
    nonces = set()
    urls = ["/login", "/", "/admin/", "/static/favicon.svg"]
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and not rule.arguments and rule.endpoint.endswith("index_view"):
            urls.append(rule.rule)
    for url in urls:
        response = client.get(url)
        response.close()
        policy = response.headers.get("Content-Security-Policy", "")
        assert "default-src 'self'" in policy, url
        assert "frame-ancestors 'none'" in policy, url
        assert "object-src 'none'" in policy, url
        assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0], url
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        match = _NONCE.search(policy)
        assert match, url
        nonces.add(match.group(1))
        if response.mimetype == "text/html":
            for tag in re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", response.text):
                assert f'nonce="{match.group(1)}"' in tag, (url, tag)
    assert len(nonces) == len(urls)  # a fresh nonce per response


def test_only_known_inline_handlers_are_allowed(app: Flask, data: Session):
    from admin.security import _handler_hashes

    assert _handler_hashes('<a onclick="return false;">') != []
    assert _handler_hashes("<button onclick=\"return modelActions.execute('delete');\">") != []
    assert _handler_hashes('<a onclick="alert(document.cookie)">') == []
    assert _handler_hashes('<a href="javascript:alert(1)">') == []


# -- the secret key --------------------------------------------------------------------


@pytest.mark.parametrize(
    "key", [None, "", "dev", "changeme", "Secret", "short-but-random-9f3", "ab" * 20, "x" * 64]
)
def test_production_app_refuses_a_missing_or_weak_key(db_url, monkeypatch, key):
    monkeypatch.delenv("COORDINATION_SECRET_KEY", raising=False)
    config = {"DATABASE_URL": db_url}
    if key is not None:
        config["SECRET_KEY"] = key
    with pytest.raises(RuntimeError, match="COORDINATION_SECRET_KEY"):
        create_app(config)


def test_known_keys_are_refused_whatever_their_case():
    assert {"dev", "changeme", "secret"} <= KNOWN_SECRET_KEYS


def test_production_app_starts_with_a_strong_key(db_url):
    assert create_app({"DATABASE_URL": db_url, "SECRET_KEY": GOOD_KEY}).secret_key == GOOD_KEY


@pytest.mark.parametrize("key", [None, "changeme", "tooshort"])
def test_serve_refuses_to_start_without_a_strong_key(db_url, monkeypatch, key):
    from admin.cli import build_cli

    served = []
    monkeypatch.setattr("waitress.serve", lambda *a, **k: served.append(a))
    monkeypatch.delenv("COORDINATION_SECRET_KEY", raising=False)
    monkeypatch.delenv("COORDINATION_DEMO", raising=False)
    monkeypatch.delenv("COORDINATION_TESTING", raising=False)
    env = {"COORDINATION_SECRET_KEY": key} if key else {}
    result = CliRunner().invoke(build_cli(), ["serve", "--database", db_url], env=env)
    assert result.exit_code != 0
    assert "COORDINATION_SECRET_KEY" in result.output
    assert "Traceback" not in result.output
    assert served == []


def test_serve_starts_with_a_strong_key(db_url, monkeypatch):
    from admin.cli import build_cli

    served = []
    monkeypatch.setattr("waitress.serve", lambda app, **k: served.append(app))
    result = CliRunner().invoke(
        build_cli(), ["serve", "--database", db_url], env={"COORDINATION_SECRET_KEY": GOOD_KEY}
    )
    assert result.exit_code == 0, result.output
    assert len(served) == 1 and served[0].secret_key == GOOD_KEY
