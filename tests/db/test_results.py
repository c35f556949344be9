"""Results framework services: logframe building, rules, the update workflow, the snapshot."""

from datetime import date

import pytest
from sqlalchemy import event, func, select

from coordination.analysis.progress import Actual
from coordination.errors import ValidationError
from coordination.models import AuditEntry, IndicatorUpdate, User
from coordination.services import results as svc
from coordination.vocab import UpdateStatus, UserRole
from tests import factories


def make_user(session, email, role, organisation=None):
    user = User(email=email, password_hash="x", role=role, organisation=organisation)
    session.add(user)
    session.flush()
    return user


@pytest.fixture
def world(session):
    ilo = factories.create_organisation(session, acronym="ILO", name="International Labour Org")
    other = factories.create_organisation(session, acronym="GMAC")
    project = factories.create_project(
        session, code="DW-TEST", start_date=date(2024, 1, 1), end_date=date(2026, 12, 31)
    )
    goal = svc.create_result(session, project, code="G", title="Decent work", level="goal")
    outcome = svc.create_result(
        session, project, code="O1", title="Gender equality", level="outcome", parent=goal
    )
    indicator = svc.create_indicator(
        session,
        outcome,
        code="1.1",
        title="Female leaders trained",
        unit="people",
        baseline_value=0,
        responsible_organisation=ilo,
        dimensions={"sex": ["female", "male"]},
    )
    period = svc.create_period(
        session,
        indicator,
        start_date=date(2024, 1, 1),
        end_date=date(2024, 12, 31),
        target=100,
        targets={"sex": {"female": 70, "male": 30}},
    )
    users = {
        "partner": make_user(session, "partner@ilo.org", UserRole.PARTNER, ilo),
        "stranger": make_user(session, "partner@gmac.org", UserRole.PARTNER, other),
        "manager": make_user(session, "manager@ilo.org", UserRole.MANAGER),
        "donor": make_user(session, "donor@sida.se", UserRole.DONOR),
    }
    session.commit()
    return {
        "project": project,
        "outcome": outcome,
        "indicator": indicator,
        "period": period,
        **users,
    }


def audit_rows(session, entity_type="IndicatorUpdate"):
    return list(
        session.scalars(
            select(AuditEntry).where(AuditEntry.entity_type == entity_type).order_by(AuditEntry.id)
        )
    )


# --- logframe ---------------------------------------------------------------------


def test_results_chain_at_any_depth_with_clear_errors(session, world):
    project, outcome = world["project"], world["outcome"]
    output = svc.create_result(
        session, project, code="1.1", title="Out", level="output", parent=outcome
    )
    activity = svc.create_result(
        session, project, code="1.1.1", title="Act", level="activity", parent=output
    )
    sub = svc.create_result(
        session, project, code="1.1.1.a", title="Sub", level="activity", parent=activity
    )
    assert sub.parent.parent.parent is outcome
    with pytest.raises(ValidationError) as error:
        svc.create_result(session, project, code="X", title="Up", level="outcome", parent=output)
    assert "cannot sit under" in error.value.errors["level"]
    with pytest.raises(ValidationError) as error:
        svc.create_result(session, project, code="O1", title="Again", level="outcome")
    assert "already has a result O1" in error.value.errors["code"]
    with pytest.raises(ValidationError) as error:
        svc.create_result(session, project, code="Z", title="t", level="bogus")
    assert "unknown level" in error.value.errors["level"]


