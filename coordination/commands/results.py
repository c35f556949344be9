"""``coordination progress`` and ``coordination report``: results for managers and donors."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import click
from sqlalchemy.orm import Session

from coordination.analysis.progress import Thresholds, project_progress, rollup_programme
from coordination.commands import database_option, open_engine, reports_errors
from coordination.interop.safe_cells import safe_value
from coordination.services.results import load_progress_snapshot

__all__ = ["COMMANDS", "progress", "report"]

_date = click.DateTime(formats=["%Y-%m-%d"])


def _thresholds(on_track: float, at_risk: float) -> Thresholds:
    try:
        return Thresholds(on_track=on_track, at_risk=at_risk)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


@click.command()
@click.option(
    "--project",
    "project_codes",
    metavar="CODE",
    multiple=True,
    help="Only this project (repeat for several; default: all).",
)
@click.option(
    "--rollup",
    is_flag=True,
    help="Combine the projects into one programme, indicator by indicator (matched on code).",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
)
@click.option("--as-of", type=_date, default=None, help="Date for time elapsed (default: today).")
@click.option(
    "--on-track",
    type=float,
    default=0.9,
    show_default=True,
    help="Share of expected progress that is on track.",
)
@click.option(
    "--at-risk",
    type=float,
    default=0.6,
    show_default=True,
    help="Share of expected progress below which it is off track.",
)
@database_option
@reports_errors
def progress(
    project_codes: tuple[str, ...],
    rollup: bool,
    output_format: str,
    as_of: object,
    on_track: float,
    at_risk: float,
    database: str | None,
) -> None:
    """Progress and status of every indicator, from approved actuals only."""
    thresholds = _thresholds(on_track, at_risk)
    today = as_of.date() if as_of is not None else date.today()  # type: ignore[attr-defined]
    engine = open_engine(database)
    try:
        with Session(engine) as session:
            projects = load_progress_snapshot(
                session, list(project_codes) or None, detail="figures"
            )
    finally:
        engine.dispose()
    if rollup:
        try:
            combined = rollup_programme(projects, today=today, thresholds=thresholds)
        except ValueError as error:
            raise click.ClickException(str(error)) from None
        items = [item.as_dict() for item in combined]
    else:
        items = [
            item.as_dict()
            for project in projects
            for item in project_progress(project, today=today, thresholds=thresholds)
        ]
    if output_format == "json":
        click.echo(json.dumps({"indicators": items}, indent=2, ensure_ascii=False))
    elif output_format == "csv":
        click.echo(_csv(items), nl=False)
    else:
        click.echo(_table(items))


def _flat(item: dict[str, object]) -> dict[str, object]:
    row = {k: v for k, v in item.items() if k != "disaggregations"}
    for dimension, categories in item["disaggregations"].items():  # type: ignore[attr-defined]
        for category, figures in categories.items():
            for key in ("target", "actual", "progress"):
                row[f"{dimension}:{category}:{key}"] = figures[key]
    return row


def _csv(items: list[dict[str, object]]) -> str:
    rows = [_flat(item) for item in items]
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: safe_value(v) for k, v in row.items()})
    return buffer.getvalue()


def _number(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"
    return str(value)


def _table(items: list[dict[str, object]]) -> str:
    if not items:
        return "no indicators"
    header = [
        "project",
        "result",
        "code",
        "title",
        "baseline",
        "target",
        "actual",
        "progress",
        "status",
    ]
    rows = [
        [
            str(i["project"]),
            str(i["result"]),
            str(i["code"]),
            str(i["title"])[:48],
            _number(i["baseline"]),
            _number(i["target"]),
            _number(i["actual"]),
            "-" if i["progress"] is None else f"{100 * i['progress']:.0f}%",  # type: ignore[operator]
            str(i["status"])
            + (f" ({i['pending_updates']} pending)" if i["pending_updates"] else ""),
        ]
        for i in items
    ]
    widths = [max(len(r[c]) for r in [header, *rows]) for c in range(len(header))]
    numeric = {4, 5, 6, 7}
    lines = []
    for row in [header, *rows]:
        lines.append(
            "  ".join(
                cell.rjust(widths[c]) if c in numeric else cell.ljust(widths[c])
                for c, cell in enumerate(row)
            ).rstrip()
        )
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


@click.command()
@click.option("--project", "project_code", metavar="CODE", required=True)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["xlsx", "pdf", "html"]),
    default=None,
    help="Default: from the file name's extension.",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--from", "start", type=_date, default=None, help="Start of the reporting period.")
@click.option("--to", "end", type=_date, default=None, help="End of the reporting period.")
@database_option
@reports_errors
def report(
    project_code: str,
    output_format: str | None,
    output: Path,
    start: object,
    end: object,
    database: str | None,
) -> None:
    """The donor progress report: cover, summary by outcome, IPTT, charts, comments, meetings."""
    from coordination.interop.reports import build_report, render_html, render_pdf, render_xlsx

    output_format = output_format or output.suffix.lstrip(".").lower()
    if output_format not in ("xlsx", "pdf", "html"):
        raise click.BadParameter("use --format xlsx, pdf or html", param_hint="--format")
    engine = open_engine(database)
    try:
        with Session(engine) as session:
            data = build_report(
                session,
                project_code,
                start=start.date() if start is not None else None,  # type: ignore[attr-defined]
                end=end.date() if end is not None else None,  # type: ignore[attr-defined]
            )
    finally:
        engine.dispose()
    if output_format == "xlsx":
        output.write_bytes(render_xlsx(data))
    elif output_format == "pdf":
        output.write_bytes(render_pdf(data))
    else:
        output.write_text(render_html(data), encoding="utf-8")
    click.echo(f"wrote {output} ({len(data.progress)} indicators)")


COMMANDS = [progress, report]
