"""Login, logout and the role rules every admin view follows.

Four roles (:class:`coordination.vocab.UserRole`):

- **admin**: everything, including user accounts and the audit trail;
- **manager**: edits everything except user accounts, reads the audit trail;
- **partner**: reads the shared records, sees only the contacts (people) of their own
  organisation, and edits only what their organisation owns (see
  :attr:`RoleRules.owner_attribute`);
- **donor**: reads everything but user accounts and the audit trail; edits nothing.

The rules are enforced on the server for every endpoint Flask-Admin exposes (list,
details, create, edit, delete, bulk actions, ajax update and lookup), not only by
hiding buttons.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import BooleanField, EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from admin import security
from admin.extensions import db, login_manager
from coordination.models import User
from coordination.services.accounts import authenticate
from coordination.vocab import UserRole

__all__ = [
    "EVERYONE",
    "MANAGERS",
    "RoleRules",
    "blueprint",
    "current_role",
    "is_safe_next",
    "record_actor",
]

EVERYONE = frozenset(UserRole)
MANAGERS = frozenset({UserRole.ADMIN, UserRole.MANAGER})

blueprint = Blueprint("auth", __name__)


@dataclass(frozen=True)
class Account(UserMixin):
    """What a request knows about who is logged in: plain values, no live ORM row.

    A detached copy keeps the domain model free of Flask-Login and cannot trigger
    lazy loads after the request's session has closed.
    """

    id: int
    email: str
    role: UserRole
    organisation_id: int | None

    @classmethod
    def of(cls, user: User) -> Account:
        return cls(user.id, user.email, UserRole(user.role), user.organisation_id)


@login_manager.user_loader
def load_user(user_id: str) -> Account | None:
    try:
        user = db.session.get(User, int(user_id))
    except ValueError:
        return None
    return Account.of(user) if user is not None and user.active else None


def record_actor() -> None:
    """Name the logged-in person in the audit trail of whatever this request changes."""
    if request.blueprint == "feeds":  # read by token, never by login: skip loading a user
        return
    if current_user.is_authenticated:
        db.session.info["actor"] = current_user.email


def current_role() -> UserRole | None:
    if not current_user.is_authenticated:
        return None
    return current_user.role


def current_organisation_id() -> int | None:
    return current_user.organisation_id if current_user.is_authenticated else None


def is_safe_next(target: str | None) -> bool:
    """True for a path on this site ("/admin/x/?page=2"), False for anything a browser
    could take elsewhere: absolute or scheme-relative URLs, backslashes (read as slashes
    by browsers), ``javascript:``, and control characters (browsers drop tabs and line
    breaks, so ``/\\t/evil.example`` becomes ``//evil.example``).
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    if "\\" in target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def _next_url() -> str:
    target = request.args.get("next") or request.form.get("next")
    return target if is_safe_next(target) else url_for("admin.index")


class LoginForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])
    remember = BooleanField("Keep me logged in on this computer")


class LogoutForm(FlaskForm):
    """Only the CSRF token: logging out is a POST so no other site can trigger it."""


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> Response | str:
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        email, address = form.email.data or "", security.client_address()
        limited = security.throttle().retry_after(email, address)
        if limited is not None:
            # Refused before the password is even checked: guessing gains nothing.
            form.password.errors = [security.throttle_message(*limited)]
            status = 429
        else:
            user = authenticate(db.session, email, form.password.data or "")
            if user is not None:
                security.throttle().succeeded(email)
                db.session.info["actor"] = user.email
                db.session.commit()  # last_login_at and any password rehash
                session.clear()  # a fresh session: nothing carried over from before login
                login_user(Account.of(user), remember=bool(form.remember.data))
                return redirect(_next_url())
            db.session.rollback()
            security.throttle().failed(email, address)
            form.password.errors = [*form.password.errors, "Wrong e-mail address or password."]
    next_value = request.args.get("next") or request.form.get("next") or ""
    page = render_template(
        "coordination/login.html",
        form=form,
        next=next_value if is_safe_next(next_value) else "",
    )
    return Response(page, status=status) if status != 200 else page


@blueprint.post("/logout")
def logout() -> Response:
    # CSRFProtect has already checked the token of this POST.
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))


@blueprint.app_context_processor
def _logout_form() -> dict[str, Any]:
    return {"logout_form": LogoutForm, "current_role": current_role}


# Endpoints that change data (or, for ajax_lookup, serve form widgets): each needs a
# write permission, checked before Flask-Admin runs the view.
_WRITE_ENDPOINTS = {"create_view", "edit_view", "delete_view", "action_view", "ajax_update"}


