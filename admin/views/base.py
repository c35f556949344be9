"""The base of every model view: role rules, eager loading, errors as field errors."""

from __future__ import annotations

import logging
from typing import Any

from flask import abort, after_this_request, flash, g, has_request_context, request
from flask_admin.actions import action
from flask_admin.babel import lazy_gettext
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla.fields import QuerySelectField
from flask_admin.contrib.sqla.form import AdminModelConverter
from flask_admin.form import DateTimeField, Select2Widget
from flask_admin.model import typefmt
from flask_admin.model.fields import AjaxSelectField
from flask_admin.model.form import converts
from flask_admin.model.template import BaseListRowAction, DeleteRowAction, EditRowAction
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException
from wtforms import SelectChoice, SelectField

from admin.auth import RoleRules, current_organisation_id, current_role
from admin.conflicts import VERSION_SEPARATOR, EditConflict, conflict_message, split_row_key
from admin.extensions import db
from admin.forms import SecureForm, VersionField, attach_errors
from admin.views.filters import VocabularyFilterConverter, guard_filters
from coordination.errors import ValidationError
from coordination.faults import describe_failure
from coordination.validation import check_date_range
from coordination.vocab import UserRole, Vocabulary

__all__ = ["CoordinationModelView", "STALE_MESSAGE"]

log = logging.getLogger(__name__)

STALE_MESSAGE = (
    "This record was changed by someone else while you were editing it. "
    "Reload the page to see their changes, then make yours again."
)
# Bookkeeping columns: set by the database layer, never typed by a person.
BOOKKEEPING = ("version", "created_at", "updated_at")


def _label(_view: Any, value: Vocabulary, _name: str | None = None) -> str:
    return value.label


# Checked in order with isinstance: vocabulary terms must come before the generic Enum
# formatter, which would show the member's name ("ENTERPRISE_SERVICE").
TYPE_FORMATTERS = {Vocabulary: _label, **typefmt.BASE_FORMATTERS}
DETAIL_TYPE_FORMATTERS = {Vocabulary: _label, **typefmt.DETAIL_FORMATTERS}


class _Term(SelectChoice):
    """A choice that also unpacks as ``(value, label)``, as Flask-Admin's list editor expects."""

    def __iter__(self) -> Any:
        return iter((self.value, self.label))


class VocabularyField(SelectField):
    """A select of a vocabulary's terms: stored value sent, human label shown."""

    def __init__(
        self,
        label: Any = None,
        validators: Any = None,
        *,
        vocabulary: type[Vocabulary],
        allow_blank: bool = False,
        **kwargs: Any,
    ) -> None:
        choices = [_Term(term.value, term.label) for term in vocabulary]
        if allow_blank:
            choices.insert(0, _Term("", "—"))
        kwargs.pop("allow_blank", None)
        kwargs.setdefault("widget", Select2Widget())
        super().__init__(
            label, validators, choices=choices, coerce=_coerce_to(vocabulary), **kwargs
        )
        self.type = "Select2Field"  # lets Flask-Admin's inline (x-editable) list edit use it


def _coerce_to(vocabulary: type[Vocabulary]) -> Any:
    """Form values become enum members, so the model never holds a bare string."""

    def coerce(value: Any) -> Vocabulary | None:
        if value is None or value == "":
            return None
        return vocabulary(value)

    return coerce


