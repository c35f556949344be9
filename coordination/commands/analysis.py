"""``coordination overlaps``, ``gaps`` and ``network``: the coordination analyses on the CLI.

Each command reads one snapshot in one read-only transaction, runs the pure analyses of
:mod:`coordination.analysis` and prints a table for people or JSON/CSV/GraphML for tools.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click

from coordination.analysis.gaps import constituency_gaps, coverage_gaps, partnership_gaps
from coordination.analysis.network import (
    FORMATS,
    annotate,
    build_network,
    export_network,
    network_metrics,
)
from coordination.analysis.overlaps import DUPLICATE, OverlapReport, find_overlaps
from coordination.analysis.snapshot import Snapshot, load_overlap_snapshot, load_snapshot
from coordination.commands import (
    database_option,
    open_engine,
    progress,
    reports_errors,
    transaction,
)
from coordination.vocab import OverlapDecisionKind

__all__ = ["COMMANDS", "gaps_command", "network_command", "overlaps_command"]

today_option = click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Date that open-ended interventions run until (default: today).",
)


def _run_steps(label: str, steps: Sequence[tuple[str, Callable[[], Any]]]) -> None:
    """Run the steps in order, with a progress bar on a terminal (stderr)."""
    with progress(steps, length=len(steps), label=label) as bar:
        for _name, step in bar:
            step()


def _today(value: datetime | None) -> date:
    return value.date() if value is not None else date.today()


def _overlap_report(
    url: str | None,
    today: date,
    *,
    full: bool,
    duplicates_only: bool = False,
    min_score: float | None = None,
) -> tuple[Snapshot, OverlapReport]:
    engine = open_engine(url)
    state: dict[str, Any] = {}

    def load() -> None:
        with transaction(engine) as session:
            connection = session.connection()
            state["snapshot"] = (
                load_snapshot(connection) if full else load_overlap_snapshot(connection)
            )

    def analyse() -> None:
        snapshot = state["snapshot"]
        state["report"] = find_overlaps(
            snapshot.interventions,
            today=today,
            decisions=snapshot.decisions,
            duplicates_only=duplicates_only,
            min_score=min_score,
        )

    try:
        _run_steps("Analysing overlaps", [("load", load), ("overlaps", analyse)])
    finally:
        engine.dispose()
    return state["snapshot"], state["report"]


@click.command("overlaps")
@database_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
)
@click.option(
    "--min-score",
    type=click.FloatRange(0, 1),
    default=None,
    help="Only pairs scoring at least this much (0 to 1).",
)
@click.option("--duplicates-only", is_flag=True, help="Only likely duplicates.")
@today_option
@reports_errors
def overlaps_command(
    database: str | None,
    fmt: str,
    min_score: float | None,
    duplicates_only: bool,
    today: datetime | None,
) -> None:
    """Overlapping and likely duplicate interventions, and the clusters they form.

    Pairs a coordinator has already decided on are left out until either intervention
    changes.
    """
    snapshot, report = _overlap_report(
        database,
        _today(today),
        full=False,
        duplicates_only=duplicates_only,
        min_score=min_score,
    )
    label = snapshot.place_label
    if fmt == "json":
        document = {
            "pairs": [pair.as_dict(label) for pair in report.pairs],
            "clusters": [list(cluster.codes) for cluster in report.clusters],
        }
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
    elif fmt == "csv":
        click.echo(_overlaps_csv(report, label), nl=False)
    else:
        click.echo(_overlaps_table(report, label))


def _overlaps_csv(report: OverlapReport, label: Callable[..., str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        [
            "a",
            "b",
            "kind",
            "score",
            "same_organisation",
            "themes",
            "places",
            "target_groups",
            "days",
            "reasons",
        ]
    )
    for pair in report.pairs:
        writer.writerow(
            [
                pair.a,
                pair.b,
                pair.kind,
                f"{pair.score:.3f}",
                "yes" if pair.same_organisation else "no",
                ";".join(pair.themes),
                ";".join(label(p) for p in pair.places),
                ";".join(pair.target_groups),
                pair.days,
                ";".join(pair.reasons),
            ]
        )
    return buffer.getvalue()


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(c) for c in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _overlaps_table(report: OverlapReport, label: Callable[..., str]) -> str:
    duplicates = sum(1 for p in report.pairs if p.kind == DUPLICATE)
    summary = (
        f"{len(report.pairs)} overlapping pairs ({duplicates} likely duplicates), "
        f"{len(report.clusters)} clusters"
    )
    if report.decided:
        summary += f"; {len(report.decided)} pairs already decided and left out"
    if not report.pairs and not report.clusters:
        return summary
    parts = [summary, ""]
    if report.pairs:
        parts.append(
            _table(
                ["kind", "score", "a", "b", "same org", "themes", "places", "days"],
                [
                    [
                        p.kind,
                        f"{p.score:.3f}",
                        p.a,
                        p.b,
                        "yes" if p.same_organisation else "",
                        ", ".join(p.themes),
                        ", ".join(label(x) for x in p.places),
                        p.days,
                    ]
                    for p in report.pairs
                ],
            )
        )
        parts.append("")
    if report.clusters:
        parts.append(
            _table(
                ["cluster", "size", "themes", "places", "interventions"],
                [
                    [
                        number,
                        len(c.codes),
                        ", ".join(c.themes),
                        ", ".join(label(p) for p in c.places),
                        " ".join(c.codes),
                    ]
                    for number, c in enumerate(report.clusters, start=1)
                ],
            )
        )
    return "\n".join(parts).rstrip()


@click.command("gaps")
@database_option
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@today_option
@reports_errors
def gaps_command(database: str | None, fmt: str, today: datetime | None) -> None:
    """Partnership, constituency and coverage gaps."""
    day = _today(today)
    snapshot, report = _overlap_report(database, day, full=True)
    # A pair judged "not related" is no reason to partner; every other overlap is.
    decided = [
        pair for pair, d in report.decided if d.decision != OverlapDecisionKind.NOT_RELATED.value
    ]
    partnerships = partnership_gaps(snapshot, report.pairs, decided)
    constituencies, brands = constituency_gaps(snapshot, day)
    coverage = coverage_gaps(snapshot, day)
    if fmt == "json":
        document = {
            "partnership_gaps": [g.as_dict() for g in partnerships],
            "constituency_gaps": [g.as_dict() for g in constituencies]
            + [g.as_dict() for g in brands],
            "coverage_gaps": [g.as_dict() for g in coverage],
        }
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
        return
    sections: list[tuple[str, list[str], list[list[Any]]]] = [
        (
            f"Partnership gaps ({len(partnerships)})",
            ["a", "b", "overlaps", "score"],
            [[g.a, g.b, g.overlaps, f"{g.score:.3f}"] for g in partnerships],
        ),
        (
            f"Constituency gaps ({len(constituencies)})",
            ["country", "theme", "missing"],
            [[g.country, g.theme, ", ".join(g.missing)] for g in constituencies],
        ),
        (
            f"Brands without a workers' organisation partner ({len(brands)})",
            ["brand", "country"],
            [[g.brand, g.country] for g in brands],
        ),
        (
            f"Coverage gaps ({len(coverage)})",
            ["country", "theme", "area"],
            [[g.country, g.theme, g.area or "(whole country)"] for g in coverage],
        ),
    ]
    out = []
    for title, headers, rows in sections:
        out.append(title)
        out.append(_table(headers, rows) if rows else "none")
        out.append("")
    click.echo("\n".join(out).rstrip())


@click.command("network")
@database_option
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="graphml", show_default=True)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="File to write (default: standard output).",
)
@reports_errors
def network_command(database: str | None, fmt: str, output: Path | None) -> None:
    """The stakeholder network with centralities, for Gephi, Cytoscape (graphml, gexf) or Kumu (json)."""
    engine = open_engine(database)
    state: dict[str, Any] = {}

    def load() -> None:
        with transaction(engine) as session:
            state["snapshot"] = load_snapshot(session.connection())

    def analyse() -> None:
        graph = build_network(state["snapshot"])
        state["metrics"] = network_metrics(graph)
        state["graph"] = annotate(graph, state["metrics"])

    try:
        _run_steps("Building the network", [("load", load), ("metrics", analyse)])
    finally:
        engine.dispose()
    graph, metrics = state["graph"], state["metrics"]
    data = export_network(graph, fmt)
    if output is None:
        click.echo(data, nl=False)
        return
    output.write_bytes(data)
    brokers = ", ".join(node for node, _ in metrics.brokers(5)) or "none"
    click.echo(
        f"wrote {output}: {graph.number_of_nodes()} organisations, "
        f"{graph.number_of_edges()} links, {len(metrics.communities)} communities, "
        f"{len(metrics.isolates)} isolates; top brokers: {brokers}",
        err=True,
    )


COMMANDS = [overlaps_command, gaps_command, network_command]
