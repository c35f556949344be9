"""What a database failure means for the person who hit it.

A web request or a command can fail because the database is down or restarting, is
read-only, has run out of disk, or stayed locked longer than the busy timeout. None of
those is a bug to show as a traceback: each gets one plain sentence saying what
happened, that nothing was saved, and what to do. :func:`describe_failure` recognises
them from the driver's error (SQLite and PostgreSQL); anything else is left alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError, OperationalError

__all__ = ["DatabaseFailure", "describe_failure"]


@dataclass(frozen=True)
class DatabaseFailure:
    """``kind`` is one of ``unavailable``, ``read-only``, ``full``, ``busy``."""

    kind: str
    message: str


_READ_ONLY = (
    "attempt to write a readonly database",
    "readonly database",
    "read-only transaction",
    "read-only file system",
)
_FULL = ("database or disk is full", "no space left on device", "could not extend file")
_BUSY = ("database is locked", "database table is locked")
_UNAVAILABLE = (
    "connection refused",
    "could not connect",
    "connection failed",
    "server closed the connection",
    "terminating connection",
    "the database system is starting up",
    "the database system is shutting down",
    "the database system is in recovery mode",
    "connection is closed",
    "consuming input failed",
    "unable to open database file",
    "disk i/o error",
)

MESSAGES = {
    "unavailable": (
        "The database is not reachable at the moment (it may be restarting). "
        "Nothing was saved. Please try again in a minute."
    ),
    "read-only": (
        "The database is read-only at the moment, so nothing can be saved. "
        "Nothing was changed. Please tell your administrator."
    ),
    "full": (
        "The database has run out of disk space. Nothing was saved. Please tell your administrator."
    ),
    "busy": (
        "The database is busy with other changes. Nothing was saved. Please try again in a moment."
    ),
}


def describe_failure(error: BaseException) -> DatabaseFailure | None:
    """The kind of operational failure behind ``error``, or None for anything else.

    >>> import sqlite3
    >>> from sqlalchemy.exc import OperationalError
    >>> e = OperationalError("UPDATE x", {}, sqlite3.OperationalError("database is locked"))
    >>> describe_failure(e).kind
    'busy'
    >>> describe_failure(ValueError("no")) is None
    True
    """
    if not isinstance(error, DBAPIError):
        return None
    text = str(error.orig if error.orig is not None else error).lower()
    for kind, needles in (
        ("read-only", _READ_ONLY),
        ("full", _FULL),
        ("busy", _BUSY),
        ("unavailable", _UNAVAILABLE),
    ):
        if any(needle in text for needle in needles):
            return DatabaseFailure(kind, MESSAGES[kind])
    if (
        error.connection_invalidated
        or isinstance(error, OperationalError)
        and _is_connection(error)
    ):
        return DatabaseFailure("unavailable", MESSAGES["unavailable"])
    return None


def _is_connection(error: OperationalError) -> bool:
    # psycopg raises OperationalError for every lost or refused connection; SQLite's
    # OperationalError also covers SQL mistakes, which must stay real errors.
    module = type(error.orig).__module__ if error.orig is not None else ""
    return module.startswith("psycopg")
