"""The command line against real databases: one-line errors, never a traceback."""

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from admin.cli import build_cli
from coordination.cli import cli
from coordination.db import make_engine
from coordination.models import Intervention, Organisation, User
from coordination.services.accounts import authenticate
from coordination.services.fixtures import DEMO_ACCOUNTS
from tests import factories

UNREACHABLE = "postgresql+psycopg://nobody@127.0.0.1:1/nothing"


def run(args, **kwargs):
    result = CliRunner().invoke(cli, args, **kwargs)
    assert "Traceback" not in result.output + result.stderr
    return result


def fails_with(result, text):
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("Error: ")
    assert text in result.stderr
    return lines


def test_init_creates_then_reports_an_up_to_date_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.sqlite'}"
    first = run(["init", "--database", url])
    assert first.exit_code == 0, first.output
    assert "Schema: created at revision" in first.output
    assert "Reference data: added" in first.output and "countries" in first.output
    again = run(["init", "--database", url])
    assert "Schema: already at revision" in again.output
    assert "Reference data: up to date." in again.output


def test_init_on_a_migrated_database(db_url):
    result = run(["init", "--database", db_url])
    assert result.exit_code == 0, result.output
    assert "already at revision" in result.output


def test_unreachable_database_is_one_line(tmp_path):
    for args in (["init"], ["load-fixtures"], ["users", "list"]):
        fails_with(run([*args, "--database", UNREACHABLE]), "database")


def test_database_without_schema_asks_for_init(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    for args in (
        ["load-fixtures"],
        ["users", "list"],
        ["users", "create", "a@b.org", "--role", "admin"],
    ):
        fails_with(run([*args, "--database", url]), "run 'coordination init' first")


def test_database_from_the_environment(db_url, monkeypatch):
    monkeypatch.setenv("COORDINATION_DATABASE_URL", db_url)
    assert run(["users", "list"]).output == "No accounts.\n"


def test_load_fixtures_twice(db_url):
    first = run(["load-fixtures", "--database", db_url])
    assert first.exit_code == 0, first.output
    assert "interventions: 70 created, 0 already present" in first.output
    second = run(["load-fixtures", "demo", "--database", db_url])
    assert "interventions: 0 created, 70 already present" in second.output


def test_bad_fixture_is_refused(db_url, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("organisations:\n  - {acronym: X, name: X, type: guild, country: BD}\n")
    lines = fails_with(
        run(["load-fixtures", str(path), "--database", db_url]), "unknown value 'guild'"
    )
    assert "nothing was loaded" in lines[0]
    assert "bad.yaml: organisations[0] (X): type:" in lines[1]
    engine = make_engine(db_url)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Intervention)) == 0
    engine.dispose()


def _with_bgmea(db_url):
    engine = make_engine(db_url)
    with Session(engine) as session, session.begin():
        factories.create_organisation(session, acronym="BGMEA", name="BGMEA")
    return engine


def test_users_create_from_stdin_env_and_prompt(db_url, monkeypatch):
    engine = _with_bgmea(db_url)
    created = run(
        [
            "users",
            "create",
            "P@Example.org",
            "--role",
            "partner",
            "--organisation",
            "bgmea",
            "--password-stdin",
            "--database",
            db_url,
        ],
        input="stdin password 1\n",
    )
    assert created.exit_code == 0, created.output
    assert created.output == "Created partner account p@example.org of BGMEA.\n"

    monkeypatch.setenv("COORDINATION_USER_PASSWORD", "env password 22")
    assert (
        run(
            ["users", "create", "m@example.org", "--role", "manager", "--database", db_url]
        ).exit_code
        == 0
    )
    monkeypatch.delenv("COORDINATION_USER_PASSWORD")

    prompted = run(
        ["users", "create", "a@example.org", "--role", "admin", "--database", db_url],
        input="typed password 3\ntyped password 3\n",
    )
    assert prompted.exit_code == 0, prompted.output
    assert "typed password 3" not in prompted.output  # hidden input

    with Session(engine) as session:
        assert (
            authenticate(session, "p@example.org", "stdin password 1").organisation.acronym
            == "BGMEA"
        )
        assert authenticate(session, "m@example.org", "env password 22") is not None
        assert authenticate(session, "a@example.org", "typed password 3") is not None
    engine.dispose()

    listing = run(["users", "list", "--database", db_url])
    lines = listing.output.splitlines()
    assert lines[0].split() == ["EMAIL", "ROLE", "ORGANISATION", "STATUS", "LAST", "LOGIN", "(UTC)"]
    assert [line.split()[0] for line in lines[1:]] == [
        "a@example.org",
        "m@example.org",
        "p@example.org",
    ]
    partners = run(["users", "list", "--role", "partner", "--database", db_url])
    assert len(partners.output.splitlines()) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--role", "king"],
            "role: unknown role 'king'; use one of admin, manager, partner, donor",
        ),
        (
            ["--role", "partner", "--organisation", "NOPE"],
            "organisation: unknown organisation 'NOPE'",
        ),
        (["--role", "partner"], "a partner account needs --organisation"),
    ],
)
def test_users_create_refuses_before_asking_for_a_password(db_url, args, message):
    _with_bgmea(db_url).dispose()
    result = run(["users", "create", "x@example.org", *args, "--database", db_url])
    fails_with(result, message)
    assert "Password" not in result.output


