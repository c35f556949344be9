"""The 3W page: download the template or every intervention, upload a 3W with a preview.

Uploading is two steps. The upload runs the import as a dry run and shows what would
be created, updated and skipped (or every row error); the file waits on the server
under a random token kept in the user's signed session. Confirming imports that same
file for real, all or nothing, and re-checks everything (the data may have changed in
between). Both steps are POST forms with the CSRF token.

Who may do what: everyone who can log in may download; managers and admins import any
row; partners import only rows whose lead organisation (``#org+impl``) is their own
and cannot add organisations; donors read only.
"""

from __future__ import annotations

import hashlib
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

from flask import Response, abort, flash, redirect, session, url_for
from flask_admin import BaseView, expose
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField

from admin.auth import EVERYONE, RoleRules, current_organisation_id, current_role
from admin.extensions import db
from coordination.errors import ValidationError
from coordination.interop.hxl3w import MAX_FILE_BYTES, TEMPLATE_ROWS, write_csv, write_xlsx
from coordination.models import Organisation
from coordination.services.threew import export_3w, import_3w
from coordination.vocab import UserRole

__all__ = ["ThreeWView"]

IMPORT_ROLES = frozenset({UserRole.ADMIN, UserRole.MANAGER, UserRole.PARTNER})
UPLOAD_LIFETIME = 3600  # seconds an uploaded file waits for its confirmation
_SESSION_KEY = "threew_upload"
_MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class UploadForm(FlaskForm):
    file = FileField("3W file (.csv or .xlsx)", validators=[FileRequired("choose a file")])


class ConfirmForm(FlaskForm):
    token = HiddenField()


def _upload_dir() -> Path:
    path = Path(tempfile.gettempdir()) / "coordination-3w-uploads"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def _forget_old_uploads() -> None:
    limit = time.time() - UPLOAD_LIFETIME
    for old in _upload_dir().glob("*.upload"):
        try:
            if old.stat().st_mtime < limit:
                old.unlink()
        except OSError:
            pass


class ThreeWView(RoleRules, BaseView):
    read_roles = EVERYONE

    def may_import(self) -> bool:
        role = current_role()
        if role is UserRole.PARTNER:
            return current_organisation_id() is not None
        return role in IMPORT_ROLES

    def _restriction(self) -> Organisation | None:
        if current_role() is UserRole.PARTNER:
            return db.session.get(Organisation, current_organisation_id())
        return None

    def _page(self, **context: Any) -> str:
        context.setdefault("form", UploadForm())
        return self.render(
            "coordination/threew/index.html",
            may_import=self.may_import(),
            partner_scope=self._restriction(),
            max_mb=MAX_FILE_BYTES // 1_000_000,
            **context,
        )

    @expose("/")
    def index(self) -> str:
        return self._page()

    @expose("/template.<fmt>")
    def template(self, fmt: str) -> Response:
        if fmt not in _MEDIA:
            abort(404)
        data = write_xlsx(TEMPLATE_ROWS) if fmt == "xlsx" else write_csv(TEMPLATE_ROWS)
        return self._download(data, f"3w-template.{fmt}", fmt)

    @expose("/export.<fmt>")
    def export(self, fmt: str) -> Response:
        if fmt not in _MEDIA:
            abort(404)
        return self._download(export_3w(db.session, fmt), f"3w-export.{fmt}", fmt)

    @staticmethod
    def _download(data: bytes, name: str, fmt: str) -> Response:
        response = Response(data, mimetype=_MEDIA[fmt])
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    @expose("/upload", methods=["POST"])
    def upload(self) -> Any:
        if not self.may_import():
            abort(403)
        form = UploadForm()
        if not form.validate_on_submit():
            return self._page(form=form), 400
        stream = form.file.data
        filename = stream.filename or "upload"
        data = stream.read(MAX_FILE_BYTES + 1)
        try:
            report = import_3w(
                db.session, data, filename, dry_run=True, restrict_to=self._restriction()
            )
        except ValidationError as error:
            db.session.rollback()
            return self._page(form=form, file_error=_message(error), filename=filename), 400
        db.session.rollback()  # a dry run writes nothing; leave nothing pending either
        if not report.ok:
            return self._page(form=form, report=report, filename=filename), 422
        _forget_old_uploads()
        token = secrets.token_urlsafe(24)
        (_upload_dir() / f"{token}.upload").write_bytes(data)
        session[_SESSION_KEY] = {
            "token": token,
            "filename": filename,
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        return self._page(report=report, filename=filename, confirm=ConfirmForm(token=token))

    @expose("/confirm", methods=["POST"])
    def confirm(self) -> Any:
        if not self.may_import():
            abort(403)
        form = ConfirmForm()
        pending = session.get(_SESSION_KEY) or {}
        if not form.validate_on_submit() or form.token.data != pending.get("token"):
            flash("That upload is no longer waiting; upload the file again.", "error")
            return redirect(url_for(".index"))
        path = _upload_dir() / f"{pending['token']}.upload"
        try:
            data = path.read_bytes()
        except OSError:
            data = b""
        if hashlib.sha256(data).hexdigest() != pending.get("sha256"):
            session.pop(_SESSION_KEY, None)
            flash("That upload is no longer waiting; upload the file again.", "error")
            return redirect(url_for(".index"))
        filename = pending["filename"]
        try:
            report = import_3w(db.session, data, filename, restrict_to=self._restriction())
        except ValidationError as error:
            db.session.rollback()
            return self._page(file_error=_message(error), filename=filename), 400
        if not report.ok:
            db.session.rollback()
            return self._page(report=report, filename=filename), 422
        db.session.commit()
        session.pop(_SESSION_KEY, None)
        path.unlink(missing_ok=True)
        flash(f"{filename}: {report.summary()}", "success")
        return self._page(report=report, filename=filename, done=True)


def _message(error: ValidationError) -> str:
    return "; ".join(error.errors.values())
