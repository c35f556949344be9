"""Reporting period values and approving them: the web face of the update workflow.

Partners report on the indicators their organisation is responsible for, managers
on any; managers approve, return (with a reason), lock and unlock. Every write goes
through :mod:`coordination.services.results`, which checks the same rules again and
leaves its audit rows in the same transaction. Each form carries its CSRF token and
the version of the record it was rendered from: a save over someone else's newer
change is refused with a message, never applied.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from admin.auth import MANAGERS, RoleRules, current_organisation_id, current_role, is_safe_next
from admin.extensions import db
from admin.forms import attach_errors
from admin.views.logframe import may_report_on
from coordination.errors import ValidationError
from coordination.models import (
    Indicator,
    IndicatorDimension,
    IndicatorPeriod,
    IndicatorUpdate,
    Result,
    User,
)
from coordination.services import results as services
from coordination.vocab import IndicatorMeasure, UpdateStatus, UserRole

__all__ = ["UpdatesView", "update_form_class"]

STALE = (
    "Not saved: someone changed this record since you opened the page. "
    "Reload the page to see the current values, then try again."
)
REPORTERS = MANAGERS | {UserRole.PARTNER}


class ActionForm(FlaskForm):
    """Approve, submit, lock: only the token, the version and where to go back to."""

    version = HiddenField()
    next = HiddenField()


class ReasonForm(ActionForm):
    reason = StringField("Reason", validators=[Optional(), Length(max=2000)])


class UpdateForm(FlaskForm):
    """The fields every indicator has; :func:`update_form_class` adds its measure's."""

    version = HiddenField()
    next = HiddenField()
    comment = TextAreaField("Comment", validators=[Optional(), Length(max=4000)])
    evidence_links = TextAreaField(
        "Evidence (web addresses, one per line)", validators=[Optional(), Length(max=4000)]
    )


def update_form_class(indicator: Indicator) -> type[UpdateForm]:
    """The entry form for one indicator: value, numerator/denominator or narrative,
    and one field (or pair) per disaggregation category.

    Numbers are typed as text and parsed by the service, so a bad number comes back as
    the service's message under its field, the same wording as the CLI and imports.
    """

    class Form(UpdateForm):
        pass

    measure = indicator.measure
    if measure == IndicatorMeasure.PERCENTAGE:
        Form.numerator = StringField("Numerator", validators=[Optional(), Length(max=40)])
        Form.denominator = StringField("Denominator", validators=[Optional(), Length(max=40)])
    elif measure != IndicatorMeasure.QUALITATIVE:
        Form.value = StringField(
            f"Actual value{f' ({indicator.unit})' if indicator.unit else ''}",
            validators=[Optional(), Length(max=40)],
        )
    Form.narrative = TextAreaField(
        "Narrative" + (" (required)" if measure == IndicatorMeasure.QUALITATIVE else ""),
        validators=[Optional(), Length(max=8000)],
    )
    if measure != IndicatorMeasure.QUALITATIVE:
        for dimension in indicator.dimensions:
            for category in dimension.categories:
                label = f"{dimension.name}: {category.name}"
                if measure == IndicatorMeasure.PERCENTAGE:
                    setattr(
                        Form,
                        f"c{category.id}_numerator",
                        StringField(f"{label} numerator", validators=[Optional(), Length(max=40)]),
                    )
                    setattr(
                        Form,
                        f"c{category.id}_denominator",
                        StringField(
                            f"{label} denominator", validators=[Optional(), Length(max=40)]
                        ),
                    )
                else:
                    setattr(
                        Form,
                        f"c{category.id}_value",
                        StringField(label, validators=[Optional(), Length(max=40)]),
                    )
    return Form


