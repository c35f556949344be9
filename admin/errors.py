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

from flask import Flask, render_template
from sqlalchemy.exc import DBAPIError

from admin.extensions import db
from coordination.faults import describe_failure

__all__ = ["register_error_handlers"]

log = logging.getLogger(__name__)


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(DBAPIError, _database_failure)


def _database_failure(error: DBAPIError) -> tuple[str, int, dict[str, str]]:
    failure = describe_failure(error)
    if failure is None:
        raise error  # a real bug: let Flask report it as one
    log.warning("database %s: %s", failure.kind, str(error.orig or error).strip()[:300])
    try:
        db.session.rollback()
    except DBAPIError:
        pass  # the connection is gone; the pool replaces it on the next checkout
    headers = {"Retry-After": "30"} if failure.kind in ("unavailable", "busy") else {}
    page = render_template("coordination/unavailable.html", failure=failure)
    return page, 503, headers
