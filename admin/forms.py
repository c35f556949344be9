"""Form plumbing: one CSRF token for every form, and domain errors shown under fields."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_admin.form import BaseForm
from flask_admin.form import SecureForm as FlaskAdminSecureForm
from flask_admin.model.fields import AjaxSelectField, InlineFieldList, InlineFormField
from flask_wtf.csrf import ValidationError as CSRFError
from flask_wtf.csrf import generate_csrf, validate_csrf
from wtforms import Form, HiddenField, ValidationError
from wtforms.csrf.core import CSRF
from wtforms.validators import InputRequired

from coordination.vocab import OrganisationRole

__all__ = ["PartnerRolesField", "SecureForm", "VersionField", "attach_errors"]


class _FlaskWTFCSRF(CSRF):
    """Flask-Admin's forms carry the same token that ``CSRFProtect`` checks.

    Flask-Admin's own ``SecureForm`` signs a token of its own under the same field
    name, which the app-wide ``CSRFProtect`` would refuse; sharing Flask-WTF's token
    makes both layers agree (forms, delete buttons, bulk actions, inline edits).
    """

    def generate_csrf_token(self, csrf_token_field: Any) -> str:
        return generate_csrf()

    def validate_csrf_token(self, form: Form, field: Any) -> None:
        try:
            validate_csrf(field.data)
        except CSRFError as error:
            raise ValidationError(error.args[0]) from None


class SecureForm(FlaskAdminSecureForm):
    class Meta:
        csrf = True
        csrf_class = _FlaskWTFCSRF


class VersionField(HiddenField):
    """The ``version`` a form was rendered from; never written to the model directly."""

    def populate_obj(self, obj: Any, name: str) -> None:
        pass


def _find_field(form: Any, name: str) -> Any | None:
    """A field by name, following inline lists: ``places-0-area`` is form.places[0].area."""
    if not name:
        return None
    if name in form:
        return form[name]
    head, _, rest = name.partition("-")
    if head in form and rest:
        index, _, sub = rest.partition("-")
        entries = getattr(form[head], "entries", None)
        if entries is not None and index.isdigit() and int(index) < len(entries):
            entry = entries[int(index)]
            return _find_field(getattr(entry, "form", entry), sub)
    # Services name the column (country_code), forms the relationship (country).
    for alias in (name.removesuffix("_code"), name.removesuffix("_id")):
        if alias != name and alias in form:
            return form[alias]
    return None


def attach_errors(form: Any, errors: Mapping[str, str]) -> list[str]:
    """Put each message under its field; return the messages no field matched."""
    unplaced = []
    for name, message in errors.items():
        field = _find_field(form, name)
        if field is None:
            unplaced.append(f"{name}: {message}" if name else message)
        else:
            field.errors = [*field.errors, message]
    return unplaced


class PartnerRolesField(InlineFieldList):
    """Organisations with an IATI role in a project or intervention, edited in place.

    The link rows have a composite primary key (owner, organisation, role), which
    Flask-Admin's inline model forms cannot match; this field rebuilds the collection
    from the submitted rows instead, keeping the rows that did not change (so the audit
    trail records only real changes) and letting delete-orphan remove the others.
    """

    def __init__(self, link_model: type, loader: Any, label: str | None = None, **kwargs: Any):
        from admin.views.base import VocabularyField

        class PartnerRoleForm(BaseForm):
            organisation = AjaxSelectField(loader, "Organisation", validators=[InputRequired()])
            role = VocabularyField(
                "Role", validators=[InputRequired()], vocabulary=OrganisationRole
            )

        super().__init__(InlineFormField(PartnerRoleForm), label, min_entries=0, **kwargs)
        self.link_model = link_model

    def populate_obj(self, obj: Any, name: str) -> None:
        current = {(link.organisation_id, link.role): link for link in getattr(obj, name)}
        wanted, seen = [], set()
        for entry in self.entries:
            if self.should_delete(entry):
                continue
            organisation, role = entry.form.organisation.data, entry.form.role.data
            if organisation is None or not role:
                continue
            key = (organisation.id, OrganisationRole(role))
            if key in seen:
                continue
            seen.add(key)
            wanted.append(
                current.get(key) or self.link_model(organisation=organisation, role=key[1])
            )
        setattr(obj, name, wanted)