class VocabularyConverter(AdminModelConverter):
    """Vocabulary columns become selects of (stored value, human label).

    Flask-Admin's own Enum conversion offers the stored values but compares them with
    member names, which breaks for enums stored by value.
    """

    @converts("sqlalchemy.sql.sqltypes.Enum")
    def convert_enum(self, column: Any, field_args: dict[str, Any], **extra: Any) -> Any:
        enum_class = getattr(column.type, "enum_class", None)
        if enum_class is None or not issubclass(enum_class, Vocabulary):
            return super().convert_enum(column=column, field_args=field_args, **extra)
        return VocabularyField(
            vocabulary=enum_class, allow_blank=bool(column.nullable), **field_args
        )

    def _model_select_field(
        self, prop: Any, multiple: Any, remote_model: Any, **kwargs: Any
    ) -> Any:
        # WTForms 3.3 shows an empty label as the option's value ("__None"); name it.
        if kwargs.get("allow_blank"):
            kwargs.setdefault("blank_text", "—")
        return super()._model_select_field(prop, multiple, remote_model, **kwargs)

    @converts("UTCDateTime")
    def convert_utc_datetime(self, field_args: dict[str, Any], **extra: Any) -> Any:
        # Typed as a local time; the view decides its zone before saving (meetings).
        return DateTimeField(**field_args)


