"""Text helpers shared by matching, imports and exports."""

from __future__ import annotations

import re
import unicodedata

__all__ = ["fold"]

# Letters that NFKD does not decompose into a base letter plus accent.
_EXTRA_FOLDS = str.maketrans(
    {"đ": "d", "Đ": "d", "ø": "o", "Ø": "o", "ł": "l", "Ł": "l", "ß": "ss"}
)


def fold(text: str | None) -> str:
    """Case- and accent-insensitive form of a name, for matching what people type.

    >>> fold("  Hà   Nội ")
    'ha noi'
    >>> fold("Đồng Nai") == fold("dong nai")
    True
    """
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text.translate(_EXTRA_FOLDS))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"\s+", " ", stripped).strip().casefold()
