"""The donor progress report: one set of facts, three renderings (XLSX, HTML, PDF).

:func:`build_report` gathers everything from the database once; the renderers are
pure functions of that :class:`Report`. XLSX cells are typed (numbers, dates,
fractions formatted as percentages) with one sheet per section and a frozen header
row; the PDF is the HTML laid out by WeasyPrint. Every text cell goes through
:func:`coordination.interop.safe_cells.neutralise`.
"""

from __future__ import annotations

import html
import io
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from coordination.analysis.progress import (
    IndicatorProgress,
    ProjectData,
    Thresholds,
    project_progress,
    rollup_results,
)
from coordination.errors import NotFound, ValidationError
from coordination.interop.safe_cells import neutralise, safe_value
from coordination.models import Intervention, Meeting, Project

__all__ = ["Report", "build_report", "render_html", "render_pdf", "render_xlsx"]

SEX = "sex"
STATUS_COLOURS = {
    "on track": "#2e7d32",
    "at risk": "#f9a825",
    "off track": "#c62828",
    "no data": "#9e9e9e",
}


@dataclass(frozen=True)
class Report:
    project: ProjectData
    facts: list[tuple[str, Any]]
    start: date
    end: date
    generated: date
    progress: list[IndicatorProgress]
    results: dict[str, dict[str, Any]]
    sex_categories: list[str]
    comments: list[dict[str, Any]]
    meetings: list[dict[str, Any]]
    interventions: list[dict[str, Any]]

    @property
    def outcomes(self) -> list[dict[str, Any]]:
        """Summary rows for the goal and outcome levels, in logframe order."""
        return [
            self.results[r.code]
            for r in self.project.results
            if r.level in ("goal", "outcome") and r.code in self.results
        ]


def build_report(
    session: Session,
    project_code: str,
    *,
    start: date | None = None,
    end: date | None = None,
    today: date | None = None,
    thresholds: Thresholds | None = None,
) -> Report:
    """Everything the report shows, for the period ``start`` to ``end``.

    The period defaults to the project's start up to today (or the project's end).
    Progress is cumulative to the end of the period: only periods that started by
    then count, and only approved actuals.
    """
    from coordination.services.results import load_progress_snapshot

    project_row = session.scalars(
        select(Project)
        .where(Project.code == project_code)
        .options(selectinload(Project.participations), selectinload(Project.countries))
    ).first()
    if project_row is None:
        raise NotFound(f"no project with code {project_code}")
    (snapshot,) = load_progress_snapshot(session, [project_code])
    today = today or date.today()
    start = start or project_row.start_date or today
    end = end or min(today, project_row.end_date or today)
    if end < start:
        raise ValidationError(
            {"end": f"the report period ends on {end}, before it starts ({start})"}
        )

    in_window = replace(
        snapshot,
        indicators=tuple(
            replace(i, periods=tuple(p for p in i.periods if p.start <= end))
            for i in snapshot.indicators
        ),
    )
    progress = project_progress(in_window, today=end, thresholds=thresholds or Thresholds())
    results = rollup_results(in_window.results, progress)

    sex_categories: list[str] = []
    for indicator in in_window.indicators:
        for dimension, categories in indicator.dimensions:
            if dimension.lower() == SEX:
                sex_categories += [c for c in categories if c not in sex_categories]

    comments = [
        {
            "indicator": i.code,
            "title": i.title,
            "period_start": p.start,
            "period_end": p.end,
            "kind": kind,
            "text": text,
        }
        for i in in_window.indicators
        for p in i.periods
        if p.end >= start
        for kind, text in (
            ("narrative", p.narrative),
            ("reporter's comment", p.update_comment),
            ("period comment", p.comment),
        )
        if text
    ]

    window_start = datetime.combine(start, time.min, tzinfo=UTC)
    window_end = datetime.combine(end, time.max, tzinfo=UTC)
    meetings = [
        {
            "date": m.starts_at.date(),
            "title": m.title,
            "type": m.meeting_type.label,
            "place": ", ".join(x for x in (m.city, m.country_code) if x) or "online",
            "status": m.status.label,
        }
        for m in session.scalars(
            select(Meeting)
            .where(Meeting.starts_at >= window_start, Meeting.starts_at <= window_end)
            .order_by(Meeting.starts_at)
        )
    ]
    interventions = [
        {
            "code": i.code,
            "title": i.title,
            "type": i.intervention_type.label,
            "lead": i.lead_organisation.acronym,
            "start": i.start_date,
            "end": i.end_date,
            "status": i.status.label,
            "results": ", ".join(sorted(r.code for r in i.results)),
        }
        for i in session.scalars(
            select(Intervention)
            .where(
                Intervention.project_id == project_row.id,
                Intervention.start_date <= end,
                (Intervention.end_date.is_(None)) | (Intervention.end_date >= start),
            )
            .options(
                selectinload(Intervention.lead_organisation), selectinload(Intervention.results)
            )
            .order_by(Intervention.start_date, Intervention.code)
        )
    ]
    facts: list[tuple[str, Any]] = [
        ("Project", project_row.title),
        ("Code", project_row.code),
        ("Start", project_row.start_date),
        ("End", project_row.end_date),
        ("Status", project_row.status.label),
        (
            "Budget",
            float(project_row.budget) if project_row.budget is not None else None,
        ),
        ("Currency", project_row.currency),
        ("Donors", ", ".join(o.name for o in project_row.donors)),
        ("Implementers", ", ".join(o.name for o in project_row.implementers)),
        ("Countries", ", ".join(c.name for c in project_row.countries)),
        ("Reporting period", f"{start.isoformat()} to {end.isoformat()}"),
        ("Indicators", len(progress)),
        ("Updates awaiting approval", sum(p.pending for p in progress)),
    ]
    return Report(
        project=in_window,
        facts=facts,
        start=start,
        end=end,
        generated=today,
        progress=progress,
        results=results,
        sex_categories=sex_categories,
        comments=comments,
        meetings=meetings,
        interventions=interventions,
    )