class RoleRules:
    """Mixin for every admin view: who may read it, who may write, which rows.

    ``read_roles`` may open the list and details pages; ``write_roles`` may create,
    edit and delete any row. Partners get more only where ``owner_attribute`` names
    the column that ties a row to an organisation: they may then edit (and, with
    ``partner_creates``, create) rows owned by their own organisation.
    ``allow_create``/``allow_edit``/``allow_delete`` switch an operation off for
    everyone (reference lists, the audit trail).
    """

    read_roles: frozenset[UserRole] = EVERYONE
    write_roles: frozenset[UserRole] = MANAGERS
    #: column holding the owning organisation's id ("id" for Organisation itself)
    owner_attribute: str | None = None
    #: form field through which a partner could pick another owner
    owner_field: str | None = None
    partner_creates: bool = False
    partner_deletes: bool = True
    #: partners see only their own organisation's rows (contacts)
    partner_reads_own_only: bool = False
    allow_create: bool = True
    allow_edit: bool = True
    allow_delete: bool = True

    # -- who may do what -------------------------------------------------------------

    def is_accessible(self) -> bool:
        role = current_role()
        return role is not None and role in self.read_roles

    def inaccessible_callback(self, name: str, **kwargs: Any) -> Response:
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        abort(403)

    def _partner_writes(self) -> bool:
        return current_role() is UserRole.PARTNER and self.owner_attribute is not None

    @property
    def can_create(self) -> bool:  # type: ignore[override]
        role = current_role()
        if not self.allow_create or role is None:
            return False
        return role in self.write_roles or (self._partner_writes() and self.partner_creates)

    @property
    def can_edit(self) -> bool:  # type: ignore[override]
        role = current_role()
        if not self.allow_edit or role is None:
            return False
        return role in self.write_roles or self._partner_writes()

    @property
    def can_delete(self) -> bool:  # type: ignore[override]
        role = current_role()
        if not self.allow_delete or role is None:
            return False
        return role in self.write_roles or (self._partner_writes() and self.partner_deletes)

    def owns(self, model: Any) -> bool:
        """Whether the current partner's organisation owns ``model``."""
        if self.owner_attribute is None:
            return False
        organisation_id = current_organisation_id()
        if organisation_id is None:
            return False
        # A form sets the relationship; its foreign key column follows only at flush.
        owner = getattr(model, self.owner_field, None) if self.owner_field else None
        owner_id = owner.id if owner is not None else getattr(model, self.owner_attribute, None)
        return owner_id == organisation_id

    def may_modify(self, model: Any) -> bool:
        role = current_role()
        if role is None:
            return False
        if role in self.write_roles:
            return True
        return self._partner_writes() and self.owns(model)

    def scope_query(self, query: Any) -> Any:
        """Restrict what a partner may read (only where ``partner_reads_own_only``)."""
        if self.partner_reads_own_only and current_role() is UserRole.PARTNER:
            column = getattr(self.model, self.owner_attribute or "organisation_id")  # type: ignore[attr-defined]
            return query.filter(column == current_organisation_id())
        return query

    # -- enforcement -----------------------------------------------------------------

    def _handle_view(self, name: str, **kwargs: Any) -> Any:
        response = super()._handle_view(name, **kwargs)  # type: ignore[misc]
        if response is not None:
            return response
        if name == "create_view" and not self.can_create:
            abort(403)
        if name in ("edit_view", "ajax_update") and not self.can_edit:
            abort(403)
        if name == "ajax_update" and not self.column_editable_list:  # type: ignore[attr-defined]
            abort(403)  # no inline editing for this user here (partners use the form)
        if name == "delete_view" and not self.can_delete:
            abort(403)
        if name == "ajax_lookup" and not (self.can_create or self.can_edit):
            abort(403)
        if name == "action_view":
            self._check_action()
        return None

    def _check_action(self) -> None:
        action = request.form.get("action", "")
        allowed = self.can_delete if action == "delete" else self.can_edit
        if not allowed:
            abort(403)
        for row_id in request.form.getlist("rowid"):
            # get_one refuses (403) rows this user may not modify; a row it does not
            # show them (another organisation's contact) is refused here.
            if self.get_one(row_id) is None:  # type: ignore[attr-defined]
                abort(403)

    def check_record(self, model: Any) -> Any:
        """On a write endpoint, refuse (403) a row the user may not modify."""
        endpoint = (request.endpoint or "").rpartition(".")[2]
        if model is not None and endpoint in _WRITE_ENDPOINTS and not self.may_modify(model):
            abort(403)
        return model
