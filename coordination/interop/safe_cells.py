"""Formula-injection defence shared by every spreadsheet-like writer (XLSX, CSV, HTML tables).

A spreadsheet program runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a
formula (and tab or carriage return can smuggle one in), so text that came from
users must never start with one. Numbers we write stay numbers: only text passes
through :func:`neutralise`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["TRIGGERS", "neutralise", "safe_value"]

TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")


def neutralise(text: str) -> str:
    """Text that a spreadsheet shows as text: a leading trigger gets an apostrophe.

    >>> neutralise("=HYPERLINK(\\"http://x\\")")
    '\\'=HYPERLINK("http://x")'
    >>> neutralise("-5 people")
    "'-5 people"
    >>> neutralise("Women leaders")
    'Women leaders'
    """
    return "'" + text if text.startswith(TRIGGERS) else text


def safe_value(value: Any) -> Any:
    """Neutralise strings, pass numbers, dates and ``None`` through unchanged."""
    if isinstance(value, str):
        return neutralise(value)
    return value