def test_period_rules(session, world):
    indicator = world["indicator"]
    with pytest.raises(ValidationError) as error:
        svc.create_period(
            session, indicator, start_date=date(2023, 6, 1), end_date=date(2023, 12, 31)
        )
    assert "before the project" in error.value.errors["start_date"]
    with pytest.raises(ValidationError) as error:
        svc.create_period(
            session, indicator, start_date=date(2026, 6, 1), end_date=date(2027, 5, 31)
        )
    assert "after the project" in error.value.errors["end_date"]
    with pytest.raises(ValidationError) as error:
        svc.create_period(
            session, indicator, start_date=date(2024, 6, 1), end_date=date(2025, 5, 31)
        )
    assert "overlaps" in error.value.errors["start_date"]
    with pytest.raises(ValidationError) as error:
        svc.create_period(
            session,
            indicator,
            start_date=date(2025, 1, 1),
            end_date=date(2025, 12, 31),
            target=10,
            targets={"sex": {"female": 8, "male": 5}},
        )
    assert "more than the total target" in error.value.errors["targets.sex"]
    with pytest.raises(ValidationError) as error:
        svc.create_period(
            session,
            indicator,
            start_date=date(2025, 1, 1),
            end_date=date(2025, 12, 31),
            targets={"age": {"young": 1}},
        )
    assert "no category age/young" in str(error.value)


def test_percentage_rules(session, world):
    indicator = svc.create_indicator(
        session,
        world["outcome"],
        code="1.2",
        title="Share",
        measure="percentage",
        aggregation="latest",
        responsible_organisation=world["indicator"].responsible_organisation,
        dimensions={"sex": ["female", "male"]},
    )
    period = svc.create_period(
        session, indicator, start_date=date(2024, 1, 1), end_date=date(2024, 12, 31), target=60
    )
    with pytest.raises(ValidationError) as error:
        svc.report_update(session, period, world["partner"], numerator=12, denominator=10)
    assert "exceeds the denominator" in error.value.errors["numerator"]
    with pytest.raises(ValidationError) as error:
        svc.report_update(session, period, world["partner"], value=50)
    assert "numerator over denominator" in error.value.errors["value"]
    with pytest.raises(ValidationError) as error:
        svc.report_update(
            session,
            period,
            world["partner"],
            numerator=5,
            denominator=10,
            disaggregations={"sex": {"female": (4, 6), "male": (2, 5)}},
        )
    assert "numerators add up to 6" in error.value.errors["sex"]
    with pytest.raises(ValidationError) as error:
        svc.create_period(
            session, indicator, start_date=date(2025, 1, 1), end_date=date(2025, 12, 31), target=120
        )
    assert "between 0 and 100" in error.value.errors["target"]
    update = svc.report_update(
        session,
        period,
        world["partner"],
        numerator=5,
        denominator=10,
        disaggregations={"sex": {"female": (3, 6), "male": (2, 4)}},
    )
    assert (update.numerator, update.denominator) == (5, 10)


def test_disaggregated_actuals_may_not_exceed_the_total(session, world):
    with pytest.raises(ValidationError) as error:
        svc.report_update(
            session,
            world["period"],
            world["partner"],
            value=10,
            disaggregations={"sex": {"female": 8, "male": 5}},
        )
    assert error.value.errors["sex"] == "the sex values add up to 13, more than the total 10"
    with pytest.raises(ValidationError) as error:
        svc.report_update(session, world["period"], world["partner"], value=-3)
    assert "cannot be negative" in error.value.errors["value"]
    with pytest.raises(ValidationError) as error:
        svc.report_update(session, world["period"], world["partner"], value="lots")
    assert "not a number" in error.value.errors["value"]


# --- workflow and audit -----------------------------------------------------------