def _form_values(form: UpdateForm, indicator: Indicator) -> dict[str, Any]:
    """The service's keyword arguments from a submitted form."""
    percentage = indicator.measure == IndicatorMeasure.PERCENTAGE
    disaggregations: dict[str, dict[str, Any]] = {}
    for dimension in indicator.dimensions:
        for category in dimension.categories:
            if percentage:
                numerator = _text(form, f"c{category.id}_numerator")
                denominator = _text(form, f"c{category.id}_denominator")
                if numerator or denominator:
                    disaggregations.setdefault(dimension.name, {})[category.name] = (
                        numerator,
                        denominator,
                    )
            else:
                value = _text(form, f"c{category.id}_value")
                if value:
                    disaggregations.setdefault(dimension.name, {})[category.name] = value
    links = (form.evidence_links.data or "").splitlines()
    return {
        "value": _text(form, "value"),
        "numerator": _text(form, "numerator"),
        "denominator": _text(form, "denominator"),
        "narrative": _text(form, "narrative"),
        "comment": _text(form, "comment"),
        "evidence_links": [link for link in links if link.strip()],
        "disaggregations": disaggregations,
    }


def _text(form: FlaskForm, name: str) -> str | None:
    if name not in form:
        return None
    data = (form[name].data or "").strip()
    return data or None


def _field_name(key: str, indicator: Indicator) -> str:
    """A service error key ("sex.female.value") as the form's field name ("c12_value")."""
    parts = key.split(".")
    if len(parts) == 3:
        dimension, category, part = parts
        for d in indicator.dimensions:
            if d.name == dimension:
                for c in d.categories:
                    if c.name == category:
                        return f"c{c.id}_{part}"
    return key


def _fill_form(form: UpdateForm, update: IndicatorUpdate) -> None:
    def show(number: Any) -> str:
        return "" if number is None else format(number.normalize(), "f")

    for name in ("value", "numerator", "denominator"):
        if name in form:
            form[name].data = show(getattr(update, name))
    if "narrative" in form:
        form["narrative"].data = update.narrative or ""
    form.comment.data = update.comment or ""
    form.evidence_links.data = "\n".join(update.evidence_links or [])
    for v in update.values:
        for part in ("value", "numerator", "denominator"):
            name = f"c{v.category_id}_{part}"
            if name in form:
                form[name].data = show(getattr(v, part))
    form.version.data = str(update.version)


