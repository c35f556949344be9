"""Errors the library raises for bad input; every layer shows them as they are."""

from __future__ import annotations

__all__ = ["CoordinationError", "NotFound", "ValidationError"]


class CoordinationError(Exception):
    """Base class: a problem a user can understand and fix (shown as one line, no traceback)."""


class NotFound(CoordinationError):
    pass


class ValidationError(CoordinationError):
    """Bad input, with a message per field so that forms can show each where it belongs.

    >>> error = ValidationError({"end_date": "ends before it starts"})
    >>> str(error)
    'end_date: ends before it starts'
    """

    def __init__(self, errors: dict[str, str] | str) -> None:
        self.errors = {"": errors} if isinstance(errors, str) else dict(errors)
        super().__init__(
            "; ".join(
                f"{field}: {message}" if field else message
                for field, message in self.errors.items()
            )
        )
