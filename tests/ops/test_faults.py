"""Faults: a killed import, a read-only or full database, a PostgreSQL restart.

Each test checks two things: the person (or script) gets a clear message rather than a
traceback, and the database holds exactly what it held before the failed operation.
"""

from __future__ import annotations

import hashlib
import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from admin import create_app
from admin.cli import build_cli
from coordination.commands.database import prepare_database
from coordination.db import Base, make_engine
from coordination.services.accounts import create_user
from coordination.vocab import UserRole
from tests import factories
from tests.web.conftest import PASSWORD, csrf_token, login

ROOT = Path(__file__).resolve().parents[2]

# Runs a real `coordination` command, but stops dead after its first flush: rows are
# written inside the open transaction when the test kills the process.
PAUSING_CLI = """
import sys, time
from sqlalchemy import event
from sqlalchemy.orm import Session

@event.listens_for(Session, "after_flush")
def pause(session, context):
    print("FLUSHED", flush=True)
    time.sleep(120)

from admin.cli import main
sys.argv[0] = "coordination"
main()
"""


def calendar_file(path: Path, events: int = 30) -> Path:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//faults//EN"]
    for n in range(events):
        lines += [
            "BEGIN:VEVENT",
            f"UID:fault-{n}@elsewhere.example",
            "DTSTAMP:20260101T000000Z",
            f"DTSTART:202603{n % 28 + 1:02d}T090000Z",
            f"DTEND:202603{n % 28 + 1:02d}T100000Z",
            f"SUMMARY:Meeting {n}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    path.write_text("\r\n".join(lines) + "\r\n")
    return path


def fingerprint(url: str) -> dict[str, str]:
    """Every table's rows, hashed: equal fingerprints mean equal contents."""
    result = {}
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            for table in Base.metadata.sorted_tables:
                rows = sorted(repr(tuple(row)) for row in connection.execute(table.select()))
                digest = hashlib.sha256("\n".join(rows).encode()).hexdigest()
                result[table.name] = f"{len(rows)}:{digest}"
    finally:
        engine.dispose()
    return result


@pytest.fixture
def ready_url(scratch_url: str) -> str:
    """A scratch database at schema head with one organisation in it."""
    engine = make_engine(scratch_url)
    try:
        prepare_database(engine)
        with Session(engine) as session, session.begin():
            session.info["actor"] = "test-setup"
            factories.create_organisation(session, acronym="BEFORE")
    finally:
        engine.dispose()
    return scratch_url


@pytest.mark.parametrize("command", ["load-fixtures", "calendar-import"])
def test_a_killed_import_leaves_the_database_as_before(ready_url, command, tmp_path):
    if command == "load-fixtures":
        arguments = ["load-fixtures", "demo", "--database", ready_url]
    else:
        ics = calendar_file(tmp_path / "meetings.ics")
        arguments = ["calendar", "import", str(ics), "--database", ready_url]
    before = fingerprint(ready_url)

    with subprocess.Popen(
        [sys.executable, "-c", PAUSING_CLI, *arguments],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        line = process.stdout.readline()  # type: ignore[union-attr]
        if line.strip() != "FLUSHED":
            process.kill()
            pytest.fail(process.stderr.read())  # type: ignore[union-attr]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL

    assert fingerprint(ready_url) == before
    # The database is not left locked or damaged: the same import now runs to the end.
    result = CliRunner().invoke(build_cli(), arguments)
    assert result.exit_code == 0, result.output
    assert fingerprint(ready_url) != before


# -- read-only and full SQLite databases ---------------------------------------------


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Path:
    path = tmp_path / "ops.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    prepare_database(engine)
    with Session(engine) as session, session.begin():
        session.info["actor"] = "test-setup"
        organisation = factories.create_organisation(session, acronym="BEFORE")
        create_user(session, "manager@example.org", PASSWORD, UserRole.MANAGER)
        del organisation
    engine.dispose()
    return path


def read_only_url(path: Path) -> str:
    # Tests run as root in CI, where file modes do not stop writes; opening the file
    # read-only gives the same SQLite error a read-only file or file system gives.
    return f"sqlite:///file:{path}?mode=ro&uri=true"


def test_cli_write_to_a_read_only_database_is_a_clear_error(sqlite_file):
    url = read_only_url(sqlite_file)
    before = fingerprint(f"sqlite:///{sqlite_file}")
    result = CliRunner().invoke(build_cli(), ["load-fixtures", "demo", "--database", url])
    assert result.exit_code == 1
    assert "read-only" in result.output and "Nothing was changed" in result.output
    assert "Traceback" not in result.output
    assert fingerprint(f"sqlite:///{sqlite_file}") == before


def _logged_in_pair(path: Path, ro_url: str) -> tuple[object, object]:
    """A client logged in on a writable app, and one using its session on ``ro_url``."""
    secret = os.urandom(32).hex()
    writable = create_app(
        {"TESTING": True, "SECRET_KEY": secret, "DATABASE_URL": f"sqlite:///{path}"}
    )
    client = writable.test_client()
    assert login(client, "manager@example.org").status_code == 302
    broken = create_app({"TESTING": True, "SECRET_KEY": secret, "DATABASE_URL": ro_url})
    other = broken.test_client()
    other.set_cookie("session", client.get_cookie("session").value)  # type: ignore[union-attr]
    return broken, other


def test_web_on_a_read_only_database_reads_and_refuses_writes_clearly(sqlite_file):
    app, client = _logged_in_pair(sqlite_file, read_only_url(sqlite_file))
    before = fingerprint(f"sqlite:///{sqlite_file}")

    listing = client.get("/admin/organisation/")  # type: ignore[attr-defined]
    assert listing.status_code == 200 and "BEFORE" in listing.text

    token = csrf_token(client, "/admin/organisation/new/")  # type: ignore[arg-type]
    response = client.post(  # type: ignore[attr-defined]
        "/admin/organisation/new/",
        data={"csrf_token": token, "name": "New", "acronym": "NEW", "stakeholder_type": "ngo",
              "constituency": "none", "iati_type": "21"},
    )  # fmt: skip
    assert response.status_code == 503
    assert "read-only" in response.text and "Traceback" not in response.text
    assert 'data-failure="read-only"' in response.text
    assert fingerprint(f"sqlite:///{sqlite_file}") == before


@pytest.fixture
def full_disk():
    """Every new SQLite connection may not grow its file: a disk that is full."""

    def cap(dbapi_connection, _record):
        if "sqlite3" in type(dbapi_connection).__module__:
            pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
            dbapi_connection.execute(f"PRAGMA max_page_count={pages}")

    event.listen(Engine, "connect", cap)
    yield
    event.remove(Engine, "connect", cap)


def test_cli_import_into_a_full_database_is_a_clear_error(sqlite_file, full_disk):
    url = f"sqlite:///{sqlite_file}"
    before = fingerprint(url)
    result = CliRunner().invoke(build_cli(), ["load-fixtures", "demo", "--database", url])
    assert result.exit_code == 1
    assert "run out of disk space" in result.output and "Traceback" not in result.output
    assert fingerprint(url) == before


def test_web_save_into_a_full_database_is_a_clear_error(sqlite_file, full_disk):
    url = f"sqlite:///{sqlite_file}"
    app, client = _logged_in_pair(sqlite_file, url)
    before = fingerprint(url)
    token = csrf_token(client, "/admin/organisation/new/")  # type: ignore[arg-type]
    response = client.post(  # type: ignore[attr-defined]
        "/admin/organisation/new/",
        data={"csrf_token": token, "name": "Big", "acronym": "BIG", "stakeholder_type": "ngo",
              "constituency": "none", "iati_type": "21", "description": "x" * 200_000},
    )  # fmt: skip
    assert response.status_code == 503
    assert 'data-failure="full"' in response.text and "Traceback" not in response.text
    assert fingerprint(url) == before


# -- PostgreSQL restarted under the running app -----------------------------------------


class Browser:
    """A logged-in person on a real server, with cookies, through plain urllib."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, path: str) -> tuple[int, str]:
        return self._open(urllib.request.Request(self.base + path))

    def post(self, path: str, data: dict[str, str]) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode()
        return self._open(urllib.request.Request(self.base + path, data=body))

    def _open(self, request: urllib.request.Request) -> tuple[int, str]:
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def token(self, path: str) -> str:
        match = CSRF.search(self.get(path)[1])
        assert match, f"no CSRF token on {path}"
        return match.group(1)


CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def _restart_postgres() -> None:
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
        check=True,
        timeout=120,
    )


@pytest.mark.skipif(
    os.environ.get("COORDINATION_TEST_PG_RESTART") != "1",
    reason="restarts the shared PostgreSQL server: set COORDINATION_TEST_PG_RESTART=1",
)
def test_postgres_restart_fails_requests_cleanly_and_the_app_recovers(ready_url, tmp_path):
    if not ready_url.startswith("postgresql"):
        pytest.skip("a PostgreSQL restart")
    engine = make_engine(ready_url)
    with Session(engine) as session, session.begin():
        session.info["actor"] = "test-setup"
        create_user(session, "manager@example.org", PASSWORD, UserRole.MANAGER)
    engine.dispose()

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "COORDINATION_SECRET_KEY": os.urandom(32).hex()}
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-c", "from admin.cli import main; main()", "serve",
         "--database", ready_url, "--port", str(port)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        browser = Browser(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 30
        while True:
            try:
                browser.get("/login")
                break
            except OSError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        status, _ = browser.post(
            "/login",
            {"email": "manager@example.org", "password": PASSWORD,
             "csrf_token": browser.token("/login")},
        )  # fmt: skip
        assert status == 200 and browser.get("/admin/organisation/")[0] == 200

        seen: list[tuple[float, int, str]] = []
        stop = threading.Event()

        def keep_reading() -> None:
            while not stop.is_set():  # bounded: stops when the test says so
                status, body = browser.get("/admin/organisation/")
                seen.append((time.monotonic(), status, body))
                time.sleep(0.05)

        reader = threading.Thread(target=keep_reading)
        reader.start()
        try:
            time.sleep(1)
            _restart_postgres()
            restarted = time.monotonic()
            time.sleep(3)
        finally:
            stop.set()
            reader.join(timeout=60)

        statuses = {status for _, status, _ in seen}
        assert statuses <= {200, 503}, statuses
        for _, status, body in seen:
            if status == 503:
                assert "temporarily unavailable" in body and "Traceback" not in body
        assert any(t > restarted and status == 200 for t, status, _ in seen)
        # Recovered without a restart of the app: reads and a write work again.
        assert browser.get("/admin/organisation/")[0] == 200
        status, body = browser.post(
            "/admin/organisation/new/",
            {"csrf_token": browser.token("/admin/organisation/new/"), "name": "After",
             "acronym": "AFTER", "stakeholder_type": "ngo", "constituency": "none",
             "iati_type": "21"},
        )  # fmt: skip
        assert status == 200 and "Record was successfully created" in body
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
    server_log = (tmp_path / "server.log").read_text()
    assert "Traceback" not in server_log, server_log