def test_each_workflow_step_writes_exactly_one_audit_row(session, world):
    period, partner, manager = world["period"], world["partner"], world["manager"]

    update = svc.report_update(
        session,
        period,
        partner,
        value=40,
        evidence_links=["https://example.org/list.pdf"],
        disaggregations={"sex": {"female": 30, "male": 10}},
    )
    session.commit()
    rows = audit_rows(session)
    assert len(rows) == 1 and rows[0].action == "create"
    assert (rows[0].actor, rows[0].reason) == ("partner@ilo.org", "actual reported (draft)")
    assert rows[0].changes["value"] == [None, "40"]
    assert sorted(rows[0].changes["values"][1]) == ["female=30", "male=10"]

    svc.edit_update(
        session, update, partner, value=42, disaggregations={"sex": {"female": 31, "male": 10}}
    )
    session.commit()
    rows = audit_rows(session)
    assert len(rows) == 2
    assert rows[1].changes["value"] == ["40", "42"]
    assert any(key.endswith(".value") and v == ["30", "31"] for key, v in rows[1].changes.items())

    svc.submit_update(session, update, partner)
    session.commit()
    svc.return_update(session, update, manager, "attach the attendance list")
    session.commit()
    rows = audit_rows(session)
    assert len(rows) == 4
    assert rows[3].reason == "returned: attach the attendance list"
    assert rows[3].changes["status"] == ["submitted", "returned"]
    assert rows[3].actor == "manager@ilo.org"

    svc.submit_update(session, update, partner)
    session.commit()
    svc.approve_update(session, update, manager)
    session.commit()
    rows = audit_rows(session)
    assert len(rows) == 6
    assert rows[5].changes["status"] == ["submitted", "approved"] and rows[5].reason == "approved"

    svc.lock_period(session, period, manager)
    session.commit()
    (lock,) = audit_rows(session, "IndicatorPeriod")[-1:]
    assert lock.changes == {"locked": [False, True]} and lock.reason == "period locked"
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == len(
        audit_rows(session)
    ) + len(audit_rows(session, "IndicatorPeriod")) + _others(session)


def _others(session):
    return session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.entity_type.not_in(["IndicatorUpdate", "IndicatorPeriod"]))
    )


def test_a_rolled_back_step_writes_no_audit_row(session, world):
    update = svc.report_update(session, world["period"], world["partner"], value=5)
    session.commit()
    before = len(audit_rows(session))
    svc.submit_update(session, update, world["partner"])
    session.rollback()
    assert len(audit_rows(session)) == before
    assert session.get(IndicatorUpdate, update.id).status == UpdateStatus.DRAFT


def test_permissions(session, world):
    period = world["period"]
    with pytest.raises(ValidationError) as error:
        svc.report_update(session, period, world["stranger"], value=5)
    assert "own organisation" in error.value.errors["actor"]
    with pytest.raises(ValidationError):
        svc.report_update(session, period, world["donor"], value=5)
    update = svc.report_update(session, period, world["manager"], value=5)  # managers may report
    svc.submit_update(session, update, world["manager"])
    with pytest.raises(ValidationError) as error:
        svc.approve_update(session, update, world["partner"])
    assert "only a manager" in error.value.errors["actor"]
    with pytest.raises(ValidationError) as error:
        svc.return_update(session, update, world["manager"], "  ")
    assert "say why" in error.value.errors["reason"]


def test_state_machine_and_locking(session, world):
    period, partner, manager = world["period"], world["partner"], world["manager"]
    update = svc.report_update(session, period, partner, value=5)
    with pytest.raises(ValidationError) as error:
        svc.approve_update(session, update, manager)
    assert "only a submitted update" in error.value.errors["status"]
    with pytest.raises(ValidationError) as error:
        svc.lock_period(session, period, manager)
    assert "approved actual" in error.value.errors["period"]
    svc.submit_update(session, update, partner)
    with pytest.raises(ValidationError) as error:
        svc.edit_update(session, update, partner, value=6)
    assert "cannot be edited" in error.value.errors["status"]
    svc.approve_update(session, update, manager)
    with pytest.raises(ValidationError):
        svc.submit_update(session, update, partner)
    svc.lock_period(session, period, manager)
    with pytest.raises(ValidationError) as error:
        svc.report_update(session, period, partner, value=7)
    assert "locked" in error.value.errors["period"]
    svc.unlock_period(session, period, manager, "late correction from the field")
    assert svc.report_update(session, period, partner, value=7).status == UpdateStatus.DRAFT


# --- snapshot -----------------------------------------------------------------------


