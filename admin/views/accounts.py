"""User accounts (administrators only). Passwords go through the accounts service."""

from __future__ import annotations

from typing import Any

from flask import g
from wtforms import PasswordField
from wtforms.validators import Optional

from admin.extensions import db
from admin.views.base import CoordinationModelView
from admin.views.stakeholders import ORGANISATION_LOOKUP
from coordination.errors import ValidationError
from coordination.models import User
from coordination.services.accounts import create_user, set_password
from coordination.vocab import UserRole

__all__ = ["UserView"]

ADMINS = frozenset({UserRole.ADMIN})


class NewPasswordField(PasswordField):
    """Read by the view and handed to the accounts service; never copied onto the row."""

    def populate_obj(self, obj: Any, name: str) -> None:
        pass


class UserView(CoordinationModelView):
    read_roles = ADMINS
    write_roles = ADMINS

    column_list = ("email", "role", "organisation", "active", "last_login_at")
    column_searchable_list = ("email",)
    column_filters = ("role", "active", "organisation.acronym")
    column_default_sort = "email"
    column_exclude_list = ("password_hash",)
    column_details_exclude_list = ("password_hash",)
    form_columns = ("email", "new_password", "role", "organisation", "person", "active")
    form_extra_fields = {
        "new_password": NewPasswordField(
            "Password",
            validators=[Optional()],
            description="At least 10 characters. Leave empty when editing to keep the current one.",
        )
    }
    form_ajax_refs = {"organisation": ORGANISATION_LOOKUP, "person": {"fields": ("name", "email")}}

    def create_model(self, form: Any) -> Any:
        """New accounts go through ``create_user``: it hashes the password and checks the rules."""
        g.admin_form = form
        try:
            if not form.new_password.data:
                raise ValidationError({"new_password": "a new account needs a password"})
            user = create_user(
                db.session,
                form.email.data or "",
                form.new_password.data,
                form.role.data,
                organisation=form.organisation.data,
            )
            user.person = form.person.data
            user.active = bool(form.active.data)
            db.session.commit()
        except Exception as error:
            db.session.rollback()
            self.handle_view_exception(_rename_password(error))
            return False
        self.after_model_change(form, user, True)
        return user

    def on_model_change(self, form: Any, model: User, is_created: bool) -> None:
        super().on_model_change(form, model, is_created)
        if model.role is UserRole.PARTNER and model.organisation is None:
            raise ValidationError({"organisation": "a partner account needs an organisation"})
        if not is_created and form.new_password.data:
            try:
                set_password(db.session, model, form.new_password.data)
            except ValidationError as error:
                raise _rename_password(error) from None


def _rename_password(error: Exception) -> Exception:
    """The service names the field ``password``; the form calls it ``new_password``."""
    if isinstance(error, ValidationError) and "password" in error.errors:
        errors = dict(error.errors)
        errors["new_password"] = errors.pop("password")
        return ValidationError(errors)
    return error