# --- shared row builders ---------------------------------------------------------


def _iptt_header(report: Report) -> list[str]:
    header = [
        "Result",
        "Level",
        "Code",
        "Indicator",
        "Measure",
        "Unit",
        "Baseline",
        "Target",
        "Actual",
        "Progress",
        "Status",
    ]
    for category in report.sex_categories:
        header += [f"{category.capitalize()} target", f"{category.capitalize()} actual"]
    return header + ["Pending updates"]


def _iptt_rows(report: Report) -> list[list[Any]]:
    rows = []
    for item in report.progress:
        ind, fig = item.indicator, item.figures
        row: list[Any] = [
            ind.result_code,
            ind.level,
            ind.code,
            ind.title,
            ind.measure,
            ind.unit or ("%" if ind.measure == "percentage" else None),
            fig.baseline,
            fig.target,
            fig.actual,
            item.progress,
            item.status,
        ]
        sex = {k.lower(): v for k, v in item.disaggregations.items()}.get(SEX, {})
        for category in report.sex_categories:
            figures = sex.get(category)
            row += [figures.target, figures.actual] if figures else [None, None]
        rows.append(row + [item.pending])
    return rows


def _period_rows(report: Report) -> tuple[list[str], list[list[Any]]]:
    header = ["Code", "Indicator", "Period start", "Period end", "Target", "Actual"]
    for category in report.sex_categories:
        header += [f"{category.capitalize()} target", f"{category.capitalize()} actual"]
    header += ["Approved", "Pending updates", "Locked"]
    rows = []
    for ind in report.project.indicators:
        sex_key = next((d for d, _ in ind.dimensions if d.lower() == SEX), SEX)
        for p in ind.periods:
            actual: float | None = None
            if p.actual is not None:
                if ind.measure == "percentage" and p.actual.denominator:
                    actual = 100 * (p.actual.numerator or 0) / p.actual.denominator
                else:
                    actual = p.actual.value
            row: list[Any] = [ind.code, ind.title, p.start, p.end, p.target, actual]
            for category in report.sex_categories:
                value = p.category_actuals.get((sex_key, category))
                category_actual: float | None
                if value is not None and ind.measure == "percentage" and value.denominator:
                    category_actual = 100 * (value.numerator or 0) / value.denominator
                else:
                    category_actual = value.value if value is not None else None
                row += [p.category_targets.get((sex_key, category)), category_actual]
            rows.append(row + ["yes" if p.actual is not None else "no", p.pending, p.locked])
    return header, rows


def _outcome_rows(report: Report) -> tuple[list[str], list[list[Any]]]:
    header = ["Code", "Level", "Result", "Indicators", "On track", "At risk", "Off track"]
    header += ["No data", "Status", "Median progress"]
    rows = [
        [
            r["code"],
            r["level"],
            r["title"],
            r["indicators"],
            r["counts"]["on track"],
            r["counts"]["at risk"],
            r["counts"]["off track"],
            r["counts"]["no data"],
            r["status"],
            r["progress"],
        ]
        for r in report.outcomes
    ]
    return header, rows