def test_snapshot_counts_only_the_latest_approved_update(session, world):
    period, partner, manager = world["period"], world["partner"], world["manager"]
    first = svc.report_update(
        session, period, partner, value=30, disaggregations={"sex": {"female": 20}}
    )
    svc.submit_update(session, first, partner)
    svc.approve_update(session, first, manager)
    second = svc.report_update(session, period, partner, value=45)
    svc.submit_update(session, second, partner)  # waiting: must not count
    session.commit()
    (project,) = svc.load_progress_snapshot(session, ["DW-TEST"])
    (indicator,) = project.indicators
    (p,) = indicator.periods
    assert p.actual.value == 30 and p.pending == 1
    assert p.category_actuals == {("sex", "female"): Actual(20.0, None, None)}
    assert p.category_targets == {("sex", "female"): 70.0, ("sex", "male"): 30.0}
    svc.approve_update(session, second, manager)
    session.commit()
    (project,) = svc.load_progress_snapshot(session, ["DW-TEST"])
    assert project.indicators[0].periods[0].actual.value == 45
    assert project.indicators[0].periods[0].category_actuals == {}
    assert [r.code for r in project.results] == ["G", "O1"]


def _build(session, project, n):
    result = svc.create_result(session, project, code=f"R{n}", title="r", level="outcome")
    manager = session.scalars(select(User).where(User.email == "manager@ilo.org")).one()
    for i in range(n):
        indicator = svc.create_indicator(
            session, result, code=f"I{i}", title="t", dimensions={"sex": ["female", "male"]}
        )
        for year in (2024, 2025):
            period = svc.create_period(
                session,
                indicator,
                start_date=date(year, 1, 1),
                end_date=date(year, 12, 31),
                target=10,
                targets={"sex": {"female": 5, "male": 5}},
            )
            update = svc.report_update(
                session, period, manager, value=4, disaggregations={"sex": {"female": 2, "male": 2}}
            )
            svc.submit_update(session, update, manager)
            svc.approve_update(session, update, manager)
    session.commit()


def test_snapshot_uses_the_same_number_of_statements_for_5_and_50_indicators(
    session, engine, world
):
    counts = []
    for n, code in ((5, "SMALL"), (50, "LARGE")):
        project = factories.create_project(session, code=code)
        _build(session, project, n)
        statements: list[str] = []

        def listener(*args, statements=statements):
            statements.append(args[2])

        event.listen(engine, "before_cursor_execute", listener)
        try:
            (data,) = svc.load_progress_snapshot(session, [code])
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        assert len(data.indicators) == n
        counts.append(len(statements))
    assert counts[0] == counts[1] <= 10


def test_unknown_project_is_reported(session, world):
    from coordination.errors import NotFound

    with pytest.raises(NotFound, match="NOPE"):
        svc.load_progress_snapshot(session, ["NOPE"])


def test_update_period_is_one_audit_row_and_refused_when_locked(session, world):
    period, manager, partner = world["period"], world["manager"], world["partner"]
    with pytest.raises(ValidationError):
        svc.update_period(session, period, partner, target=120)
    svc.update_period(
        session,
        period,
        manager,
        target=120,
        targets={"sex": {"female": 80, "male": 40}},
        reason="revised after the inception workshop",
    )
    session.commit()
    row = audit_rows(session, "IndicatorPeriod")[-1]
    assert row.reason == "revised after the inception workshop"
    assert row.changes["target_value"] == ["100", "120"]
    assert len([r for r in audit_rows(session, "IndicatorPeriod") if r.action == "update"]) == 1
    update = svc.report_update(session, period, partner, value=50)
    svc.submit_update(session, update, partner)
    svc.approve_update(session, update, manager)
    svc.lock_period(session, period, manager)
    with pytest.raises(ValidationError) as error:
        svc.update_period(session, period, manager, target=130)
    assert "locked" in error.value.errors["period"]
