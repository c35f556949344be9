"""Logframe, indicator and IPTT pages per project, and the donor report download.

Every role that reads results (all four) sees these pages; they change nothing.
The buttons that do (report a value, submit, approve, return, lock) post to
:mod:`admin.views.updates` and appear only for the roles the services accept, so a
donor sees the same pages with no form and no button.

The logframe and IPTT pages read the project through
:func:`coordination.services.results.load_progress_snapshot` (a fixed number of
queries, whatever the number of indicators) and the pure functions of
:mod:`coordination.analysis`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from markupsafe import Markup, escape
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload, selectinload
from werkzeug.wrappers import Response

from admin.auth import RoleRules, current_organisation_id, current_role
from admin.extensions import db
from coordination.analysis.iptt import (
    IpttCell,
    SeriesPoint,
    filter_progress,
    indicator_series,
    iptt_periods,
    iptt_rows,
    period_actual,
    result_depths,
    sex_categories,
)
from coordination.analysis.progress import (
    STATUSES,
    Actual,
    IndicatorData,
    IndicatorProgress,
    PeriodData,
    indicator_progress,
    project_progress,
    rollup_results,
)
from coordination.collector import collector_paused
from coordination.errors import CoordinationError
from coordination.models import (
    AuditEntry,
    Indicator,
    IndicatorDimension,
    IndicatorPeriod,
    IndicatorUpdate,
    Project,
    Result,
)
from coordination.services.results import Detail, load_progress_snapshot
from coordination.vocab import ResultLevel, UpdateStatus, UserRole

__all__ = ["LogframeView", "may_report_on", "reportable_indicator_ids", "sparkline"]

REPORT_FORMATS = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
    "html": "text/html; charset=utf-8",
}
MANAGER_ROLES = (UserRole.ADMIN, UserRole.MANAGER)
AUDIT_ROWS = 100


# --- who may report ------------------------------------------------------------------
# The rule is the services' (coordination.services.results._check_may_report): managers
# report on anything, partners on indicators their organisation is responsible for,
# donors on nothing. These helpers only decide which buttons to show; the services
# check again on every write.


def may_report_on(responsible_organisation_id: int | None) -> bool:
    role = current_role()
    if role in MANAGER_ROLES:
        return True
    if role is UserRole.PARTNER:
        organisation = current_organisation_id()
        return organisation is not None and responsible_organisation_id == organisation
    return False


def reportable_indicator_ids(project_id: int) -> set[int] | None:
    """Ids of the project's indicators the user may report on; ``None`` means all."""
    role = current_role()
    if role in MANAGER_ROLES:
        return None
    organisation = current_organisation_id()
    if role is not UserRole.PARTNER or organisation is None:
        return set()
    return set(
        db.session.scalars(
            select(Indicator.id)
            .join(Result, Result.id == Indicator.result_id)
            .where(
                Result.project_id == project_id,
                Indicator.responsible_organisation_id == organisation,
            )
        )
    )


# --- small pure helpers for the templates ----------------------------------------------


@dataclass(frozen=True)
class Sparkline:
    width: int
    height: int
    target: str  # SVG polyline points
    actual: str
    last: tuple[float, float] | None  # the last actual point, drawn as a dot


def sparkline(series: Sequence[SeriesPoint], width: int = 90, height: int = 22) -> Sparkline | None:
    """SVG polyline points for target and actual over time, scaled into the box.

    >>> from datetime import date as d
    >>> s = sparkline([SeriesPoint(d(2024, 1, 1), d(2024, 6, 30), 10, 5),
    ...                SeriesPoint(d(2024, 7, 1), d(2024, 12, 31), 20, None)], 100, 20)
    >>> s.target, s.actual
    ('1.0,10.0 99.0,1.0', '1.0,14.5')
    """
    targets = [p.target for p in series]
    actuals = [p.actual for p in series]
    values = [v for v in targets + actuals if v is not None]
    if not values:
        return None
    top, bottom = max(max(values), 0.0), min(min(values), 0.0)
    scale = (height - 2) / ((top - bottom) or 1.0)
    count = len(series)
    step = (width - 2) / (count - 1) if count > 1 else 0.0
    # Formatted once to one decimal (cheaper than round() per point on a big logframe).
    xs = [f"{1 + i * step if count > 1 else width / 2:.1f}" for i in range(count)]

    def points(values: list[float | None]) -> list[str]:
        return [
            f"{x},{1 + scale * (top - v):.1f}"
            for x, v in zip(xs, values, strict=True)
            if v is not None
        ]

    target, actual = points(targets), points(actuals)
    last = None
    if actual:
        x, y = actual[-1].split(",")
        last = (float(x), float(y))
    return Sparkline(width, height, " ".join(target), " ".join(actual), last)


