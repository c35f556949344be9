"""IATI in the admin: download activity files, upload one with a preview, then confirm.

Everyone who may read projects may download (donors included). Only managers and
administrators upload: the upload is previewed as a dry run (nothing written), kept
in a temporary file bound to the uploader's session, and imported only when they
confirm. Every POST carries the CSRF token (``CSRFProtect`` checks it app-wide).
"""

from __future__ import annotations

import hashlib
import secrets
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from flask import Response, abort, flash, redirect, request, session, url_for
from flask_admin import BaseView, expose
from sqlalchemy import select

from admin.auth import MANAGERS, RoleRules, current_role
from admin.extensions import db
from coordination.errors import CoordinationError
from coordination.interop import iati as x
from coordination.models import Project
from coordination.services.iati import ImportReport, export_iati, import_iati

__all__ = ["IatiView", "MAX_UPLOAD_BYTES"]

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
_SESSION_KEY = "iati_upload"
_TOKEN_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_-ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _upload_dir() -> Path:
    path = Path(tempfile.gettempdir()) / "coordination-iati-uploads"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


class IatiView(RoleRules, BaseView):
    """Download and upload IATI activity files."""

    allow_create = allow_edit = allow_delete = False

    def _may_upload(self) -> bool:
        return current_role() in MANAGERS

    @expose("/")
    def index(self) -> str:
        projects = db.session.execute(
            select(Project.code, Project.title, Project.iati_identifier).order_by(Project.code)
        ).all()
        return self.render(
            "coordination/iati/index.html",
            projects=projects,
            may_upload=self._may_upload(),
            max_mb=MAX_UPLOAD_BYTES // (1024 * 1024),
            schema_found=x.schema_path() is not None,
        )

    @expose("/download")
    def download(self) -> Response:
        code = request.args.get("project") or None
        interventions = request.args.get("interventions", "1") != "0"
        try:
            data = export_iati(
                db.session,
                project_codes=[code] if code else None,
                interventions=interventions,
            )
        except CoordinationError as error:
            flash(f"Cannot export: {error}", "error")
            return redirect(url_for(".index"))  # type: ignore[return-value]
        name = f"iati-{code or 'all'}-{date.today():%Y%m%d}.xml"
        return Response(
            data,
            mimetype="application/xml",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @expose("/upload", methods=["POST"])
    def upload(self) -> Any:
        if not self._may_upload():
            abort(403)
        file = request.files.get("file")
        if file is None or not file.filename:
            flash("Choose an IATI activity file (.xml) to upload.", "error")
            return redirect(url_for(".index"))
        if not file.filename.lower().endswith(".xml"):
            flash(f"{file.filename} is not an .xml file.", "error")
            return redirect(url_for(".index"))
        data = file.stream.read(MAX_UPLOAD_BYTES + 1)
        if len(data) > MAX_UPLOAD_BYTES:
            flash(f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.", "error")
            return redirect(url_for(".index"))
        report = self._run(data, dry_run=True)
        if report is None:
            return redirect(url_for(".index"))
        self._forget_upload()
        token = ""
        if report.ok:
            token = secrets.token_urlsafe(24)
            (_upload_dir() / f"{token}.xml").write_bytes(data)
            session[_SESSION_KEY] = {
                "token": token,
                "name": file.filename,
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        return self.render(
            "coordination/iati/preview.html", report=report, filename=file.filename, token=token
        )

    @expose("/confirm", methods=["POST"])
    def confirm(self) -> Any:
        if not self._may_upload():
            abort(403)
        pending = session.get(_SESSION_KEY) or {}
        token = request.form.get("token", "")
        if not token or token != pending.get("token") or not set(token) <= _TOKEN_CHARS:
            flash(
                "That upload is no longer waiting for confirmation; upload the file again.", "error"
            )
            return redirect(url_for(".index"))
        path = _upload_dir() / f"{token}.xml"
        data = path.read_bytes() if path.is_file() else b""
        if hashlib.sha256(data).hexdigest() != pending.get("sha256"):
            self._forget_upload()
            flash("The uploaded file is gone; upload it again.", "error")
            return redirect(url_for(".index"))
        report = self._run(data, dry_run=False)
        self._forget_upload()
        if report is None:
            return redirect(url_for(".index"))
        if not report.ok:
            db.session.rollback()
            return self.render(
                "coordination/iati/preview.html",
                report=report,
                filename=pending.get("name"),
                token="",
            )
        db.session.commit()
        flash(f"Imported {pending.get('name')}: {report.summary()}", "success")
        return redirect(url_for(".index"))

    def _run(self, data: bytes, *, dry_run: bool) -> ImportReport | None:
        try:
            return import_iati(db.session, data, dry_run=dry_run, max_bytes=MAX_UPLOAD_BYTES)
        except x.IatiFormatError as error:
            db.session.rollback()
            flash(f"The file was refused: {error}", "error")
            return None

    def _forget_upload(self) -> None:
        pending = session.pop(_SESSION_KEY, None) or {}
        token = str(pending.get("token", ""))
        if token and set(token) <= _TOKEN_CHARS:
            (_upload_dir() / f"{token}.xml").unlink(missing_ok=True)