class CoordinationModelView(RoleRules, ModelView):
    """Configuration lives in subclasses; this class holds the shared behaviour.

    Subclasses list related rows to eager-load in ``list_loader_options`` (so a list
    page costs the same number of queries for 10 rows as for 100) and put
    cross-field rules in :meth:`validate_model`, raising
    :class:`coordination.errors.ValidationError`; messages land under their fields.
    """

    form_base_class = SecureForm
    model_form_converter = VocabularyConverter
    filter_converter = VocabularyFilterConverter()
    column_type_formatters = TYPE_FORMATTERS
    column_type_formatters_detail = DETAIL_TYPE_FORMATTERS
    form_excluded_columns = BOOKKEEPING
    column_exclude_list = BOOKKEEPING
    column_details_exclude_list = ("version",)
    can_view_details = True
    column_auto_select_related = False  # list_loader_options says what to load
    can_set_page_size = True
    page_size = 50
    #: loader options (selectinload/joinedload) applied to the list query
    list_loader_options: tuple[Any, ...] = ()

    #: columns editable in the list (x-editable); partners edit through the form instead,
    #: where the row is known to be theirs before anything is shown
    editable_columns: tuple[str, ...] = ()

    @property
    def column_editable_list(self) -> Any:  # type: ignore[override]
        if has_request_context() and current_role() is UserRole.PARTNER:
            return ()
        return self.editable_columns

    @column_editable_list.setter
    def column_editable_list(self, value: Any) -> None:
        self.editable_columns = tuple(value or ())

    def _refresh_filters_cache(self) -> None:
        super()._refresh_filters_cache()
        guard_filters(self._filters)  # a bad filter value is "invalid", never a 500

    def get_list_row_actions(self) -> list[Any]:
        """Edit and delete icons only on the rows this user may change."""
        return [
            _OwnRowsOnly(action, self)
            if isinstance(action, EditRowAction | DeleteRowAction)
            else action
            for action in super().get_list_row_actions()
        ]

    # -- queries ---------------------------------------------------------------------

    def get_query(self) -> Any:
        query = super().get_query()
        if self.list_loader_options:
            query = query.options(*self.list_loader_options)
        return self.scope_query(query)

    def get_count_query(self) -> Any:
        return self.scope_query(super().get_count_query())

    def get_one(self, id: Any) -> Any:
        model = super().get_one(id)
        if model is not None and self.partner_reads_own_only and current_role() is UserRole.PARTNER:
            if not self.owns(model):
                return None  # as if it did not exist: partners do not see other contacts
        return self.check_record(model)

    # -- forms -----------------------------------------------------------------------

    def scaffold_form(self) -> Any:
        form_class = super().scaffold_form()
        if "version" in self.model.__table__.c:
            form_class.row_version = VersionField()
        return form_class

    def edit_form(self, obj: Any = None) -> Any:
        form = super().edit_form(obj)
        if obj is not None and request.method == "GET" and hasattr(form, "row_version"):
            form.row_version.data = obj.version
        return form

    def create_form(self, obj: Any = None) -> Any:
        form = super().create_form(obj)
        if (
            request.method == "GET"
            and current_role() is UserRole.PARTNER
            and self.owner_field
            and self.owner_field in form
        ):
            form[self.owner_field].data = self._partner_organisation()
        return form

    def _partner_organisation(self) -> Any:
        from coordination.models import Organisation

        organisation_id = current_organisation_id()
        return db.session.get(Organisation, organisation_id) if organisation_id else None

    def validate_form(self, form: Any) -> bool:
        valid = super().validate_form(form)
        if request.method != "POST":
            return valid
        # A select posted with a value that matches no row (an unknown country code, an
        # organisation deleted meanwhile) must not silently become "empty".
        unknown = [field for field in _select_fields(form) if _is_unknown_choice(field)]
        for field in unknown:
            raw = field.raw_data[0]
            message = (
                f"unknown country code {raw!r}"
                if field.short_name == "country"
                else f"unknown {str(field.label.text).lower()} {raw!r}"
            )
            field.errors = [*field.errors, message]
        return bool(valid) and not unknown

    # -- saving ----------------------------------------------------------------------

    def create_model(self, form: Any) -> Any:
        g.admin_form = form
        return super().create_model(form)

    def update_model(self, form: Any, model: Any) -> Any:
        g.admin_form = form
        g.admin_model = model
        return super().update_model(form, model)

    def list_form(self, obj: Any = None) -> Any:
        """The inline (x-editable) editor's form; its row key carries the row's version."""
        form = super().list_form(obj)
        if obj is not None and hasattr(obj, "version"):
            for field in form:
                if field.short_name not in ("list_form_pk", "csrf_token"):
                    field.widget = _VersionedKey(field.widget, obj.version)
        elif request.method == "POST" and hasattr(form, "list_form_pk"):
            key, version = split_row_key(form.list_form_pk.data or "")
            form.list_form_pk.data = key
            g.inline_version = version
        return form

    def on_model_change(self, form: Any, model: Any, is_created: bool) -> None:
        loaded_version = _loaded_version(form)
        g.loaded_version = loaded_version
        if not is_created and loaded_version is not None and loaded_version != model.version:
            raise EditConflict(conflict_message(db.session, model, loaded_version))
        if not self.may_modify(model):
            field = self.owner_field or ""
            raise ValidationError({field: "you can only save records of your own organisation"})
        # No autoflush: the checks query the database and must see the problem
        # before the database does (a clash would otherwise surface as an IntegrityError).
        with db.session.no_autoflush:
            self.validate_model(model, is_created)

    @action(
        "delete",
        lazy_gettext("Delete"),
        lazy_gettext("Are you sure you want to delete selected records?"),
    )
    def action_delete(self, ids: Any) -> None:
        # Row ids arrive as strings; PostgreSQL will not compare them with an integer key.
        python_type = self.model.__mapper__.primary_key[0].type.python_type
        try:
            typed = tuple(python_type(i) for i in ids)
        except ValueError:
            abort(400)
        super().action_delete(typed)

    def after_model_change(self, form: Any, model: Any, is_created: bool) -> None:
        super().after_model_change(form, model, is_created)
        if (request.endpoint or "").endswith(".ajax_update") and hasattr(model, "version"):
            key = f"{self.get_pk_value(model)}{VERSION_SEPARATOR}{model.version}"

            @after_this_request
            def _new_key(response: Any) -> Any:
                response.headers["X-Row-Key"] = key
                return response

    def on_model_delete(self, model: Any) -> None:
        if not (self.can_delete and self.may_modify(model)):
            abort(403)

    def validate_model(self, model: Any, is_created: bool) -> None:
        """Domain checks before the commit; raise ValidationError({field: message})."""
        if hasattr(model, "start_date") and hasattr(model, "end_date"):
            check_date_range(model.start_date, model.end_date)

    def handle_view_exception(self, exc: Exception) -> bool:
        if isinstance(exc, HTTPException) or describe_failure(exc) is not None:
            raise exc  # database down, read-only or full: the app's 503 page (admin/errors.py)
        if isinstance(exc, ValidationError):
            form = g.get("admin_form")
            unplaced = attach_errors(form, exc.errors) if form is not None else [str(exc)]
            for message in unplaced:
                flash(message, "error")
            flash("Please correct the errors below.", "error")
            return True
        if isinstance(exc, EditConflict):
            flash(str(exc), "error")
            _conflict_status()
            return True
        if isinstance(exc, StaleDataError):
            # Two saves of one version raced past the check; the database refused the
            # second (UPDATE ... WHERE version = loaded). Say who won.
            db.session.rollback()
            model = g.get("admin_model")
            message = STALE_MESSAGE
            if model is not None:
                try:
                    db.session.refresh(model)
                    message = conflict_message(db.session, model, g.get("loaded_version"))
                except Exception:  # the row may be gone
                    db.session.rollback()
            flash(message, "error")
            _conflict_status()
            return True
        if isinstance(exc, IntegrityError):
            log.info("integrity error on save: %s", exc.orig)
            flash(_integrity_message(exc), "error")
            return True
        return super().handle_view_exception(exc)