def status_class(status: str) -> str:
    return "status-" + status.replace(" ", "-")


# Widgets as Python functions rather than Jinja macros: a logframe of 2,000 indicators
# calls each one thousands of times, where a macro call costs ten times more.


def badge(status: str) -> Markup:
    """A status in its colour (classes, not inline styles: the CSP allows none)."""
    text = escape(status)
    return Markup(
        f'<span class="badge status-badge {escape(status_class(status))}" '
        f'data-status="{text}">{text}</span>'
    )


def bar(progress: float | None, status: str, width: int = 120) -> Markup:
    """Progress as an SVG bar capped to [0, 1], with its percentage beside it."""
    if progress is None:
        return Markup('<span class="text-muted">–</span>')
    filled = width * min(1.0, max(0.0, progress))
    label = f"{100 * progress:.0f}%"
    return Markup(
        f'<svg class="progress-bar-svg" width="{width}" height="10" role="img" '
        f'aria-label="{label} of the way to the target">'
        f'<rect class="progress-track" x="0" y="0" width="{width}" height="10" rx="2"></rect>'
        f'<rect class="{escape(status_class(status))}" x="0" y="0" width="{filled:.1f}" '
        f'height="10" rx="2"></rect></svg>'
        f'<span class="progress-label" data-progress="{progress:.4f}">{label}</span>'
    )


def spark(line: Sparkline | None) -> Markup:
    """The sparkline as inline SVG; its points are numbers formatted here, nothing to escape."""
    if line is None:
        return Markup("")
    html = (
        f'<svg class="sparkline" width="{line.width}" height="{line.height}" role="img" '
        'aria-label="target (dashed) and approved actual over time">'
    )
    if line.target:
        html += f'<polyline class="target" points="{line.target}"></polyline>'
    if line.actual:
        html += f'<polyline class="actual" points="{line.actual}"></polyline>'
    if line.last:
        html += f'<circle class="last" cx="{line.last[0]}" cy="{line.last[1]}" r="2"></circle>'
    return Markup(html + "</svg>")