def test_users_create_refuses_short_passwords_and_duplicates(db_url, monkeypatch):
    monkeypatch.setenv("COORDINATION_USER_PASSWORD", "short")
    fails_with(
        run(["users", "create", "x@example.org", "--role", "admin", "--database", db_url]),
        "at least 10",
    )
    monkeypatch.setenv("COORDINATION_USER_PASSWORD", "long enough password")
    assert (
        run(["users", "create", "x@example.org", "--role", "admin", "--database", db_url]).exit_code
        == 0
    )
    fails_with(
        run(["users", "create", "X@example.org", "--role", "admin", "--database", db_url]),
        "already exists",
    )
    fails_with(run(["users", "list", "--role", "king", "--database", db_url]), "unknown role")
    fails_with(
        run(
            [
                "users",
                "create",
                "y@example.org",
                "--role",
                "admin",
                "--password-stdin",
                "--database",
                db_url,
            ],
            input="",
        ),
        "nothing on standard input",
    )


# --------------------------------------------------------------------------- web commands


@pytest.fixture
def fake_server(monkeypatch):
    """Stands in for admin.create_app and waitress.serve, recording how they were called."""
    import waitress

    import admin

    calls = {}

    def create_app(config):
        calls["config"] = dict(config)
        return "the app"

    def serve(app, **kwargs):
        calls["served"] = (app, kwargs)

    monkeypatch.setattr(admin, "create_app", create_app, raising=False)
    monkeypatch.setattr(waitress, "serve", serve)
    return calls


def test_serve_hands_the_database_to_the_app_and_waitress(db_url, fake_server):
    result = CliRunner().invoke(
        build_cli(), ["serve", "--database", db_url, "--port", "8123", "--threads", "4"]
    )
    assert result.exit_code == 0, result.output
    config = fake_server["config"]
    engine = config.pop("SQLALCHEMY_ENGINES")["default"]
    assert config == {"DATABASE_URL": db_url}
    # one pooled connection per waitress thread, so no request waits for a connection
    assert engine["url"] == db_url and engine["pool_size"] == 4
    assert fake_server["served"] == ("the app", {"host": "127.0.0.1", "port": 8123, "threads": 4})


def test_serve_refuses_a_database_without_schema(tmp_path, fake_server):
    result = CliRunner().invoke(
        build_cli(), ["serve", "--database", f"sqlite:///{tmp_path / 'none.sqlite'}"]
    )
    assert result.exit_code == 1
    assert "run 'coordination init' first" in result.stderr
    assert fake_server == {}


def test_demo_builds_a_fresh_database_without_the_web_app(tmp_path, monkeypatch):
    import admin

    def no_app(config):  # pragma: no cover - failing is the point
        raise AssertionError("demo --no-serve must not build the web app")

    monkeypatch.setattr(admin, "create_app", no_app, raising=False)
    path = tmp_path / "demo.sqlite"
    path.write_text("an old demo file that must go")
    (tmp_path / "demo.sqlite-wal").write_text("stale")
    result = CliRunner().invoke(
        build_cli(), ["demo", "--database", str(path), "--port", "5001", "--no-serve"]
    )
    assert result.exit_code == 0, result.output + result.stderr
    assert "http://127.0.0.1:5001/" in result.output
    for _role, email, password, _org in DEMO_ACCOUNTS:
        assert email in result.output and password in result.output
    engine = make_engine(f"sqlite:///{path}")
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Intervention)) >= 60
        assert session.scalar(select(func.count()).select_from(User)) == 4
    engine.dispose()


def test_demo_serves_with_the_demo_flag(tmp_path, fake_server):
    path = tmp_path / "d.sqlite"
    result = CliRunner().invoke(build_cli(), ["demo", "--database", str(path)])
    assert result.exit_code == 0, result.output + result.stderr
    config = fake_server["config"]
    url = f"sqlite:///{Path(path).resolve()}"
    assert config.pop("SQLALCHEMY_ENGINES")["default"]["url"] == url
    assert config == {"DATABASE_URL": url, "DEMO": True}
    assert fake_server["served"][1]["port"] == 5000


def test_a_refusal_found_while_writing_still_writes_nothing(db_url, tmp_path):
    # The checks leave text lengths to the services, which refuse them mid-write.
    path = tmp_path / "late.yaml"
    path.write_text(
        "organisations:\n  - {acronym: EARLY, name: Written first, type: ngo}\n"
        f"people:\n  - {{name: {'x' * 201}, email: someone@example.org, organisation: EARLY}}\n"
    )
    lines = fails_with(run(["load-fixtures", str(path), "--database", db_url]), "the limit is 200")
    assert "late.yaml: people[0] (someone@example.org): name:" in lines[1]
    engine = make_engine(db_url)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Organisation)) == 0
    engine.dispose()
