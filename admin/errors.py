"""A clear page, not a traceback, when the database cannot do what a request needs.

Database restarts, a read-only or full disk and long locks are operational states, not
bugs: the request gets HTTP 503 with a page saying what happened and that nothing was
saved (``Retry-After`` for the transient ones). The page touches neither the database
nor the logged-in user, so it renders while the database is down. The next request
after the database is back works without restarting the app: the pool checks each
connection before use (``pool_pre_ping``) and replaces dead ones.
"""

from __future__ import annotations

import logging

from flask import Flask, current_app, g, request
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from admin.extensions import db
from coordination.faults import describe_failure

__all__ = ["register_error_handlers"]

log = logging.getLogger(__name__)


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(DBAPIError, _database_failure)
    # Registered after the SQLAlchemy extension, so this runs before its own teardown.
    app.teardown_appcontext(_close_sessions_safely)


def _database_failure(error: DBAPIError) -> tuple[str, int, dict[str, str]]:
    failure = describe_failure(error)
    if failure is None:
        raise error  # a real bug: let Flask report it as one
    log.warning("database %s: %s", failure.kind, str(error.orig or error).strip()[:300])
    _discard(db.session)
    headers = {"Retry-After": "30"} if failure.kind in ("unavailable", "busy") else {}
    # Rendered without the context processors: Flask-Login's would load the user,
    # that is, query the database that just failed.
    template = current_app.jinja_env.get_template("coordination/unavailable.html")
    return template.render(failure=failure, request=request), 503, headers


def _discard(session: Session) -> None:
    """End the session's transaction; if its connection is dead, drop the connection."""
    try:
        session.rollback()
    except DBAPIError:
        try:
            session.invalidate()  # the pool replaces it on the next checkout
        except DBAPIError:
            pass


def _close_sessions_safely(_error: BaseException | None) -> None:
    # A connection killed by a database restart cannot roll back: closing the request's
    # session would raise after the response was made and turn it into a server error.
    for session in g.get("_sqlalchemy_sessions", {}).values():
        try:
            session.close()
        except DBAPIError:
            _discard(session)
