"""A snapshot of the database as plain, frozen data: what every analysis reads.

Loading is the only part of ``coordination.analysis`` that touches the database. It
runs a handful of plain column ``SELECT``s (no ORM object graphs, no lazy loads) and
folds the link tables into frozensets, so that the analyses themselves are pure
functions over immutable values and can be tested without a database.

Places follow the model: a place is a country (``area is None``, "country level
only") or one area of that country.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import String, func, select, type_coerce
from sqlalchemy.engine import Connection

from coordination.collector import collector_paused

__all__ = [
    "AreaRecord",
    "BodyMembershipRecord",
    "DecisionRecord",
    "InterventionRecord",
    "OrganisationRecord",
    "PartnershipRecord",
    "Place",
    "ProjectRecord",
    "Snapshot",
    "fingerprint",
    "load_areas",
    "load_decisions",
    "load_interventions",
    "load_overlap_snapshot",
    "load_snapshot",
]


@dataclass(frozen=True, slots=True)
class Place:
    """A country (``area`` is None: recorded at country level only) or one of its areas.

    >>> Place("BD") < Place("BD", 7) < Place("VN")
    True
    """

    country: str
    area: int | None = None

    def __lt__(self, other: Place) -> bool:  # None (country level) sorts first
        return (self.country, self.area is not None, self.area or 0) < (
            other.country,
            other.area is not None,
            other.area or 0,
        )


@dataclass(frozen=True, slots=True)
class InterventionRecord:
    """One intervention with its themes, places and target groups folded in (codes)."""

    id: int
    code: str
    lead: int
    intervention_type: str
    start: date
    end: date | None
    themes: frozenset[str]
    places: frozenset[Place]
    target_groups: frozenset[str] = frozenset()
    title: str = ""
    description: str = ""
    status: str = "implementation"
    version: int = 1
    project_id: int | None = None
    partners: frozenset[int] = frozenset()

    @property
    def organisations(self) -> frozenset[int]:
        """The lead and every partner organisation (any role)."""
        return self.partners | {self.lead}


@dataclass(frozen=True, slots=True)
class OrganisationRecord:
    id: int
    acronym: str
    name: str
    stakeholder_type: str
    constituency: str
    country: str | None = None


@dataclass(frozen=True, slots=True)
class PartnershipRecord:
    id: int
    members: frozenset[int]
    countries: frozenset[str] = frozenset()
    themes: frozenset[str] = frozenset()
    start: date | None = None
    end: date | None = None


@dataclass(frozen=True, slots=True)
class BodyMembershipRecord:
    body_id: int
    organisation_id: int
    since: date | None = None
    until: date | None = None


@dataclass(frozen=True, slots=True)
class ProjectRecord:
    id: int
    code: str
    status: str
    countries: frozenset[str]
    themes: frozenset[str]
    start: date | None = None
    end: date | None = None


@dataclass(frozen=True, slots=True)
class AreaRecord:
    id: int
    country: str
    code: str | None
    name: str

    @property
    def label(self) -> str:
        return self.code or f"{self.country}:{self.name}"


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    """A coordinator's verdict on a pair, with both interventions' state when it was made."""

    a: str
    b: str
    decision: str
    a_version: int
    b_version: int
    a_fingerprint: str
    b_fingerprint: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything the overlap, gap and network analyses read, as immutable values."""

    interventions: tuple[InterventionRecord, ...] = ()
    organisations: dict[int, OrganisationRecord] = field(default_factory=dict)
    partnerships: tuple[PartnershipRecord, ...] = ()
    memberships: tuple[BodyMembershipRecord, ...] = ()
    meetings: tuple[frozenset[int], ...] = ()  # organisations that took part, per meeting
    projects: tuple[ProjectRecord, ...] = ()
    areas: dict[int, AreaRecord] = field(default_factory=dict)
    decisions: tuple[DecisionRecord, ...] = ()

    def place_label(self, place: Place) -> str:
        """``BD`` for a country-level place, the area's ISO code (``BD-C``) otherwise."""
        if place.area is None:
            return place.country
        area = self.areas.get(place.area)
        return area.label if area is not None else f"{place.country}:#{place.area}"


