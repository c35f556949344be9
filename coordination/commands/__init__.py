"""Building blocks shared by every ``coordination`` sub-command.

Each area keeps its commands in a module here (``commands/analysis.py``...) and
``coordination/cli.py`` adds them to the group. Commands open the database with
:func:`open_engine`, run one transaction with :func:`transaction`, and report
problems through :class:`click.ClickException` (one line on stderr, exit code 1,
never a traceback).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click
from sqlalchemy import Engine, inspect
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session

from coordination.db import database_url, make_engine
from coordination.errors import CoordinationError
from coordination.faults import describe_failure

__all__ = ["database_option", "open_engine", "progress", "reports_errors", "transaction"]

F = TypeVar("F", bound=Callable[..., Any])

database_option = click.option(
    "--database",
    "database",
    metavar="URL",
    default=None,
    help="Database URL (default: $COORDINATION_DATABASE_URL, else sqlite:///coordination.sqlite).",
)


def open_engine(url: str | None, *, require_schema: bool = True) -> Engine:
    """An engine for ``url``; with ``require_schema``, a clear error if `init` was never run.

    Inside a click command the engine is disposed when the command ends, so no pooled
    connection outlives it.
    """
    engine = make_engine(database_url(url))
    context = click.get_current_context(silent=True)
    if context is not None:
        context.call_on_close(engine.dispose)
    if require_schema:
        try:
            tables = set(inspect(engine).get_table_names())
        except DBAPIError as error:
            raise click.ClickException(f"cannot open the database: {_first_line(error)}") from None
        if "alembic_version" not in tables:
            raise click.ClickException(
                "the database has no coordination schema yet; run 'coordination init' first"
            )
    return engine


@contextmanager
def transaction(engine: Engine, actor: str = "cli") -> Iterator[Session]:
    """One all-or-nothing transaction, audited as ``actor``."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        session.info["actor"] = actor
        yield session


def reports_errors(command: F) -> F:
    """Turn domain and database errors into one-line click errors (exit code 1)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except CoordinationError as error:
            raise click.ClickException(str(error)) from None
        except SQLAlchemyError as error:
            failure = describe_failure(error)
            if failure is not None:
                raise click.ClickException(f"{failure.message} ({_first_line(error)})") from None
            raise click.ClickException(f"database error: {_first_line(error)}") from None
        except OSError as error:
            raise click.ClickException(str(error)) from None

    return wrapper  # type: ignore[return-value]


def progress(iterable: Any, *, length: int | None = None, label: str = "") -> Any:
    """A progress bar on stderr, shown only when stderr is a terminal."""
    if not sys.stderr.isatty():
        return _NoBar(iterable)
    return click.progressbar(iterable, length=length, label=label, file=sys.stderr)


class _NoBar:
    def __init__(self, iterable: Any) -> None:
        self._iterable = iterable

    def __enter__(self) -> Any:
        return self._iterable

    def __exit__(self, *exc: object) -> None:
        return None


def _first_line(error: BaseException) -> str:
    orig = getattr(error, "orig", None) or error
    return str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
