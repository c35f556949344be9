"""Real-browser fixtures: the demo served on loopback, Chromium driven by Playwright.

One demo database and one server serve the whole run (building the demo takes a few
seconds); journeys therefore work on records no other journey changes, or create
their own. The browser is Debian's Chromium (``/usr/bin/chromium``, or
``COORDINATION_CHROMIUM``); Playwright downloads nothing.

Without a browser the tests skip, unless ``COORDINATION_E2E_REQUIRED`` is set (CI sets
it), where a missing browser is a failure. Screenshots go to ``test-artifacts/e2e/``
(or ``COORDINATION_E2E_ARTEFACTS``); :func:`screenshot` saves one.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from coordination.commands.database import prepare_database
from coordination.db import make_engine
from coordination.services.fixtures import DEMO_ACCOUNTS, create_demo_accounts, load_fixtures

CHROMIUM = Path(os.environ.get("COORDINATION_CHROMIUM", "/usr/bin/chromium"))
ARTEFACTS = Path(
    os.environ.get(
        "COORDINATION_E2E_ARTEFACTS",
        Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e",
    )
)
# The published demo accounts, by role name: {"partner": (email, password), ...}
DEMO_LOGINS = {role.value: (email, password) for role, email, password, _ in DEMO_ACCOUNTS}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def demo_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite file with the demo scenario and the demo accounts, as ``coordination demo``."""
    path = tmp_path_factory.mktemp("e2e") / "demo.sqlite"
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    try:
        for _ in prepare_database(engine):
            pass
        from sqlalchemy.orm import Session

        with Session(engine) as session, session.begin():
            session.info["actor"] = "e2e-setup"
            load_fixtures(session, "demo")
            create_demo_accounts(session)
    finally:
        engine.dispose()
    return url


class LiveServer:
    def __init__(self, app: Any) -> None:
        self.app = app
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)
        self._server.server_close()


@pytest.fixture(scope="session")
def live_server(demo_database: str) -> Iterator[LiveServer]:
    """The demo served by a real HTTP server in a thread; ``live_server.url`` is its base."""
    from admin import create_app

    app = create_app({"DATABASE_URL": demo_database, "DEMO": True})
    server = LiveServer(app)
    server.start()
    yield server
    server.stop()
    from admin.extensions import db

    with app.app_context():
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    # Module scope: while Playwright runs, its event loop is the running loop of this
    # thread, which breaks every Flask app built in later tests (asgiref refuses).
    if not CHROMIUM.exists():
        message = f"no Chromium at {CHROMIUM} (install Debian's chromium package)"
        if os.environ.get("COORDINATION_E2E_REQUIRED"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page_as(live_server: LiveServer, browser: Any) -> Iterator[Callable[[str], Any]]:
    """``page_as("partner")``: a fresh browser context logged in through the login form.

    ``live_server`` comes first: Playwright runs an event loop in this thread, and the
    app must be built before it (Flask would otherwise refuse its async-aware teardown).

    Console errors of the page (a broken script, a CSP refusal) and assets that fail to
    load fail the test; a page answered 403 or 404 on purpose does not.
    """
    contexts: list[Any] = []
    console_errors: list[str] = []

    def open_page(role: str) -> Any:
        email, password = DEMO_LOGINS[role]
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": 1280, "height": 900}, accept_downloads=True
        )
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda message: _console_error(page, message, console_errors))
        page.on("response", lambda response: _failed_asset(response, console_errors))
        page.goto("/login")
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", password)
        page.click("form [type=submit]")
        page.wait_for_load_state()
        assert "/login" not in page.url, f"{role} could not log in"
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert not console_errors, "browser console errors:\n" + "\n".join(console_errors)


def _console_error(page: Any, message: Any, errors: list[str]) -> None:
    # A refused page also logs "Failed to load resource"; _failed_asset judges those.
    if message.type == "error" and not message.text.startswith("Failed to load resource"):
        errors.append(f"{page.url}: {message.text}")


def _failed_asset(response: Any, errors: list[str]) -> None:
    if response.status >= 400 and response.request.resource_type != "document":
        errors.append(f"{response.url}: HTTP {response.status}")


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot as a test artefact and return its path."""
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTEFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
