"""Text the databases cannot store is refused as bad input, on every write path.

PostgreSQL rejects NUL characters in text, and neither database driver can encode an
unpaired UTF-16 surrogate (what a broken copy-paste or a mis-decoded file may leave).
SQLite would take the NUL and PostgreSQL would then fail at the commit with a server
error. This check runs before every flush, whatever wrote the row (a form, an import,
a service, the command line), and turns such text into a :class:`ValidationError` that
names the field, while nothing has been sent to the database yet.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import String, event, inspect
from sqlalchemy.orm import Session

from coordination.errors import ValidationError

__all__ = ["UNSTORABLE", "check_storable"]

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
MESSAGE = "contains a character that cannot be stored (a NUL or an unpaired surrogate)"


def check_storable(value: str, field: str) -> None:
    """Raise :class:`ValidationError` if ``value`` holds a character no database stores.

    >>> check_storable("Dhaka", "name")
    >>> check_storable("a\\x00b", "name")
    Traceback (most recent call last):
    ...
    coordination.errors.ValidationError: name: contains a character that cannot be stored (a NUL or an unpaired surrogate)
    """
    if UNSTORABLE.search(value):
        raise ValidationError({field: MESSAGE})


@event.listens_for(Session, "before_flush")
def _refuse_unstorable_text(session: Session, _context: Any, _instances: Any) -> None:
    problems: dict[str, str] = {}
    for obj in (*session.new, *session.dirty):
        state = inspect(obj)
        for attribute in state.mapper.column_attrs:
            column = attribute.columns[0]
            if not isinstance(column.type, String):
                continue
            # Only values already in memory (set or loaded): never trigger a load here.
            value = state.dict.get(attribute.key)
            if isinstance(value, str) and UNSTORABLE.search(value):
                problems[attribute.key] = MESSAGE
    if problems:
        raise ValidationError(problems)