# --- XLSX ------------------------------------------------------------------------


def render_xlsx(report: Report) -> bytes:
    """A workbook with typed cells, one sheet per section, frozen headers, a chart."""
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDE6F0")

    def sheet(
        title: str,
        header: Sequence[str],
        rows: Sequence[Sequence[Any]],
        percent: Sequence[str] = (),
    ) -> Any:
        ws = workbook.create_sheet(title)
        ws.append([neutralise(h) for h in header])
        for cell in ws[1]:
            cell.font, cell.fill = bold, fill
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        for row in rows:
            ws.append([safe_value(v) for v in row])
        ws.freeze_panes = "A2"
        percent_columns = {header.index(name) + 1 for name in percent if name in header}
        for column_index, name in enumerate(header, start=1):
            letter = get_column_letter(column_index)
            longest = max([len(str(name))] + [len(str(r[column_index - 1] or "")) for r in rows])
            ws.column_dimensions[letter].width = min(60, max(10, longest + 2))
            for (cell,) in ws.iter_rows(min_row=2, min_col=column_index, max_col=column_index):
                if isinstance(cell.value, datetime | date):
                    cell.number_format = "yyyy-mm-dd"
                elif column_index in percent_columns and isinstance(cell.value, int | float):
                    cell.number_format = "0%"
                elif isinstance(cell.value, float):
                    cell.number_format = "#,##0.##"
        return ws

    cover = workbook.active
    cover.title = "Cover"
    cover.append([neutralise("Donor progress report"), neutralise(report.project.title)])
    cover.append([neutralise("Generated"), report.generated])
    for label, value in report.facts:
        cover.append([neutralise(label), safe_value(value)])
    for label, value in cover.iter_rows(min_row=1, max_col=2):
        label.font = bold
        if isinstance(value.value, date):
            value.number_format = "yyyy-mm-dd"
    cover.column_dimensions["A"].width = 28
    cover.column_dimensions["B"].width = 80
    cover.freeze_panes = "A2"

    header, rows = _outcome_rows(report)
    sheet("Summary by outcome", header, rows, percent=["Median progress"])
    iptt = sheet("IPTT", _iptt_header(report), _iptt_rows(report), percent=["Progress"])
    if report.progress:
        chart = BarChart()
        chart.type = "bar"
        chart.title = "Progress towards target"
        chart.y_axis.number_format = "0%"
        chart.y_axis.title = "share of the way from baseline to target"
        column = _iptt_header(report).index("Progress") + 1
        data = Reference(iptt, min_col=column, min_row=1, max_row=len(report.progress) + 1)
        labels = Reference(iptt, min_col=3, min_row=2, max_row=len(report.progress) + 1)
        chart.add_data(data, titles_from_data=True)
        chart.set_categories(labels)
        chart.height = max(8, 0.5 * len(report.progress))
        chart.width = 18
        charts = workbook.create_sheet("Charts")
        charts.append([neutralise("Progress of each indicator (from the IPTT sheet)")])
        charts.freeze_panes = "A2"
        charts.add_chart(chart, "A3")
    header, rows = _period_rows(report)
    sheet("IPTT by period", header, rows)
    sheet(
        "Comments",
        ["Code", "Indicator", "Period start", "Period end", "Kind", "Text"],
        [
            [c["indicator"], c["title"], c["period_start"], c["period_end"], c["kind"], c["text"]]
            for c in report.comments
        ],
    )
    sheet(
        "Meetings",
        ["Date", "Meeting", "Type", "Place", "Status"],
        [[m["date"], m["title"], m["type"], m["place"], m["status"]] for m in report.meetings],
    )
    sheet(
        "Interventions",
        ["Code", "Intervention", "Type", "Lead", "Start", "End", "Status", "Results"],
        [
            [
                i["code"],
                i["title"],
                i["type"],
                i["lead"],
                i["start"],
                i["end"],
                i["status"],
                i["results"],
            ]
            for i in report.interventions
        ],
    )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- HTML and PDF ----------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, date):
        return value.isoformat()
    return html.escape(neutralise(str(value)))


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], css: str = "") -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _badge(status: str) -> str:
    return f'<span class="badge" style="background:{STATUS_COLOURS[status]}">{html.escape(status)}</span>'


