"""The "Coordination" menu: overlap review, gaps, coverage matrix and stakeholder network.

Every page reads one snapshot of the database (:mod:`coordination.analysis.snapshot`,
a constant number of queries), runs the pure analyses on it and renders the result; the
two things a coordinator can change go through services: a verdict on an overlapping
pair (:func:`coordination.services.overlaps.decide_overlap`) and a new partnership
(:func:`coordination.services.stakeholders.create_partnership`). Everyone may read
these pages; only managers and admins may post (donors and partners get 403).

The date that open-ended interventions run until is ``ANALYSIS_TODAY`` in the app
config (``COORDINATION_ANALYSIS_TODAY`` in the environment, ``YYYY-MM-DD``), else today.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

import numpy as np
from flask import (
    Response,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    request,
    url_for,
)
from flask_admin import BaseView, expose
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from sqlalchemy import select
from werkzeug.wrappers import Response as WerkzeugResponse
from wtforms import HiddenField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length

from admin.auth import MANAGERS, RoleRules, current_role, is_safe_next
from admin.extensions import db
from coordination.analysis.gaps import constituency_gaps, coverage_gaps, partnership_gaps
from coordination.analysis.network import annotate, build_network, export_network
from coordination.analysis.network import network_metrics as compute_metrics
from coordination.analysis.overlaps import (
    DUPLICATE,
    SCORE_WEIGHTS,
    OverlapPair,
    OverlapReport,
    PairList,
    find_overlaps,
    shared_places,
)
from coordination.analysis.snapshot import (
    DecisionRecord,
    InterventionRecord,
    Place,
    Snapshot,
    load_snapshot,
)
from coordination.errors import ValidationError
from coordination.models import Country, TargetGroup, Theme
from coordination.services.overlaps import decide_overlap, undo_overlap_decision
from coordination.services.stakeholders import create_partnership
from coordination.vocab import (
    ActivityStatus,
    InterventionType,
    OverlapDecisionKind,
    PartnershipType,
    StakeholderType,
)

__all__ = [
    "CATEGORY",
    "CoverageView",
    "GapsView",
    "NetworkView",
    "OverlapReviewView",
    "analysis_today",
    "coordination_views",
]

CATEGORY = "Coordination"
PAIRS_PER_PAGE = 20
CLUSTERS_SHOWN = 30
PARTNERSHIP_GAPS_SHOWN = 100
_ACTIVE = (ActivityStatus.PIPELINE.value, ActivityStatus.IMPLEMENTATION.value)


def analysis_today() -> date:
    """``ANALYSIS_TODAY`` from the config (a date or ``YYYY-MM-DD``), else today."""
    value = current_app.config.get("ANALYSIS_TODAY") or current_app.config.get(
        "COORDINATION_ANALYSIS_TODAY"
    )
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value.strip():
        return date.fromisoformat(value.strip())
    return date.today()


# --- what every page reads: one snapshot, one overlap report per request -------------------


@dataclass(frozen=True)
class Labels:
    """Human names for the codes the analyses return (one query per table)."""

    themes: dict[str, str]
    countries: dict[str, str]
    target_groups: dict[str, str]

    def theme(self, code: str) -> str:
        return self.themes.get(code, code)

    def country(self, code: str) -> str:
        return self.countries.get(code, code)

    def target_group(self, code: str) -> str:
        return self.target_groups.get(code, code)

    def theme_list(self, codes: Iterable[str]) -> str:
        return ", ".join(self.theme(c) for c in codes) or "—"

    def country_list(self, codes: Iterable[str]) -> str:
        return ", ".join(self.country(c) for c in codes) or "—"

    def target_group_list(self, codes: Iterable[str]) -> str:
        return ", ".join(self.target_group(c) for c in codes) or "—"


def _snapshot() -> Snapshot:
    if "coordination_snapshot" not in g:
        g.coordination_snapshot = load_snapshot(db.session.connection())
    return g.coordination_snapshot  # type: ignore[no-any-return]


def _labels() -> Labels:
    if "coordination_labels" not in g:
        session = db.session
        g.coordination_labels = Labels(
            themes=dict(session.execute(select(Theme.code, Theme.name)).all()),
            countries=dict(session.execute(select(Country.code, Country.name)).all()),
            target_groups=dict(session.execute(select(TargetGroup.code, TargetGroup.name)).all()),
        )
    return g.coordination_labels  # type: ignore[no-any-return]


def _report(*, clusters: bool = True) -> OverlapReport:
    """Every overlapping pair, scored, with decided pairs set aside (and the clusters)."""
    cached = g.get("coordination_report")
    if cached is None or (clusters and not cached[1]):
        snapshot = _snapshot()
        report = find_overlaps(
            snapshot.interventions,
            today=analysis_today(),
            decisions=snapshot.decisions,
            clusters=clusters,
        )
        g.coordination_report = cached = (report, clusters)
    return cached[0]  # type: ignore[no-any-return]


def _may_write() -> bool:
    return current_role() in MANAGERS


def _require_writer() -> None:
    if not _may_write():
        abort(403)


def _back(default: str) -> WerkzeugResponse:
    target = request.form.get("next")
    return redirect(target if target and is_safe_next(target) else default)


def _flash_errors(error: ValidationError | dict[str, Any]) -> None:
    errors = error.errors if isinstance(error, ValidationError) else error
    for field, message in errors.items():
        if isinstance(message, list | tuple):
            message = "; ".join(str(m) for m in message)
        flash(f"{field.replace('_', ' ')}: {message}" if field else str(message), "error")


class _AnalysisView(RoleRules, BaseView):
    """Read by every role; the POST endpoints check :data:`admin.auth.MANAGERS` themselves."""

    allow_create = allow_edit = allow_delete = False

    def place_label(self, place: Place) -> str:
        label = _snapshot().place_label(place)
        if place.area is None:
            return _labels().country(place.country)
        area = _snapshot().areas.get(place.area)
        return f"{area.name} ({label})" if area is not None else label

    def render(self, template: str, **kwargs: Any) -> str:
        kwargs.setdefault("may_write", _may_write())
        kwargs.setdefault("today", analysis_today())
        kwargs.setdefault("labels", _labels())
        kwargs.setdefault("place_label", self.place_label)
        return super().render(template, **kwargs)


# --- overlap review ---------------------------------------------------------------------


class DecisionForm(FlaskForm):
    a = HiddenField(validators=[DataRequired(), Length(max=80)])
    b = HiddenField(validators=[DataRequired(), Length(max=80)])
    decision = SelectField(
        "Decision",
        choices=[(k.value, k.label) for k in OverlapDecisionKind],
        validators=[DataRequired()],
    )
    note = TextAreaField("Note", validators=[Length(max=2000)])
    next = HiddenField()


class ReopenForm(FlaskForm):
    a = HiddenField(validators=[DataRequired(), Length(max=80)])
    b = HiddenField(validators=[DataRequired(), Length(max=80)])
    next = HiddenField()


@dataclass(frozen=True)
class Row:
    """One line of the side-by-side comparison: a field, both values, whether they match."""

    label: str
    a: Any
    b: Any
    shared: bool = False


@dataclass(frozen=True)
class PairCard:
    pair: OverlapPair
    a: InterventionRecord
    b: InterventionRecord
    rows: tuple[Row, ...]
    earlier: DecisionRecord | None  # a decision that no longer applies (an edit since)


def _pair_key(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


def _type_label(value: str) -> str:
    try:
        return InterventionType(value).label
    except ValueError:
        return value


def _status_label(value: str) -> str:
    try:
        return ActivityStatus(value).label
    except ValueError:
        return value


class OverlapReviewView(_AnalysisView):
    """Clusters, then pairs best first, each compared field by field, with a verdict form."""

    @expose("/")
    def index(self) -> str:
        snapshot, report, labels = _snapshot(), _report(), _labels()
        pairs = report.pairs
        kind = request.args.get("kind", "all")
        if kind not in ("all", "duplicate", "overlap"):
            kind = "all"
        same_org = request.args.get("same_organisation") == "1"
        min_score = _score_arg(request.args.get("min_score"))
        cluster_number = _int_arg(request.args.get("cluster"), 0)
        cluster = None
        if 1 <= cluster_number <= len(report.clusters):
            cluster = report.clusters[cluster_number - 1]
        elif cluster_number:
            flash(f"There is no cluster {cluster_number}; showing all pairs.", "warning")
            cluster_number = 0

        if cluster is not None:
            # A cluster's pairs are the overlaps among its members: analyse just those.
            wanted = set(cluster.codes)
            members = [r for r in snapshot.interventions if r.code in wanted]
            pairs = find_overlaps(
                members, today=analysis_today(), decisions=snapshot.decisions, clusters=False
            ).pairs
        selected = _select(pairs, kind=kind, same_org=same_org, min_score=min_score)
        total = len(selected)
        pages = max(1, -(-total // PAIRS_PER_PAGE))
        page = min(max(1, _int_arg(request.args.get("page"), 1)), pages)
        shown = selected[(page - 1) * PAIRS_PER_PAGE : page * PAIRS_PER_PAGE]

        records = {r.code: r for r in snapshot.interventions}
        stale = {_pair_key(d.a, d.b): d for d in snapshot.decisions}
        for pair, _decision in report.decided:
            stale.pop(_pair_key(pair.a, pair.b), None)
        cards = [
            _card(pairs[int(k)], records, snapshot, labels, self.place_label, stale) for k in shown
        ]
        everything = report.pairs
        duplicates = (
            everything.duplicates
            if isinstance(everything, PairList)
            else sum(1 for p in everything if p.kind == DUPLICATE)
        )
        query = {
            "kind": kind if kind != "all" else None,
            "same_organisation": "1" if same_org else None,
            "min_score": request.args.get("min_score") if min_score is not None else None,
            "cluster": cluster_number or None,
        }
        return self.render(
            "coordination/analysis/overlaps.html",
            report=report,
            cards=cards,
            total=total,
            all_pairs=len(report.pairs),
            duplicates=duplicates,
            page=page,
            pages=pages,
            kind=kind,
            same_org=same_org,
            min_score=request.args.get("min_score", "") if min_score is not None else "",
            cluster=cluster,
            cluster_number=cluster_number,
            clusters=report.clusters[:CLUSTERS_SHOWN],
            cluster_count=len(report.clusters),
            decided=report.decided,
            organisations=snapshot.organisations,
            decision_form=DecisionForm,
            reopen_form=ReopenForm,
            decision_label=_decision_label,
            page_url=lambda n: _url_with(query, page=n if n > 1 else None),
            weights=SCORE_WEIGHTS,
        )

    @expose("/decide", methods=("POST",))
    def decide(self) -> WerkzeugResponse:
        _require_writer()
        form = DecisionForm()
        back = url_for(".index")
        if not form.validate():
            _flash_errors({name: errors for name, errors in form.errors.items()})
            return _back(back)
        try:
            decision = decide_overlap(
                db.session,
                form.a.data or "",
                form.b.data or "",
                form.decision.data or "",
                form.note.data,
                actor=_actor(),
            )
            db.session.commit()
        except ValidationError as error:
            db.session.rollback()
            _flash_errors(error)
            return _back(back)
        flash(
            f"{decision.a_code} / {decision.b_code} marked {_decision_label(decision.decision)}. "
            "It stays out of the queue until either intervention changes.",
            "success",
        )
        return _back(back)

    @expose("/reopen", methods=("POST",))
    def reopen(self) -> WerkzeugResponse:
        _require_writer()
        form = ReopenForm()
        back = url_for(".index")
        if not form.validate():
            _flash_errors({name: errors for name, errors in form.errors.items()})
            return _back(back)
        removed = undo_overlap_decision(db.session, form.a.data or "", form.b.data or "")
        db.session.commit()
        if removed:
            flash(f"{form.a.data} / {form.b.data} is back in the review queue.", "success")
        else:
            flash(f"There was no decision on {form.a.data} / {form.b.data}.", "warning")
        return _back(back)


def _actor() -> str:
    from flask_login import current_user

    return str(current_user.email)


def _decision_label(value: str) -> str:
    try:
        return OverlapDecisionKind(value).label
    except ValueError:
        return value


def _int_arg(value: str | None, default: int) -> int:
    try:
        return int(value) if value not in (None, "") else default  # type: ignore[arg-type]
    except ValueError:
        return default


def _score_arg(value: str | None) -> float | None:
    if value in (None, ""):
        return None
    try:
        score = float(value)  # type: ignore[arg-type]
    except ValueError:
        flash(f"Minimum score {value!r} is not a number between 0 and 1; ignored.", "warning")
        return None
    if not 0 <= score <= 1:
        flash(f"Minimum score {value!r} is not a number between 0 and 1; ignored.", "warning")
        return None
    return score


def _url_with(query: dict[str, Any], **changes: Any) -> str:
    values = {k: v for k, v in {**query, **changes}.items() if v not in (None, "")}
    return url_for(".index") + (f"?{urlencode(values)}" if values else "")


def _select(
    pairs: Sequence[OverlapPair], *, kind: str, same_org: bool, min_score: float | None
) -> np.ndarray:
    """Indices (best first) of the pairs that pass the filters, without building pairs."""
    if isinstance(pairs, PairList):
        keep = np.ones(len(pairs), dtype=bool)
        if kind == "duplicate":
            keep &= pairs.duplicate
        elif kind == "overlap":
            keep &= ~pairs.duplicate
        if min_score is not None:
            keep &= pairs.scores >= min_score
        if same_org and len(pairs):
            lead_a, lead_b = pairs.leads()
            keep &= lead_a == lead_b
        return np.flatnonzero(keep)
    chosen = [
        k
        for k, p in enumerate(pairs)
        if (kind == "all" or p.kind == kind)
        and (min_score is None or p.score >= min_score)
        and (not same_org or p.same_organisation)
    ]
    return np.array(chosen, dtype=np.int64)


def _card(
    pair: OverlapPair,
    records: dict[str, InterventionRecord],
    snapshot: Snapshot,
    labels: Labels,
    place_label: Any,
    stale: dict[tuple[str, str], DecisionRecord],
) -> PairCard:
    a, b = records[pair.a], records[pair.b]

    def organisation(organisation_id: int) -> str:
        record = snapshot.organisations.get(organisation_id)
        return f"{record.acronym} – {record.name}" if record else f"#{organisation_id}"

    def names(values: Iterable[str], label: Any, shared: Iterable[str]) -> Markup:
        shared_set = set(shared)
        items = [
            Markup('<mark title="shared">{}</mark>').format(label(v))
            if v in shared_set
            else escape(label(v))
            for v in sorted(values)
        ]
        return Markup(", ").join(items) if items else Markup('<span class="text-muted">—</span>')

    met = shared_places(a, b)

    def places(record: InterventionRecord) -> Markup:
        items = [
            Markup('<mark title="shared">{}</mark>').format(place_label(p))
            if p in met or any(_meets(p, q) for q in met)
            else escape(place_label(p))
            for p in sorted(record.places)
        ]
        return Markup(", ").join(items)

    def dates(record: InterventionRecord) -> str:
        end = record.end.isoformat() if record.end else "open (ongoing)"
        return f"{record.start.isoformat()} → {end}"

    rows = (
        Row("Title", a.title, b.title),
        Row(
            "Lead organisation",
            organisation(a.lead),
            organisation(b.lead),
            shared=a.lead == b.lead,
        ),
        Row(
            "Type",
            _type_label(a.intervention_type),
            _type_label(b.intervention_type),
            shared=a.intervention_type == b.intervention_type,
        ),
        Row("Status", _status_label(a.status), _status_label(b.status)),
        Row("Dates", dates(a), dates(b), shared=pair.days > 0),
        Row(
            "Themes",
            names(a.themes, labels.theme, pair.themes),
            names(b.themes, labels.theme, pair.themes),
            shared=bool(pair.themes),
        ),
        Row("Places", places(a), places(b), shared=bool(pair.places)),
        Row(
            "Target groups",
            names(a.target_groups, labels.target_group, pair.target_groups),
            names(b.target_groups, labels.target_group, pair.target_groups),
            shared=bool(pair.target_groups),
        ),
        Row("Description", a.description or "—", b.description or "—"),
    )
    return PairCard(pair, a, b, rows, stale.get(_pair_key(pair.a, pair.b)))


def _meets(p: Place, q: Place) -> bool:
    return p.country == q.country and (p.area is None or q.area is None or p.area == q.area)


# --- gaps -------------------------------------------------------------------------------


class PartnershipForm(FlaskForm):
    a = HiddenField(validators=[DataRequired(), Length(max=40)])
    b = HiddenField(validators=[DataRequired(), Length(max=40)])
    themes = HiddenField()
    countries = HiddenField()
    partnership_type = SelectField(
        "Type",
        choices=[(k.value, k.label) for k in PartnershipType],
        default=PartnershipType.INFORMAL.value,
    )
    next = HiddenField()


@dataclass(frozen=True)
class GapRow:
    a: str
    b: str
    a_name: str
    b_name: str
    overlaps: int
    score: float
    pairs: tuple[tuple[str, str], ...]
    themes: tuple[str, ...]
    countries: tuple[str, ...]


class GapsView(_AnalysisView):
    """Partnership gaps (with one-click "record a partnership"), constituency and brand gaps."""

    @expose("/")
    def index(self) -> str:
        snapshot, report, labels = _snapshot(), _report(clusters=False), _labels()
        today = analysis_today()
        # A pair judged "not related" is no reason to partner; every other overlap is.
        decided = [
            pair
            for pair, decision in report.decided
            if decision.decision != OverlapDecisionKind.NOT_RELATED.value
        ]
        gaps = partnership_gaps(snapshot, report.pairs, decided)
        records = {r.code: r for r in snapshot.interventions}
        names = {o.acronym: o.name for o in snapshot.organisations.values()}
        rows = []
        for gap in gaps[:PARTNERSHIP_GAPS_SHOWN]:
            themes: set[str] = set()
            countries: set[str] = set()
            for x, y in gap.pairs:
                if x in records and y in records:
                    themes |= records[x].themes & records[y].themes
                    countries |= {p.country for p in shared_places(records[x], records[y])}
            rows.append(
                GapRow(
                    gap.a,
                    gap.b,
                    names.get(gap.a, gap.a),
                    names.get(gap.b, gap.b),
                    gap.overlaps,
                    gap.score,
                    gap.pairs,
                    tuple(sorted(themes)),
                    tuple(sorted(countries)),
                )
            )
        constituencies, brands = constituency_gaps(snapshot, today)
        coverage = coverage_gaps(snapshot, today)
        return self.render(
            "coordination/analysis/gaps.html",
            partnership_gaps=rows,
            partnership_gap_count=len(gaps),
            constituency_gaps=constituencies,
            brand_gaps=brands,
            coverage_gap_count=len(coverage),
            partnership_form=PartnershipForm,
            labels=labels,
        )

    @expose("/partnership", methods=("POST",))
    def record_partnership(self) -> WerkzeugResponse:
        _require_writer()
        form = PartnershipForm()
        back = url_for(".index")
        if not form.validate():
            _flash_errors({name: errors for name, errors in form.errors.items()})
            return _back(back)
        a, b = form.a.data or "", form.b.data or ""
        themes = [t for t in (form.themes.data or "").split(",") if t]
        countries = [c for c in (form.countries.data or "").split(",") if c]
        db.session.info["audit_reason"] = "partnership gap"
        try:
            partnership = create_partnership(
                db.session,
                name=f"{a} – {b}",
                partnership_type=form.partnership_type.data or PartnershipType.INFORMAL,
                members=[a, b],
                themes=themes,
                countries=countries,
                description=(
                    "Recorded from the partnership-gap list: the two organisations run "
                    "overlapping interventions."
                ),
            )
            db.session.commit()
        except ValidationError as error:
            db.session.rollback()
            _flash_errors(error)
            return _back(back)
        finally:
            db.session.info.pop("audit_reason", None)
        edit = url_for("partnership.edit_view", id=partnership.id)
        flash(
            Markup('Partnership <a href="{}">{}</a> recorded.').format(edit, partnership.name),
            "success",
        )
        return _back(back)


# --- coverage matrix --------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    count: int
    in_scope: bool
    level: int  # 0..5, for the heat-map colour
    url: str | None


class CoverageView(_AnalysisView):
    """Themes x countries: active interventions per cell, gaps of the projects' scope marked."""

    @expose("/")
    def index(self) -> str:
        from coordination.analysis.gaps import active_interventions, project_scope

        snapshot, labels = _snapshot(), _labels()
        today = analysis_today()
        scope = project_scope(snapshot)
        counts: Counter[tuple[str, str]] = Counter()
        for record in active_interventions(snapshot.interventions, today):
            for country in {p.country for p in record.places}:
                for theme in record.themes:
                    counts[(theme, country)] += 1
        themes = sorted({t for t, _ in counts} | {t for _, t in scope}, key=labels.theme)
        countries = sorted({c for _, c in counts} | {c for c, _ in scope}, key=labels.country)
        highest = max(counts.values(), default=0)
        links = _intervention_filters()
        matrix = {
            (theme, country): Cell(
                count=counts[(theme, country)],
                in_scope=(country, theme) in scope,
                level=_level(counts[(theme, country)], highest),
                url=links(labels.theme(theme), labels.country(country)),
            )
            for theme in themes
            for country in countries
        }
        area_gaps = [g for g in coverage_gaps(snapshot, today) if g.area is not None]
        return self.render(
            "coordination/analysis/coverage.html",
            themes=themes,
            countries=countries,
            matrix=matrix,
            highest=highest,
            area_gaps=area_gaps,
            gaps=sum(1 for c in matrix.values() if c.in_scope and c.count == 0),
        )