def number(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "–"
    if value == int(value):
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"


def period_cells(cells: Sequence[IpttCell | None]) -> Markup:
    """The IPTT's period columns of one row: "target / actual (achieved)" per cell."""
    html = []
    for cell in cells:
        if cell is None:
            html.append('<td class="numeric"></td>')
            continue
        achieved = (
            f' <span class="text-muted">({percent(cell.achieved)})</span>'
            if cell.achieved is not None
            else ""
        )
        html.append(
            f'<td class="numeric">{number(cell.target)} / {number(cell.actual)}{achieved}</td>'
        )
    return Markup("".join(html))


def category_cells(cells: Sequence[IpttCell | None]) -> Markup:
    """The IPTT's sex columns of one row: target, actual and share achieved."""
    html = []
    for cell in cells:
        if cell is None:
            html.append("<td></td><td></td><td></td>")
        else:
            html.append(
                f'<td class="numeric">{number(cell.target)}</td>'
                f'<td class="numeric">{number(cell.actual)}</td>'
                f'<td class="numeric">{percent(cell.achieved)}</td>'
            )
    return Markup("".join(html))


# --- one indicator as plain data -------------------------------------------------------


def _as_float(value: Any) -> float | None:
    return None if value is None else float(value)


def indicator_data(indicator: Indicator) -> IndicatorData:
    """The snapshot of one indicator, from its loaded rows.

    Same rule as the project snapshot: only approved updates count and the latest
    approval of a period (by review time, then id) is its actual.
    """
    keys = {c.id: (d.name, c.name) for d in indicator.dimensions for c in d.categories}
    periods = []
    for p in indicator.periods:
        approved = sorted(
            (u for u in p.updates if u.status == UpdateStatus.APPROVED),
            key=lambda u: (u.reviewed_at is not None, u.reviewed_at, u.id),
        )
        best = approved[-1] if approved else None
        periods.append(
            PeriodData(
                start=p.start_date,
                end=p.end_date,
                target=_as_float(p.target_value),
                actual=Actual(
                    _as_float(best.value), _as_float(best.numerator), _as_float(best.denominator)
                )
                if best is not None
                else None,
                category_targets={
                    keys[t.category_id]: _as_float(t.target_value) for t in p.targets
                },
                category_actuals={
                    keys[v.category_id]: Actual(
                        _as_float(v.value), _as_float(v.numerator), _as_float(v.denominator)
                    )
                    for v in best.values
                }
                if best is not None
                else {},
                narrative=best.narrative if best is not None else None,
                comment=p.comment,
                update_comment=best.comment if best is not None else None,
                pending=sum(1 for u in p.updates if u.status != UpdateStatus.APPROVED),
                locked=p.locked,
            )
        )
    result = indicator.result
    return IndicatorData(
        id=indicator.id,
        code=indicator.code,
        title=indicator.title,
        measure=indicator.measure.value,
        aggregation=indicator.aggregation.value,
        ascending=indicator.ascending,
        baseline=_as_float(indicator.baseline_value),
        periods=tuple(periods),
        dimensions=tuple(
            (d.name, tuple(c.name for c in d.categories)) for d in indicator.dimensions
        ),
        category_baselines={
            (d.name, c.name): _as_float(c.baseline_value)
            for d in indicator.dimensions
            for c in d.categories
        },
        result_code=result.code,
        result_title=result.title,
        level=result.level.value,
        unit=indicator.unit,
        currency=result.project.currency,
        project_code=result.project.code,
    )


def load_indicator(indicator_id: int) -> Indicator:
    """An indicator with everything its page shows, in a fixed number of queries."""
    indicator = db.session.scalars(
        select(Indicator)
        .where(Indicator.id == indicator_id)
        .options(
            joinedload(Indicator.result).joinedload(Result.project),
            joinedload(Indicator.responsible_organisation),
            selectinload(Indicator.dimensions).selectinload(IndicatorDimension.categories),
            selectinload(Indicator.periods).selectinload(IndicatorPeriod.targets),
            selectinload(Indicator.periods)
            .selectinload(IndicatorPeriod.updates)
            .selectinload(IndicatorUpdate.values),
            selectinload(Indicator.periods)
            .selectinload(IndicatorPeriod.updates)
            .joinedload(IndicatorUpdate.reporting_organisation),
        )
    ).first()
    if indicator is None:
        abort(404)
    return indicator


class LogframeView(RoleRules, BaseView):
    """The results of a project as a tree, a tracking table and a report."""

    allow_create = allow_edit = allow_delete = False

    # -- pages --------------------------------------------------------------------------

    @expose("/")
    def index(self) -> str:
        indicators = (
            select(Result.project_id, func.count(Indicator.id).label("indicators"))
            .join(Indicator, Indicator.result_id == Result.id)
            .group_by(Result.project_id)
            .subquery()
        )
        rows = db.session.execute(
            select(
                Project.id,
                Project.code,
                Project.title,
                Project.start_date,
                Project.end_date,
                func.coalesce(indicators.c.indicators, 0),
            )
            .outerjoin(indicators, indicators.c.project_id == Project.id)
            .order_by(Project.code)
        ).all()
        return self.render("coordination/results/projects.html", projects=rows)

    @expose("/<int:project_id>/")
    @collector_paused()  # thousands of small acyclic objects (see collector_paused)
    def logframe(self, project_id: int) -> str:
        # Totals only: the logframe shows no disaggregation.
        project, data, progress = self._progress(project_id, detail="series")
        summary = rollup_results(data.results, progress)
        by_result: dict[str, list[IndicatorProgress]] = defaultdict(list)
        for item in progress:
            by_result[item.indicator.result_code].append(item)
        lines = {
            item.indicator.id: sparkline(indicator_series(item.indicator)) for item in progress
        }
        totals = {status: sum(1 for i in progress if i.status == status) for status in STATUSES}
        return self.render(
            "coordination/results/logframe.html",
            project=project,
            data=data,
            results=data.results,
            depths=result_depths(data.results),
            summary=summary,
            by_result=by_result,
            sparklines=lines,
            totals=totals,
            pending=sum(i.pending for i in progress),
            reportable=reportable_indicator_ids(project_id),
            **self._helpers(),
        )

    @expose("/<int:project_id>/iptt")
    @collector_paused()
    def iptt(self, project_id: int) -> str:
        project, data, progress = self._progress(project_id)
        level = request.args.get("level") or None
        under = request.args.get("outcome") or None
        status = request.args.get("status") or None
        chosen = filter_progress(data, progress, level=level, under=under, status=status)
        indicators = [item.indicator for item in chosen]
        periods = iptt_periods(indicators)
        sex = sex_categories(indicators)
        return self.render(
            "coordination/results/iptt.html",
            project=project,
            data=data,
            periods=periods,
            sex=sex,
            rows=iptt_rows(chosen, periods, sex),
            total=len(progress),
            levels=list(ResultLevel),
            outcomes=[r for r in data.results if r.level in ("goal", "outcome")],
            statuses=STATUSES,
            chosen={"level": level or "", "outcome": under or "", "status": status or ""},
            **self._helpers(),
        )

    @expose("/<int:project_id>/report.<fmt>")
    def report(self, project_id: int, fmt: str) -> Response:
        if fmt not in REPORT_FORMATS:
            abort(404)
        from coordination.interop.reports import (
            build_report,
            render_html,
            render_pdf,
            render_xlsx,
        )

        project = self._project(project_id)
        try:
            report = build_report(db.session, project.code)
            if fmt == "xlsx":
                body: bytes = render_xlsx(report)
            elif fmt == "pdf":
                body = render_pdf(report)
            else:
                body = render_html(report).encode("utf-8")
        except CoordinationError as error:
            flash(f"The report could not be made: {error}", "error")
            return redirect(url_for(".logframe", project_id=project_id))
        except OSError as error:  # WeasyPrint without its system libraries
            flash(f"The PDF could not be made on this server ({error}); try XLSX or HTML.", "error")
            return redirect(url_for(".logframe", project_id=project_id))
        filename = f"{_safe_name(project.code)}-progress-{report.end.isoformat()}.{fmt}"
        response = Response(body, mimetype=REPORT_FORMATS[fmt])
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    @expose("/indicator/<int:indicator_id>")
    def indicator(self, indicator_id: int) -> str:
        indicator = load_indicator(indicator_id)
        project = indicator.result.project
        data = indicator_data(indicator)
        item = indicator_progress(
            data, start=project.start_date, end=project.end_date, today=date.today()
        )
        series = indicator_series(data)
        chart = {
            "labels": [p.end.isoformat() for p in series],
            "target": [p.target for p in series],
            "actual": [p.actual for p in series],
            "unit": indicator.unit or ("%" if data.measure == "percentage" else ""),
            "cumulative": data.aggregation == "cumulative",
        }
        can_report = may_report_on(indicator.responsible_organisation_id)
        # A draft is its reporters' work in progress: only they and managers see it.
        updates = sorted(
            (
                u
                for p in indicator.periods
                for u in p.updates
                if can_report or u.status != UpdateStatus.DRAFT
            ),
            key=lambda u: u.id,
            reverse=True,
        )
        category_names = {
            c.id: f"{d.name}: {c.name}" for d in indicator.dimensions for c in d.categories
        }
        role = current_role()
        return self.render(
            "coordination/results/indicator.html",
            project=project,
            indicator=indicator,
            item=item,
            data=data,
            chart=chart,
            updates=updates,
            category_names=category_names,
            audit=self._audit(indicator, updates),
            can_report=can_report,
            can_review=role in MANAGER_ROLES,
            period_actual=period_actual,
            **self._helpers(),
        )

    # -- helpers ------------------------------------------------------------------------

    def _helpers(self) -> dict[str, Any]:
        return {
            "status_class": status_class,
            "badge": badge,
            "bar": bar,
            "spark": spark,
            "period_cells": period_cells,
            "category_cells": category_cells,
            "number": number,
            "percent": percent,
            "UpdateStatus": UpdateStatus,
            "is_manager": current_role() in MANAGER_ROLES,
            # url_for once, not once per row of a 2,000-indicator page
            "indicator_url": url_for(".indicator", indicator_id=0).removesuffix("0"),
        }

    def _project(self, project_id: int) -> Project:
        project = db.session.get(Project, project_id)
        if project is None:
            abort(404)
        return project

    def _progress(
        self, project_id: int, detail: Detail = "periods"
    ) -> tuple[Project, Any, list[IndicatorProgress]]:
        project = self._project(project_id)
        (data,) = load_progress_snapshot(db.session, [project.code], detail=detail)
        return project, data, project_progress(data, today=date.today())

    def _audit(self, indicator: Indicator, updates: list[IndicatorUpdate]) -> list[AuditEntry]:
        """The audit rows of the indicator, its periods and their updates, newest first."""
        wanted = [
            ("Indicator", [str(indicator.id)]),
            ("IndicatorPeriod", [str(p.id) for p in indicator.periods]),
            ("IndicatorUpdate", [str(u.id) for u in updates]),
        ]
        clauses = [
            (AuditEntry.entity_type == kind) & AuditEntry.entity_id.in_(ids)
            for kind, ids in wanted
            if ids
        ]
        return list(
            db.session.scalars(
                select(AuditEntry)
                .where(or_(*clauses))
                .order_by(AuditEntry.occurred_at.desc(), AuditEntry.id.desc())
                .limit(AUDIT_ROWS)
            )
        )


def _safe_name(code: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in code) or "project"