def _conflict_status() -> None:
    """The inline editor gets 409 Conflict (Flask-Admin would answer 500)."""
    if (request.endpoint or "").endswith(".ajax_update"):

        @after_this_request
        def _409(response: Any) -> Any:
            response.status_code = 409
            return response


def _loaded_version(form: Any) -> int | None:
    """The version the person saw: the edit form's hidden field or the inline row key."""
    raw = form.row_version.data if hasattr(form, "row_version") else None
    if raw in (None, ""):
        return g.get("inline_version")
    try:
        return int(raw)
    except (TypeError, ValueError):
        return -1  # tampered with: never matches, so the save is refused


class _VersionedKey:
    """Renders an inline-editable cell with ``data-pk="id~version"``."""

    def __init__(self, widget: Any, version: int) -> None:
        self.widget = widget
        self.version = version

    def __call__(self, field: Any, **kwargs: Any) -> Any:
        if kwargs.get("pk") is not None:
            kwargs["pk"] = f"{kwargs['pk']}{VERSION_SEPARATOR}{self.version}"
        return self.widget(field, **kwargs)


class _OwnRowsOnly(BaseListRowAction):
    def __init__(self, action: BaseListRowAction, view: CoordinationModelView) -> None:
        super().__init__(action.title)
        self.action = action
        self.view = view

    def render(self, context: Any, row_id: str, row: Any) -> Any:
        if not self.view.may_modify(row):
            return ""
        return self.action.render(context, row_id, row)


def _select_fields(form: Any) -> list[Any]:
    """Single-row select fields of a form, including those of inline sub-forms."""
    found = []
    for field in form:
        entries = getattr(field, "entries", None)
        if entries is not None:
            for entry in entries:
                subform = getattr(entry, "form", None)
                if subform is not None:
                    found.extend(_select_fields(subform))
        elif isinstance(field, QuerySelectField | AjaxSelectField):
            found.append(field)
    return found


def _is_unknown_choice(field: Any) -> bool:
    raw = getattr(field, "raw_data", None)
    return bool(raw) and raw[0] not in ("", "__None") and field.data is None


def _integrity_message(exc: IntegrityError) -> str:
    text = str(exc.orig).lower()
    if "unique" in text or "duplicate" in text:
        return (
            "Not saved: another record already uses one of these values "
            "(a code, name, e-mail or identifier must be unique)."
        )
    if "foreign key" in text:
        return "Not saved: other records still refer to this one, or a linked record is missing."
    if "check" in text or "not null" in text or "null value" in text:
        return "Not saved: some values break a rule of the database (for example dates in the wrong order or a required value left empty)."
    return "Not saved: the database refused the change."