def _progress_chart(report: Report) -> str:
    """A horizontal bar per indicator: progress (capped at 150 %), coloured by status."""
    items = [p for p in report.progress if p.indicator.measure != "qualitative"]
    if not items:
        return ""
    row, label_width, bar_width = 16, 70, 420
    height = row * len(items) + 30
    scale = bar_width / 1.5
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_width + bar_width + 60}" '
        f'height="{height}" font-family="DejaVu Sans, sans-serif" font-size="9" role="img" '
        'aria-label="Progress of each indicator">'
    ]
    for index, item in enumerate(items):
        y = 20 + index * row
        value = max(0.0, min(1.5, item.progress or 0.0))
        parts.append(
            f'<text x="{label_width - 6}" y="{y + 10}" text-anchor="end">{html.escape(item.indicator.code)}</text>'
        )
        parts.append(
            f'<rect x="{label_width}" y="{y + 2}" width="{value * scale:.1f}" height="{row - 5}" '
            f'fill="{STATUS_COLOURS[item.status]}"/>'
        )
        parts.append(
            f'<text x="{label_width + value * scale + 4:.1f}" y="{y + 10}">{_percent(item.progress)}</text>'
        )
    for mark in (0.0, 0.5, 1.0, 1.5):
        x = label_width + mark * scale
        parts.append(
            f'<line x1="{x:.1f}" y1="14" x2="{x:.1f}" y2="{height}" stroke="#999" stroke-dasharray="2,2"/>'
        )
        parts.append(f'<text x="{x:.1f}" y="10" text-anchor="middle">{mark:.0%}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _sex_chart(report: Report) -> str:
    """Per indicator, each sex category's actual against its target ("28 / 30").

    Every indicator gets its own scale (its largest target or actual), so a
    small indicator is as readable as a large one; an outline marks the target.
    """
    rows = []
    for item in report.progress:
        sex = {k.lower(): v for k, v in item.disaggregations.items()}.get(SEX)
        if sex and item.indicator.measure in ("unit", "currency"):
            rows.append((item.indicator.code, sex))
    if not rows or not report.sex_categories:
        return ""
    colours = ["#6a1b9a", "#00838f", "#ef6c00", "#546e7a"]
    categories = report.sex_categories
    bar, gap = 11, 10
    group = bar * len(categories) + gap
    label_width, bar_width = 60, 330
    height = 28 + group * len(rows)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_width + bar_width + 90}" '
        f'height="{height}" font-family="DejaVu Sans, sans-serif" font-size="8" role="img" '
        'aria-label="Actual against target by sex">'
    ]
    for index, name in enumerate(categories):
        x = label_width + index * 110
        parts.append(
            f'<rect x="{x}" y="3" width="9" height="9" fill="{colours[index % 4]}"/>'
            f'<text x="{x + 13}" y="11">{html.escape(name)}</text>'
        )
    parts.append(
        f'<rect x="{label_width + len(categories) * 110}" y="3" width="18" height="9" '
        'fill="none" stroke="#333"/>'
        f'<text x="{label_width + len(categories) * 110 + 22}" y="11">target</text>'
    )
    for r, (code, sex) in enumerate(rows):
        y0 = 22 + r * group
        largest = (
            max([c.target or 0 for c in sex.values()] + [c.actual or 0 for c in sex.values()]) or 1
        )
        scale = bar_width / largest
        parts.append(
            f'<text x="{label_width - 6}" y="{y0 + bar}" text-anchor="end">{html.escape(code)}</text>'
        )
        for index, name in enumerate(categories):
            figures = sex.get(name)
            if figures is None:
                continue
            y = y0 + index * bar
            colour = colours[index % 4]
            actual, target = figures.actual or 0, figures.target
            parts.append(
                f'<rect x="{label_width}" y="{y}" width="{actual * scale:.1f}" '
                f'height="{bar - 2}" fill="{colour}"/>'
            )
            if target:
                parts.append(
                    f'<rect x="{label_width}" y="{y}" width="{target * scale:.1f}" '
                    f'height="{bar - 2}" fill="none" stroke="#333"/>'
                )
            label = (
                f"{_text(figures.actual)} / {_text(target)}" if target else _text(figures.actual)
            )
            end = max(actual, target or 0) * scale
            parts.append(f'<text x="{label_width + end + 4:.1f}" y="{y + bar - 3}">{label}</text>')
    parts.append("</svg>")
    return "".join(parts)