def _level(count: int, highest: int) -> int:
    if count == 0 or highest == 0:
        return 0
    return min(5, 1 + (4 * (count - 1)) // max(1, highest - 1)) if highest > 1 else 5


def _intervention_filters() -> Any:
    """A function (theme name, country name) -> URL of the intervention list so filtered.

    Filter keys are looked up on the registered intervention view by label and
    operation, so they follow any change in its ``column_filters``.
    """
    admin = current_app.extensions["admin"][0]
    view = next((v for v in admin._views if getattr(v, "endpoint", "") == "intervention"), None)
    keys: dict[str, str] = {}
    for arg, (_index, flt) in (getattr(view, "_filter_args", None) or {}).items():
        name, operation = str(flt.name), str(flt.operation())
        if name.startswith("themes") and name.endswith("Name") and operation == "equals":
            keys["theme"] = arg
        elif name.startswith("places") and "Country" in name and operation == "equals":
            keys["country"] = arg
        elif name == "Status" and operation == "in list":
            keys["status"] = arg
    if not {"theme", "country"} <= set(keys):
        return lambda theme, country: None
    base = url_for("intervention.index_view")

    def link(theme: str, country: str) -> str:
        query = [(f"flt0_{keys['theme']}", theme), (f"flt1_{keys['country']}", country)]
        if "status" in keys:
            query.append((f"flt2_{keys['status']}", ",".join(_ACTIVE)))
        return f"{base}?{urlencode(query)}"

    return link


# --- network ----------------------------------------------------------------------------

STAKEHOLDER_COLOURS = {
    StakeholderType.GOVERNMENT.value: "#1f77b4",
    StakeholderType.EMPLOYERS_ORGANISATION.value: "#ff7f0e",
    StakeholderType.BUSINESS_MEMBERSHIP.value: "#ffbb78",
    StakeholderType.WORKERS_ORGANISATION.value: "#d62728",
    StakeholderType.BRAND.value: "#9467bd",
    StakeholderType.MANUFACTURER.value: "#c5b0d5",
    StakeholderType.DONOR.value: "#2ca02c",
    StakeholderType.UN_AGENCY.value: "#17becf",
    StakeholderType.IFI.value: "#98df8a",
    StakeholderType.NGO.value: "#8c564b",
    StakeholderType.RESEARCH.value: "#e377c2",
    StakeholderType.TRAINING_INSTITUTE.value: "#bcbd22",
    StakeholderType.OTHER.value: "#7f7f7f",
}
_EXPORT_TYPES = {
    "graphml": "application/graphml+xml",
    "gexf": "application/gexf+xml",
    "json": "application/json",
}


def _network(theme: str | None, country: str | None) -> Any:
    """The annotated organisation graph, restricted to a theme and/or a country.

    With a filter, the graph keeps the organisations that lead or take part in an
    intervention on that theme / in that country, or are members of a partnership
    recorded for it; the links among them are those of the whole network, and the
    metrics are computed on what is shown.
    """
    snapshot = _snapshot()
    graph = build_network(snapshot)
    if theme or country:
        keep: set[int] = set()
        for record in snapshot.interventions:
            if theme and theme not in record.themes:
                continue
            if country and country not in {p.country for p in record.places}:
                continue
            keep |= record.organisations
        for partnership in snapshot.partnerships:
            if theme and theme not in partnership.themes:
                continue
            if country and country not in partnership.countries:
                continue
            keep |= partnership.members
        acronyms = {snapshot.organisations[i].acronym for i in keep if i in snapshot.organisations}
        graph = graph.subgraph(acronyms).copy()
    metrics = compute_metrics(graph)
    return annotate(graph, metrics), metrics


class NetworkView(_AnalysisView):
    """A Cytoscape.js picture of the network, its data as JSON, and GraphML/GEXF/JSON files."""

    def _filters(self) -> tuple[str | None, str | None]:
        snapshot = _snapshot()
        theme = request.args.get("theme") or None
        country = (request.args.get("country") or "").upper() or None
        known_themes = {t for r in snapshot.interventions for t in r.themes} | set(_labels().themes)
        if theme is not None and theme not in known_themes:
            abort(400, description=f"unknown theme {theme!r}")
        if country is not None and country not in _labels().countries:
            abort(400, description=f"unknown country {country!r}")
        return theme, country

    @expose("/")
    def index(self) -> str:
        snapshot, labels = _snapshot(), _labels()
        theme, country = self._filters()
        themes = sorted({t for r in snapshot.interventions for t in r.themes}, key=labels.theme)
        countries = sorted(
            {p.country for r in snapshot.interventions for p in r.places}, key=labels.country
        )
        query = {k: v for k, v in (("theme", theme), ("country", country)) if v}
        suffix = f"?{urlencode(query)}" if query else ""
        return self.render(
            "coordination/analysis/network.html",
            themes=themes,
            countries=countries,
            theme=theme,
            country=country,
            data_url=url_for(".data") + suffix,
            downloads=[
                (
                    fmt.upper() if fmt != "json" else "JSON (Kumu)",
                    url_for(".export", fmt=fmt) + suffix,
                )
                for fmt in _EXPORT_TYPES
            ],
            colours=[
                (StakeholderType(kind).label, colour)
                for kind, colour in STAKEHOLDER_COLOURS.items()
            ],
        )

    @expose("/data.json")
    def data(self) -> Response:
        theme, country = self._filters()
        graph, metrics = _network(theme, country)
        highest = max(metrics.betweenness.values(), default=0.0) or 1.0
        nodes = [
            {
                "data": {
                    "id": node,
                    "label": node,
                    "name": attributes.get("name", ""),
                    "type": attributes.get("stakeholder_type", ""),
                    "colour": STAKEHOLDER_COLOURS.get(
                        attributes.get("stakeholder_type", ""), "#7f7f7f"
                    ),
                    "size": round(18 + 42 * (attributes["betweenness"] / highest), 1),
                    "degree": attributes["degree_centrality"],
                    "betweenness": attributes["betweenness"],
                    "constraint": attributes["constraint"],
                    "community": attributes["community"],
                    "isolate": attributes["isolate"],
                }
            }
            for node, attributes in graph.nodes(data=True)
        ]
        edges = [
            {
                "data": {
                    "id": f"{a}--{b}",
                    "source": a,
                    "target": b,
                    "weight": attributes["weight"],
                    "kinds": attributes["kinds"],
                }
            }
            for a, b, attributes in graph.edges(data=True)
        ]
        return jsonify(
            {
                "elements": {"nodes": nodes, "edges": edges},
                "summary": {
                    "organisations": graph.number_of_nodes(),
                    "links": graph.number_of_edges(),
                    "communities": len(metrics.communities),
                    "isolates": list(metrics.isolates),
                    "brokers": [node for node, _ in metrics.brokers(5)],
                },
            }
        )

    @expose("/network.<fmt>")
    def export(self, fmt: str) -> Response:
        if fmt not in _EXPORT_TYPES:
            abort(404)
        theme, country = self._filters()
        graph, _metrics = _network(theme, country)
        body = export_network(graph, fmt)
        name = "-".join(["network", *(v for v in (theme, country) if v)])
        return Response(
            body,
            mimetype=_EXPORT_TYPES[fmt],
            headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'},
        )


def coordination_views() -> list[BaseView]:
    """The "Coordination" menu, in reading order."""
    return [
        OverlapReviewView(
            name="Overlap review", category=CATEGORY, endpoint="overlaps", url="/admin/overlaps"
        ),
        GapsView(name="Gaps", category=CATEGORY, endpoint="gaps", url="/admin/gaps"),
        CoverageView(
            name="Coverage matrix", category=CATEGORY, endpoint="coverage", url="/admin/coverage"
        ),
        NetworkView(
            name="Stakeholder network", category=CATEGORY, endpoint="network", url="/admin/network"
        ),
    ]
