"""The ``coordination`` console script: the domain commands plus ``serve`` and ``demo``.

The web application is imported only when a server actually starts, so the domain
commands (and ``demo --no-serve``) work without touching the Flask layer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from coordination.cli import cli as domain_cli
from coordination.commands import database_option, open_engine, reports_errors, transaction
from coordination.commands.database import prepare_database
from coordination.db import database_url, engine_options, make_engine
from coordination.services.fixtures import create_demo_accounts, load_fixtures

__all__ = ["build_cli", "main"]

DEFAULT_DEMO_DATABASE = "coordination-demo.sqlite"


def _serve(config: dict[str, Any], host: str, port: int, threads: int) -> None:
    """Serve the web app with waitress (a production WSGI server, also fine on Windows)."""
    from waitress import serve

    from admin import create_app

    # One pooled connection per waitress thread: with more threads than the default
    # pool (5 + 10 overflow) requests would queue for a connection, then fail.
    url = config["DATABASE_URL"]
    engine = {"url": url, **engine_options(url), "pool_size": threads, "max_overflow": 2}
    try:
        app = create_app({**config, "SQLALCHEMY_ENGINES": {"default": engine}})
    except RuntimeError as error:  # a missing or weak secret key: say so, do not start
        raise click.ClickException(str(error)) from None
    click.echo(f"Serving on http://{host}:{port}/ (Ctrl+C to stop)")
    serve(app, host=host, port=port, threads=threads)


@click.command()
@database_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256))
@reports_errors
def serve(database: str | None, host: str, port: int, threads: int) -> None:
    """Serve the web interface with waitress.

    Needs COORDINATION_SECRET_KEY in the environment: a long random value.
    """
    url = database_url(database)
    open_engine(url).dispose()  # a clear error now beats a failing first request
    _serve({"DATABASE_URL": url}, host, port, threads)


@click.command()
@click.option(
    "--database",
    "path",
    metavar="PATH",
    default=DEFAULT_DEMO_DATABASE,
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="SQLite file for the demo; it is deleted and created afresh.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--fixtures",
    "fixtures",
    metavar="NAME|PATH",
    default="demo",
    show_default=True,
    help="Fixture set to load (a set in the repository's fixtures/, a directory or a file).",
)
@click.option("--no-serve", is_flag=True, help="Prepare the demo database, then stop.")
@reports_errors
def demo(path: Path, host: str, port: int, fixtures: str, no_serve: bool) -> None:
    """Build a fresh demo database (scenario data and one account per role) and serve it.

    Demo only: the accounts use published passwords.
    """
    path = path.expanduser().resolve()
    for stale in (path, *(path.with_name(path.name + suffix) for suffix in ("-wal", "-shm"))):
        stale.unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    try:
        for line in prepare_database(engine):
            click.echo(line)
        with transaction(engine, actor="cli:demo") as session:
            summary = load_fixtures(session, fixtures)
            accounts = create_demo_accounts(session)
    finally:
        engine.dispose()
    click.echo(str(summary))
    click.echo(f"Demo database: {path}")
    click.echo(f"Open http://{host}:{port}/ and log in as:")
    for role, email, password in accounts:
        click.echo(f"  {role.value:<8} {email:<28} password: {password}")
    if no_serve:
        return
    _serve({"DATABASE_URL": url, "DEMO": True}, host, port, threads=8)


def build_cli() -> click.Group:
    """A group holding every domain command plus the two web commands."""
    group = click.Group(
        name=domain_cli.name,
        commands=dict(domain_cli.commands),
        params=list(domain_cli.params),
        help=domain_cli.help,
        context_settings=dict(domain_cli.context_settings),
    )
    group.add_command(serve)
    group.add_command(demo)
    return group


def main() -> None:
    build_cli()(prog_name="coordination")