_CSS = """
@page { size: A4 landscape; margin: 14mm 12mm 16mm;
        @bottom-right { content: "page " counter(page) " of " counter(pages); font-size: 8pt; color: #555; } }
body { font-family: "DejaVu Sans", sans-serif; font-size: 8.5pt; color: #222; }
h1 { font-size: 18pt; margin: 0 0 4mm; color: #123f6d; }
h2 { font-size: 12.5pt; color: #123f6d; border-bottom: 1px solid #123f6d; margin-top: 7mm;
     page-break-after: avoid; }
section.cover { page-break-after: always; }
table { border-collapse: collapse; width: 100%; margin: 2mm 0; }
th, td { border: 1px solid #c8d0d8; padding: 1.2mm 1.5mm; vertical-align: top; text-align: left; }
th { background: #dde6f0; }
tr { page-break-inside: avoid; }
td.number, th.number { text-align: right; }
table.facts td:first-child { width: 55mm; font-weight: bold; }
table.iptt { font-size: 7pt; }
table.iptt td:nth-child(3) { width: 70mm; }
.badge { color: white; padding: 0.3mm 1.5mm; border-radius: 2mm; font-size: 7.5pt; white-space: nowrap; }
.muted { color: #666; }
"""


def render_html(report: Report) -> str:
    """A self-contained HTML page (inline CSS and SVG charts) that WeasyPrint lays out."""
    facts = "".join(
        f"<tr><td>{html.escape(label)}</td><td>{_text(value)}</td></tr>"
        for label, value in report.facts
    )
    facts = f'<table class="facts"><tbody>{facts}</tbody></table>'
    counts = {status: 0 for status in STATUS_COLOURS}
    for item in report.progress:
        counts[item.status] += 1
    overview = " ".join(f"{_badge(status)} {n}" for status, n in counts.items())
    outcome_header, outcome_rows = _outcome_rows(report)
    outcomes = _table(
        outcome_header,
        [[_text(v) for v in row[:8]] + [_badge(row[8]), _percent(row[9])] for row in outcome_rows],
    )
    header = _iptt_header(report)
    # The page keeps the columns a reader compares; the workbook has them all.
    shown = [h for h in header if h not in ("Level", "Measure")]
    iptt_rows = []
    for row in _iptt_rows(report):
        cells = dict(zip(header, row, strict=True))
        rendered = {name: _text(value) for name, value in cells.items()}
        rendered["Progress"] = _percent(cells["Progress"])
        rendered["Status"] = _badge(cells["Status"])
        iptt_rows.append([rendered[name] for name in shown])
    iptt = _table([h.replace(" updates", "") for h in shown], iptt_rows, "iptt")
    comments = (
        _table(
            ["Code", "Period", "Kind", "Text"],
            [
                [
                    _text(c["indicator"]),
                    f"{c['period_start']} – {c['period_end']}",
                    _text(c["kind"]),
                    _text(c["text"]),
                ]
                for c in report.comments
            ],
        )
        if report.comments
        else '<p class="muted">No narrative comments in this period.</p>'
    )
    meetings = (
        _table(
            ["Date", "Meeting", "Type", "Place", "Status"],
            [
                [_text(m[k]) for k in ("date", "title", "type", "place", "status")]
                for m in report.meetings
            ],
        )
        if report.meetings
        else '<p class="muted">No meetings in this period.</p>'
    )
    interventions = (
        _table(
            ["Code", "Intervention", "Type", "Lead", "Start", "End", "Status", "Results"],
            [
                [
                    _text(i[k])
                    for k in ("code", "title", "type", "lead", "start", "end", "status", "results")
                ]
                for i in report.interventions
            ],
        )
        if report.interventions
        else '<p class="muted">No interventions of this project in the period.</p>'
    )
    title = html.escape(report.project.title)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title} – progress report</title>
<style>{_CSS}</style></head><body>
<section class="cover">
<h1>{title}</h1>
<p>Donor progress report for {report.start.isoformat()} to {report.end.isoformat()},
generated on {report.generated.isoformat()}. Only approved figures are shown.</p>
{facts}
<p>Indicators by status: {overview}</p>
</section>
<h2>Progress summary by outcome</h2>
{outcomes}
<h2>Progress of each indicator</h2>
{_progress_chart(report)}
<h2>Indicator performance tracking table (IPTT)</h2>
<p class="muted">Progress = (actual − baseline) / (target − baseline); cumulative indicators add
their period values, latest-value indicators show the most recent approved period.</p>
{iptt}
<h2>Sex-disaggregated results</h2>
{_sex_chart(report) or '<p class="muted">No sex-disaggregated indicators.</p>'}
<h2>Narrative comments</h2>
{comments}
<h2>Meetings in the period</h2>
{meetings}
<h2>Key interventions in the period</h2>
{interventions}
</body></html>
"""


def render_pdf(report: Report) -> bytes:
    """The HTML report as PDF, laid out by WeasyPrint."""
    from weasyprint import HTML

    return HTML(string=render_html(report)).write_pdf()