class UpdatesView(RoleRules, BaseView):
    """The approval queue (managers), one's own updates (partners), and the actions."""

    read_roles = REPORTERS
    write_roles = MANAGERS
    allow_create = allow_edit = allow_delete = False

    # -- queue ----------------------------------------------------------------------------

    @expose("/")
    def index(self) -> str:
        query = (
            select(IndicatorUpdate)
            .join(IndicatorPeriod, IndicatorPeriod.id == IndicatorUpdate.period_id)
            .join(Indicator, Indicator.id == IndicatorPeriod.indicator_id)
            .options(
                joinedload(IndicatorUpdate.period)
                .joinedload(IndicatorPeriod.indicator)
                .joinedload(Indicator.result)
                .joinedload(Result.project),
                joinedload(IndicatorUpdate.reporting_organisation),
                selectinload(IndicatorUpdate.values),
                joinedload(IndicatorUpdate.period)
                .joinedload(IndicatorPeriod.indicator)
                .selectinload(Indicator.dimensions)
                .selectinload(IndicatorDimension.categories),
            )
            .order_by(IndicatorUpdate.submitted_at, IndicatorUpdate.id)
        )
        manager = current_role() in MANAGERS
        if manager:
            query = query.where(IndicatorUpdate.status == UpdateStatus.SUBMITTED)
            title = "Updates waiting for approval"
        else:
            query = query.where(
                Indicator.responsible_organisation_id == current_organisation_id(),
                IndicatorUpdate.status != UpdateStatus.APPROVED,
            )
            title = "Your organisation's updates in progress"
        updates = list(db.session.scalars(query))
        return self.render(
            "coordination/results/queue.html",
            updates=updates,
            title=title,
            manager=manager,
            next=request.path,
        )

    # -- entering values ------------------------------------------------------------------

    @expose("/period/<int:period_id>/report", methods=("GET", "POST"))
    def report(self, period_id: int) -> Any:
        period = self._period(period_id)
        indicator = period.indicator
        self._require_reporter(indicator)
        form = update_form_class(indicator)()
        if request.method == "GET":
            form.next.data = request.args.get("next", "")
        if form.validate_on_submit():
            actor = self._actor()
            try:
                update = services.report_update(
                    db.session, period, actor, **_form_values(form, indicator)
                )
                if request.form.get("action") == "submit":
                    services.submit_update(db.session, update, actor)
                db.session.commit()
            except ValidationError as error:
                return self._form_error(error, form, period_id, None)
            flash(_saved_message(update), "success")
            return redirect(self._next(form.next.data, indicator.id))
        return self._render_form(form, period, None)

    @expose("/update/<int:update_id>/edit", methods=("GET", "POST"))
    def edit(self, update_id: int) -> Any:
        update = self._update(update_id)
        period = update.period
        indicator = period.indicator
        self._require_reporter(indicator)
        form = update_form_class(indicator)()
        if request.method == "GET":
            _fill_form(form, update)
            form.next.data = request.args.get("next", "")
        if form.validate_on_submit():
            if not self._same_version(form.version.data, update.version):
                flash(STALE, "error")
                return self._render_form(form, period, update)
            actor = self._actor()
            try:
                services.edit_update(db.session, update, actor, **_form_values(form, indicator))
                if request.form.get("action") == "submit":
                    services.submit_update(db.session, update, actor)
                db.session.commit()
            except ValidationError as error:
                return self._form_error(error, form, period.id, update_id)
            except StaleDataError:
                db.session.rollback()
                flash(STALE, "error")
                return self._render_form(form, self._period(period.id), self._update(update_id))
            flash(_saved_message(update), "success")
            return redirect(self._next(form.next.data, indicator.id))
        return self._render_form(form, period, update)

    # -- workflow steps -------------------------------------------------------------------

    @expose("/update/<int:update_id>/submit", methods=("POST",))
    def submit(self, update_id: int) -> Response:
        update = self._update(update_id)
        self._require_reporter(update.period.indicator)
        return self._step(
            update.version,
            update.period.indicator.id,
            lambda actor, form: services.submit_update(db.session, update, actor),
            "Submitted for approval.",
        )

    @expose("/update/<int:update_id>/approve", methods=("POST",))
    def approve(self, update_id: int) -> Response:
        self._require_manager()
        update = self._update(update_id)
        return self._step(
            update.version,
            update.period.indicator.id,
            lambda actor, form: services.approve_update(db.session, update, actor),
            f"Approved update #{update_id}: it now counts in progress and reports.",
        )

    @expose("/update/<int:update_id>/return", methods=("POST",))
    def return_(self, update_id: int) -> Response:
        self._require_manager()
        update = self._update(update_id)
        return self._step(
            update.version,
            update.period.indicator.id,
            lambda actor, form: services.return_update(
                db.session, update, actor, form.reason.data or ""
            ),
            f"Returned update #{update_id} to its reporter.",
            ReasonForm,
        )

    @expose("/period/<int:period_id>/lock", methods=("POST",))
    def lock(self, period_id: int) -> Response:
        self._require_manager()
        period = self._period(period_id)
        return self._step(
            period.version,
            period.indicator_id,
            lambda actor, form: services.lock_period(db.session, period, actor),
            f"Locked the period {period}.",
        )

    @expose("/period/<int:period_id>/unlock", methods=("POST",))
    def unlock(self, period_id: int) -> Response:
        self._require_manager()
        period = self._period(period_id)
        return self._step(
            period.version,
            period.indicator_id,
            lambda actor, form: services.unlock_period(
                db.session, period, actor, form.reason.data or ""
            ),
            f"Unlocked the period {period}.",
            ReasonForm,
        )

    # -- helpers --------------------------------------------------------------------------

    def _step(
        self,
        version: int,
        indicator_id: int,
        action: Any,
        done: str,
        form_class: type[ActionForm] = ActionForm,
    ) -> Response:
        """Run one workflow step if the form is valid and not stale; flash the outcome."""
        form = form_class()
        target = self._next(form.next.data, indicator_id)
        if not form.validate_on_submit():
            flash("Not saved: " + _form_problems(form), "error")
            return redirect(target)
        if not self._same_version(form.version.data, version):
            flash(STALE, "error")
            return redirect(target)
        try:
            action(self._actor(), form)
            db.session.commit()
        except ValidationError as error:
            db.session.rollback()
            flash("Not saved: " + "; ".join(error.errors.values()), "error")
            return redirect(target)
        except StaleDataError:
            db.session.rollback()
            flash(STALE, "error")
            return redirect(target)
        flash(done, "success")
        return redirect(target)

    def _form_error(
        self, error: ValidationError, form: UpdateForm, period_id: int, update_id: int | None
    ) -> str:
        db.session.rollback()
        period = self._period(period_id)
        update = self._update(update_id) if update_id is not None else None
        dimensions = {d.name for d in period.indicator.dimensions}
        # "the sex values add up to more than the total" belongs to the sex fieldset
        grouped = {key: text for key, text in error.errors.items() if key in dimensions}
        renamed = {
            _field_name(key, period.indicator): text
            for key, text in error.errors.items()
            if key not in dimensions
        }
        unplaced = attach_errors(form, renamed)
        for message in unplaced:
            flash(message, "error")
        flash("Not saved: please correct the errors below.", "error")
        return self._render_form(form, period, update, grouped)

    def _render_form(
        self,
        form: UpdateForm,
        period: IndicatorPeriod,
        update: IndicatorUpdate | None,
        dimension_errors: dict[str, str] | None = None,
    ) -> str:
        indicator = period.indicator
        groups = []
        for dimension in indicator.dimensions:
            fields = []
            for category in dimension.categories:
                for part in ("value", "numerator", "denominator"):
                    name = f"c{category.id}_{part}"
                    if name in form:
                        fields.append(form[name])
            if fields:
                groups.append((dimension.name, fields))
        return self.render(
            "coordination/results/update_form.html",
            form=form,
            period=period,
            indicator=indicator,
            update=update,
            groups=groups,
            dimension_errors=dimension_errors or {},
            measure_fields=[
                form[name]
                for name in ("value", "numerator", "denominator", "narrative")
                if name in form
            ],
            back=self._next(form.next.data, indicator.id),
        )

    def _actor(self) -> User:
        from flask_login import current_user

        user = db.session.get(User, current_user.id)
        if user is None or not user.active:
            abort(403)
        return user

    def _require_manager(self) -> None:
        if current_role() not in MANAGERS:
            abort(403)

    def _require_reporter(self, indicator: Indicator) -> None:
        if not may_report_on(indicator.responsible_organisation_id):
            abort(403)

    def _period(self, period_id: int) -> IndicatorPeriod:
        period = db.session.scalars(
            select(IndicatorPeriod)
            .where(IndicatorPeriod.id == period_id)
            .options(
                joinedload(IndicatorPeriod.indicator)
                .joinedload(Indicator.result)
                .joinedload(Result.project),
                joinedload(IndicatorPeriod.indicator)
                .selectinload(Indicator.dimensions)
                .selectinload(IndicatorDimension.categories),
            )
        ).first()
        if period is None:
            abort(404)
        return period

    def _update(self, update_id: int) -> IndicatorUpdate:
        update = db.session.get(IndicatorUpdate, update_id)
        if update is None:
            abort(404)
        return update

    @staticmethod
    def _same_version(submitted: str | None, current: int) -> bool:
        try:
            return submitted is not None and int(submitted) == current
        except ValueError:
            return False

    @staticmethod
    def _next(target: str | None, indicator_id: int) -> str:
        if target and is_safe_next(target):
            return target
        return url_for("logframe.indicator", indicator_id=indicator_id)


def _saved_message(update: IndicatorUpdate) -> str:
    if update.status == UpdateStatus.SUBMITTED:
        return f"Update #{update.id} saved and submitted for approval."
    return f"Update #{update.id} saved as a draft; submit it when it is ready."


def _form_problems(form: FlaskForm) -> str:
    messages = [f"{name}: {'; '.join(errors)}" for name, errors in form.errors.items()]
    return "; ".join(messages) or "the form was not valid"