def fingerprint(record: InterventionRecord) -> str:
    """A digest of everything the overlap analysis reads about an intervention.

    The row's ``version`` changes on column edits only; editing themes, places or target
    groups (link tables) does not touch the row, so decisions also compare this digest.

    >>> r = InterventionRecord(1, "X", 1, "training", date(2025, 1, 1), None,
    ...                        frozenset({"gender-equality"}), frozenset({Place("BD")}))
    >>> fingerprint(r) == fingerprint(r) and len(fingerprint(r))
    32
    """
    parts = [
        record.code,
        str(record.lead),
        record.intervention_type,
        record.start.isoformat(),
        record.end.isoformat() if record.end else "",
        record.status,
        record.title,
        record.description,
        ",".join(sorted(record.themes)),
        ",".join(f"{p.country}/{p.area or ''}" for p in sorted(record.places)),
        ",".join(sorted(record.target_groups)),
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def _tables() -> dict[str, Any]:
    from coordination.models import (
        Area,
        Intervention,
        InterventionOrganisation,
        InterventionPlace,
        OverlapDecision,
        TargetGroup,
        Theme,
    )
    from coordination.models.interventions import intervention_target_group, intervention_theme

    return {
        "intervention": Intervention.__table__,
        "theme": Theme.__table__,
        "target_group": TargetGroup.__table__,
        "area": Area.__table__,
        "place": InterventionPlace.__table__,
        "participation": InterventionOrganisation.__table__,
        "intervention_theme": intervention_theme,
        "intervention_target_group": intervention_target_group,
        "decision": OverlapDecision.__table__,
    }


def _text(column: Any) -> Any:
    # Vocabulary columns come back as plain strings: no enum conversion per row.
    return type_coerce(column, String)


def _grouped(rows: Iterable[Sequence[Any]]) -> dict[Any, list[Any]]:
    grouped: dict[Any, list[Any]] = defaultdict(list)
    for key, value in rows:
        grouped[key].append(value)
    return grouped


def load_interventions(
    connection: Connection, *, codes: Sequence[str] | None = None, details: bool = True
) -> tuple[InterventionRecord, ...]:
    """Interventions with their themes, places, target groups and partners: 5 queries.

    ``codes`` restricts the load to those interventions; ``details=False`` skips the
    partner organisations (the overlap analysis does not need them).
    """
    t = _tables()
    i = t["intervention"].c
    query = select(
        i.id,
        i.code,
        i.lead_organisation_id,
        _text(i.intervention_type),
        i.start_date,
        i.end_date,
        i.title,
        i.description,
        _text(i.status),
        i.version,
        i.project_id,
    )
    wanted = None
    if codes is not None:
        wanted = select(i.id).where(i.code.in_(list(codes)))
        query = query.where(i.id.in_(wanted))
    with collector_paused():
        return _load_interventions(connection, query, wanted, t, details=details)


def _load_interventions(
    connection: Connection, query: Any, wanted: Any, t: dict[str, Any], *, details: bool
) -> tuple[InterventionRecord, ...]:
    rows = _rows(connection, query.order_by(t["intervention"].c.code))

    it, th = t["intervention_theme"].c, t["theme"].c
    theme_query = select(it.intervention_id, th.code).join_from(
        t["intervention_theme"], t["theme"], it.theme_id == th.id
    )
    ig, tg = t["intervention_target_group"].c, t["target_group"].c
    group_query = select(ig.intervention_id, tg.code).join_from(
        t["intervention_target_group"], t["target_group"], ig.target_group_id == tg.id
    )
    p = t["place"].c
    place_query = select(p.intervention_id, p.country_code, p.area_id)
    o = t["participation"].c
    partner_query = select(o.intervention_id, o.organisation_id)
    if wanted is not None:
        theme_query = theme_query.where(it.intervention_id.in_(wanted))
        group_query = group_query.where(ig.intervention_id.in_(wanted))
        place_query = place_query.where(p.intervention_id.in_(wanted))
        partner_query = partner_query.where(o.intervention_id.in_(wanted))

    themes = _grouped(_rows(connection, theme_query))
    groups = _grouped(_rows(connection, group_query))
    places: dict[int, list[Place]] = defaultdict(list)
    for intervention_id, country, area in _rows(connection, place_query):
        places[intervention_id].append(Place(country, area))
    partners = _grouped(_rows(connection, partner_query)) if details else {}

    empty: frozenset[Any] = frozenset()
    return tuple(
        InterventionRecord(
            id=row[0],
            code=row[1],
            lead=row[2],
            intervention_type=row[3],
            start=_day(row[4]),  # type: ignore[arg-type]  # NOT NULL column
            end=_day(row[5]),
            themes=frozenset(themes.get(row[0], empty)),
            places=frozenset(places.get(row[0], empty)),
            target_groups=frozenset(groups.get(row[0], empty)),
            title=row[6] or "",
            description=row[7] or "",
            status=row[8],
            version=row[9],
            project_id=row[10],
            partners=frozenset(partners.get(row[0], empty)) if details else empty,
        )
        for row in rows
    )


def _rows(connection: Connection, query: Any) -> Sequence[Sequence[Any]]:
    """Plain DBAPI rows for a query of plain columns: the fast read of large tables.

    The statement still runs through SQLAlchemy (same transaction, same events); only
    the per-row result processing is skipped, which is most of the cost of reading
    100,000 rows. Callers convert what needs converting (:func:`_day`).
    """
    compiled = query.compile(
        dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
    )
    if compiled.positional:
        params: Any = tuple(compiled.params[name] for name in compiled.positiontup or ())
    else:
        params = compiled.params
    result = connection.exec_driver_sql(compiled.string, params)
    try:
        rows: Sequence[Sequence[Any]] = result.cursor.fetchall()  # type: ignore[union-attr]
        return rows
    finally:
        result.close()


def _day(value: Any) -> date | None:
    """A date from a DBAPI value (SQLite hands back ISO text, PostgreSQL a date)."""
    if value is None or type(value) is date:
        return value
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value.date() if hasattr(value, "date") else value


def load_decisions(connection: Connection) -> tuple[DecisionRecord, ...]:
    d = _tables()["decision"].c
    rows = connection.execute(
        select(
            d.a_code,
            d.b_code,
            _text(d.decision),
            d.a_version,
            d.b_version,
            d.a_fingerprint,
            d.b_fingerprint,
            d.note,
        ).order_by(d.a_code, d.b_code)
    )
    return tuple(DecisionRecord(*row) for row in rows)


def load_snapshot(connection: Connection) -> Snapshot:
    """The whole picture for overlaps, gaps and the network, in about fifteen queries."""
    from coordination.models import (
        BodyMembership,
        Meeting,
        MeetingParticipant,
        Organisation,
        Partnership,
        Person,
        Project,
    )
    from coordination.models.interventions import project_country, project_theme
    from coordination.models.organisations import (
        partnership_country,
        partnership_member,
        partnership_theme,
    )
    from coordination.models.reference import Theme
    from coordination.vocab import MeetingStatus

    interventions = load_interventions(connection)

    o = Organisation.__table__.c
    organisations = {
        row[0]: OrganisationRecord(*row)
        for row in connection.execute(
            select(
                o.id,
                o.acronym,
                o.name,
                _text(o.stakeholder_type),
                _text(o.constituency),
                o.country_code,
            )
        )
    }

    theme_code = select(Theme.__table__.c.id, Theme.__table__.c.code)
    theme_codes = dict(connection.execute(theme_code).all())

    pm, pc, pt = partnership_member.c, partnership_country.c, partnership_theme.c
    members = _grouped(connection.execute(select(pm.partnership_id, pm.organisation_id)))
    p_countries = _grouped(connection.execute(select(pc.partnership_id, pc.country_code)))
    p_themes = _grouped(connection.execute(select(pt.partnership_id, pt.theme_id)))
    pa = Partnership.__table__.c
    partnerships = tuple(
        PartnershipRecord(
            id=pid,
            members=frozenset(members.get(pid, ())),
            countries=frozenset(p_countries.get(pid, ())),
            themes=frozenset(theme_codes[x] for x in p_themes.get(pid, ())),
            start=start,
            end=end,
        )
        for pid, start, end in connection.execute(
            select(pa.id, pa.start_date, pa.end_date).order_by(pa.id)
        )
    )

    bm = BodyMembership.__table__.c
    memberships = tuple(
        BodyMembershipRecord(*row)
        for row in connection.execute(
            select(bm.body_id, bm.organisation_id, bm.since, bm.until)
            .where(bm.organisation_id.is_not(None))
            .order_by(bm.body_id, bm.organisation_id)
        )
    )

    # Who took part in each meeting: the organisation named on the invitation, else the
    # participant's own organisation. Cancelled meetings and no-shows do not count.
    mp, me, pe = MeetingParticipant.__table__.c, Meeting.__table__.c, Person.__table__.c
    attended = (
        select(mp.meeting_id, func.coalesce(mp.organisation_id, pe.organisation_id))
        .join_from(MeetingParticipant.__table__, Meeting.__table__, mp.meeting_id == me.id)
        .outerjoin(Person.__table__, mp.person_id == pe.id)
        .where(_text(me.status) != MeetingStatus.CANCELLED.value)
        .where((mp.attended.is_(None)) | (mp.attended.is_(True)))
    )
    by_meeting = _grouped(
        (meeting, organisation)
        for meeting, organisation in connection.execute(attended)
        if organisation is not None
    )
    meetings = tuple(frozenset(by_meeting[m]) for m in sorted(by_meeting))

    pr, prc, prt = Project.__table__.c, project_country.c, project_theme.c
    pr_countries = _grouped(connection.execute(select(prc.project_id, prc.country_code)))
    pr_themes = _grouped(connection.execute(select(prt.project_id, prt.theme_id)))
    projects = tuple(
        ProjectRecord(
            id=pid,
            code=code,
            status=status,
            countries=frozenset(pr_countries.get(pid, ())),
            themes=frozenset(theme_codes[x] for x in pr_themes.get(pid, ())),
            start=start,
            end=end,
        )
        for pid, code, status, start, end in connection.execute(
            select(pr.id, pr.code, _text(pr.status), pr.start_date, pr.end_date).order_by(pr.code)
        )
    )

    return Snapshot(
        interventions=interventions,
        organisations=organisations,
        partnerships=partnerships,
        memberships=memberships,
        meetings=meetings,
        projects=projects,
        areas=load_areas(connection, interventions),
        decisions=load_decisions(connection),
    )


def load_areas(
    connection: Connection, interventions: Iterable[InterventionRecord]
) -> dict[int, AreaRecord]:
    """The areas the interventions are recorded in (for labels), in one query."""
    from coordination.models import Area

    area_ids = {p.area for r in interventions for p in r.places if p.area is not None}
    if not area_ids:
        return {}
    a = Area.__table__.c
    rows = connection.execute(
        select(a.id, a.country_code, a.code, a.name).where(a.id.in_(sorted(area_ids)))
    )
    return {row[0]: AreaRecord(*row) for row in rows}


def load_overlap_snapshot(connection: Connection) -> Snapshot:
    """Only what the overlap analysis reads: interventions, their areas and decisions."""
    interventions = load_interventions(connection, details=False)
    return Snapshot(
        interventions=interventions,
        areas=load_areas(connection, interventions),
        decisions=load_decisions(connection),
    )
