"""List filters that never turn a bad query string into a server error.

Flask-Admin's enum filters look a submitted value up by member *name*
(``ActivityStatus["implementation"]``) while offering member *values* in the select, so
every Status or Type filter raised ``KeyError`` (a 500), whether the value came from the
filter box or from a hand-edited URL. Vocabulary columns get filters here that read
values as stored ("implementation"), show human labels, and refuse an unknown value as
invalid (Flask-Admin then drops the filter and says so). :func:`guard_filters` also
wraps every other filter's check, so that no value a browser can send reaches the
database unchecked or ends in a 500.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from flask_admin.contrib.sqla import filters as sqla_filters
from flask_admin.model import filters as base_filters

from coordination.vocab import Vocabulary

__all__ = ["VocabularyFilterConverter", "guard_filters"]


class _ByValue:
    """Mixin: an enum filter whose values are the vocabulary's stored values."""

    enum_class: Any

    def _member(self, value: Any) -> Any:
        if self.enum_class is None or isinstance(value, self.enum_class):
            return value
        return self.enum_class(value)  # ValueError for an unknown value: invalid filter


class VocabularyEqual(_ByValue, sqla_filters.EnumEqualFilter):
    def clean(self, value: Any) -> Any:
        return self._member(value)


class VocabularyNotEqual(_ByValue, sqla_filters.EnumFilterNotEqual):
    def clean(self, value: Any) -> Any:
        return self._member(value)


class VocabularyInList(_ByValue, sqla_filters.EnumFilterInList):
    def clean(self, value: Any) -> Any:
        values = sqla_filters.FilterInList.clean(self, value)
        if not values:
            raise ValueError("no value")
        return [self._member(v) for v in values]


class VocabularyNotInList(_ByValue, sqla_filters.EnumFilterNotInList):
    def clean(self, value: Any) -> Any:
        values = sqla_filters.FilterInList.clean(self, value)
        if not values:
            raise ValueError("no value")
        return [self._member(v) for v in values]


class VocabularyFilterConverter(sqla_filters.FilterConverter):
    """Vocabulary columns filter by stored value and show labels; the rest as before."""

    vocabulary_filters = (
        VocabularyEqual,
        VocabularyNotEqual,
        sqla_filters.EnumFilterEmpty,
        VocabularyInList,
        VocabularyNotInList,
    )

    @base_filters.convert("enum")
    def conv_enum(self, column: Any, name: str, options: Any = None, **kwargs: Any) -> list[Any]:
        enum_class = getattr(column.type, "enum_class", None)
        if enum_class is None or not issubclass(enum_class, Vocabulary):
            return super().conv_enum(column, name, options, **kwargs)
        if not options:
            options = [(term.value, term.label) for term in enum_class]
        return [kind(column, name, options, **kwargs) for kind in self.vocabulary_filters]


def _guarded(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    def validate(value: Any) -> bool:
        if not isinstance(value, str) or "\x00" in value:
            return False
        try:
            return bool(check(value))
        except (LookupError, TypeError, ValueError, ArithmeticError):
            return False

    return validate


def guard_filters(filters: Sequence[Any] | None) -> None:
    """Make each filter's ``validate`` answer False, never raise, for any bad value."""
    for flt in filters or ():
        if not getattr(flt, "_guarded", False):
            flt.validate = _guarded(flt.validate)
            flt._guarded = True
