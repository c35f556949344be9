"""Logframe, indicator, IPTT and update pages: roles, workflow, errors, query counts."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import event, func, select

from admin.extensions import db
from coordination.models import AuditEntry, Indicator, IndicatorPeriod, IndicatorUpdate, User
from coordination.services import results as svc
from coordination.vocab import UpdateStatus, UserRole
from tests import factories
from tests.web.conftest import csrf_token, post

ROLES = ["admin", "manager", "partner", "donor"]
_POST_FORM = re.compile(r'<form[^>]*method="post"', re.IGNORECASE)


def user(data, role):
    return data.scalar(select(User).where(User.role == UserRole(role)))


@pytest.fixture
def logframe(data, users):
    """A goal, an outcome and an output; two indicators, one the partner reports on.

    Hand calculations (project 2024-01-01 to 2026-12-31):
    - 1.1.1 people trained, cumulative, baseline 0, targets 100 + 100 = 200, approved
      actual 60 (female 40, male 20): progress 0.30.
    - O1.1 share of factories compliant, percentage, latest value, baseline 20,
      targets 40 then 60, approved 45/100 in the first period: progress
      (45 - 20) / (40 - 20) = 1.25.
    """
    project = factories.create_project(
        data, code="DW-WEB", start_date=date(2024, 1, 1), end_date=date(2026, 12, 31)
    )
    goal = svc.create_result(data, project, code="G", title="Decent work", level="goal")
    outcome = svc.create_result(
        data, project, code="O1", title="Gender equality", level="outcome", parent=goal
    )
    output = svc.create_result(
        data, project, code="1.1", title="Leaders trained", level="output", parent=outcome
    )
    trained = svc.create_indicator(
        data,
        output,
        code="1.1.1",
        title="Female leaders trained",
        unit="people",
        baseline_value=0,
        responsible_organisation=users.partner_org,
        dimensions={"sex": ["female", "male"]},
    )
    first = svc.create_period(
        data,
        trained,
        start_date=date(2024, 1, 1),
        end_date=date(2024, 12, 31),
        target=100,
        targets={"sex": {"female": 70, "male": 30}},
    )
    second = svc.create_period(
        data, trained, start_date=date(2025, 1, 1), end_date=date(2025, 12, 31), target=100
    )
    share = svc.create_indicator(
        data,
        outcome,
        code="O1.1",
        title="Factories compliant",
        measure="percentage",
        aggregation="latest",
        baseline_value=20,
    )
    share_first = svc.create_period(
        data, share, start_date=date(2024, 1, 1), end_date=date(2024, 12, 31), target=40
    )
    svc.create_period(
        data, share, start_date=date(2025, 1, 1), end_date=date(2025, 12, 31), target=60
    )
    partner, manager = user(data, "partner"), user(data, "manager")
    update = svc.report_update(
        data, first, partner, value=60, disaggregations={"sex": {"female": 40, "male": 20}}
    )
    svc.submit_update(data, update, partner)
    svc.approve_update(data, update, manager)
    ratio = svc.report_update(data, share_first, manager, numerator=45, denominator=100)
    svc.submit_update(data, ratio, manager)
    svc.approve_update(data, ratio, manager)
    data.commit()
    return {
        "project": project,
        "trained": trained,
        "share": share,
        "first": first,
        "second": second,
        "outcome": outcome,
        "output": output,
    }


def submitted_update(data, period, value=30):
    partner = user(data, "partner")
    update = svc.report_update(data, period, partner, value=value)
    svc.submit_update(data, update, partner)
    data.commit()
    return update


def fresh(data, model, key):
    data.expire_all()
    return data.get(model, key)


# --- reading -------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_every_role_reads_logframe_indicator_and_iptt(client_as, logframe, role):
    client = client_as(role)
    project_id, indicator_id = logframe["project"].id, logframe["trained"].id
    for path in (
        "/admin/logframe/",
        f"/admin/logframe/{project_id}/",
        f"/admin/logframe/{project_id}/iptt",
        f"/admin/logframe/indicator/{indicator_id}",
    ):
        page = client.get(path)
        assert page.status_code == 200, path
        assert "DW-WEB" in page.text


def test_logframe_shows_tree_progress_status_and_sparklines(client_as, logframe):
    page = client_as("manager").get(f"/admin/logframe/{logframe['project'].id}/")
    text = page.text
    # The chain in order, each level indented one step deeper.
    assert text.index('data-result="G"') < text.index('data-result="O1"')
    assert text.index('data-result="O1"') < text.index('data-result="1.1"')
    assert re.search(r'class="depth-2">\s*<span class="level-label">output', text)
    # Progress figures by hand: 60 / 200 and (45 - 20) / (40 - 20).
    row = text[text.index('data-indicator="1.1.1"') :]
    assert 'data-progress="0.3000"' in row[: row.index("</tr>")]
    assert 'data-status="off track"' in row[:200]
    row = text[text.index('data-indicator="O1.1"') :]
    assert 'data-progress="1.2500"' in row[: row.index("</tr>")]
    assert 'data-status="on track"' in row[:200]
    assert text.count('class="sparkline"') == 2
    assert 'class="actual" points="' in text
    # Totals by status and the report download.
    assert re.search(r'data-total="on track">1<', text)
    assert re.search(r'data-total="off track">1<', text)
    assert 'data-report="xlsx"' in text and 'data-report="pdf"' in text


def test_indicator_page_has_chart_data_periods_disaggregations_history_audit(client_as, logframe):
    page = client_as("manager").get(f"/admin/logframe/indicator/{logframe['trained'].id}")
    text = page.text
    assert 'id="indicator-chart"' in text
    assert "vendor/chartjs/chart.umd.min.js" in text
    data = re.search(
        r'<script type="application/json" id="indicator-chart-data">(.*?)</script>', text, re.S
    )
    import json

    chart = json.loads(data.group(1))
    assert chart["labels"] == ["2024-12-31", "2025-12-31"]
    assert chart["target"] == [100.0, 200.0]  # cumulative to date
    assert chart["actual"] == [60.0, None]
    assert 'data-category="sex/female"' in text
    assert text.count('data-update-status="approved"') >= 1
    audit = text[text.index('id="indicator-audit"') :]
    assert "create IndicatorUpdate" in audit and "partner@example.org" in audit


def test_indicator_and_project_not_found(client_as, logframe):
    client = client_as("manager")
    assert client.get("/admin/logframe/indicator/999999").status_code == 404
    assert client.get("/admin/logframe/999999/").status_code == 404
    assert client.get("/admin/logframe/999999/iptt").status_code == 404
    assert client.get(f"/admin/logframe/{logframe['project'].id}/report.doc").status_code == 404


def test_project_list_and_details_link_to_logframe_and_iptt(client_as, logframe):
    client = client_as("donor")
    project_id = logframe["project"].id
    for path in ("/admin/project/", f"/admin/project/details/?id={project_id}"):
        text = client.get(path).text
        assert f'href="/admin/logframe/{project_id}/"' in text
        assert f'href="/admin/logframe/{project_id}/iptt"' in text


def test_results_menu_has_logframes_and_queue_for_managers_only(client_as, logframe):
    assert 'href="/admin/logframe/"' in client_as("donor").get("/admin/").text
    assert 'href="/admin/updates/"' not in client_as("donor").get("/admin/").text
    assert 'href="/admin/updates/"' in client_as("manager").get("/admin/").text


# --- donors read only ------------------------------------------------------------------


def test_donor_sees_no_form_and_no_button(client_as, logframe, data):
    submitted_update(data, logframe["second"])
    client = client_as("donor")
    for path in (
        f"/admin/logframe/{logframe['project'].id}/",
        f"/admin/logframe/indicator/{logframe['trained'].id}",
        f"/admin/logframe/{logframe['project'].id}/iptt",
    ):
        text = client.get(path).text
        # The only POST form on the page is the log-out button.
        assert len(_POST_FORM.findall(text)) == 1, path
        assert "Report a value" not in text and 'data-action="approve"' not in text
        assert "report-link" not in text


def test_donor_posts_are_refused(client_as, logframe, data):
    update = submitted_update(data, logframe["second"])
    client = client_as("donor")
    period_id = logframe["first"].id
    for path in (
        f"/admin/updates/update/{update.id}/approve",
        f"/admin/updates/update/{update.id}/return",
        f"/admin/updates/update/{update.id}/submit",
        f"/admin/updates/period/{period_id}/lock",
        f"/admin/updates/period/{period_id}/report",
    ):
        response = post(client, path, {"version": "1", "value": "5", "reason": "x"})
        assert response.status_code == 403, path
    assert client.get("/admin/updates/").status_code == 403
    assert fresh(data, IndicatorUpdate, update.id).status == UpdateStatus.SUBMITTED
    assert data.scalar(select(func.count()).select_from(IndicatorUpdate)) == 3


# --- partners report -----------------------------------------------------------------------


def test_partner_reports_a_draft_then_submits_it(client_as, logframe, data):
    client = client_as("partner")
    period = logframe["second"]
    form = client.get(f"/admin/updates/period/{period.id}/report")
    assert form.status_code == 200
    assert 'name="csrf_token"' in form.text and "sex: female" in form.text
    fields = re.findall(r'name="(c\d+_value)"', form.text)
    assert len(fields) == 2
    response = post(
        client,
        f"/admin/updates/period/{period.id}/report",
        {
            "value": "55",
            fields[0]: "30",
            fields[1]: "25",
            "comment": "From the training register",
            "evidence_links": "https://example.org/register.pdf",
            "action": "draft",
        },
    )
    assert response.status_code == 302
    update = data.scalar(select(IndicatorUpdate).where(IndicatorUpdate.period_id == period.id))
    assert update.status == UpdateStatus.DRAFT and update.value == 55
    assert sorted(v.value for v in update.values) == [25, 30]
    assert update.evidence_links == ["https://example.org/register.pdf"]
    created = data.scalars(
        select(AuditEntry).where(
            AuditEntry.entity_type == "IndicatorUpdate", AuditEntry.entity_id == str(update.id)
        )
    ).all()
    assert len(created) == 1 and created[0].actor == "partner@example.org"

    # A draft counts nowhere yet: the logframe still shows 60 of 200.
    page = client.get(f"/admin/logframe/{logframe['project'].id}/")
    assert 'data-progress="0.3000"' in page.text
    assert "1 pending" in page.text

    response = post(
        client, f"/admin/updates/update/{update.id}/submit", {"version": str(update.version)}
    )
    assert response.status_code == 302
    assert fresh(data, IndicatorUpdate, update.id).status == UpdateStatus.SUBMITTED


def test_partner_saves_and_submits_in_one_step(client_as, logframe, data):
    client = client_as("partner")
    period = logframe["second"]
    response = post(
        client, f"/admin/updates/period/{period.id}/report", {"value": "10", "action": "submit"}
    )
    assert response.status_code == 302
    update = data.scalar(select(IndicatorUpdate).where(IndicatorUpdate.period_id == period.id))
    assert update.status == UpdateStatus.SUBMITTED


def test_partner_may_not_report_on_another_organisations_indicator(client_as, logframe, data):
    client = client_as("partner")
    period = data.scalar(
        select(IndicatorPeriod).where(IndicatorPeriod.indicator_id == logframe["share"].id)
    )
    assert client.get(f"/admin/updates/period/{period.id}/report").status_code == 403
    response = post(
        client,
        f"/admin/updates/period/{period.id}/report",
        {"numerator": "1", "denominator": "2", "action": "draft"},
    )
    assert response.status_code == 403
    assert data.scalar(select(func.count()).select_from(IndicatorUpdate)) == 2
    # and the page offers the report button only on the partner's own indicator
    text = client.get(f"/admin/logframe/{logframe['project'].id}/").text
    assert text.count("report-link") == 1
    indicator_page = client.get(f"/admin/logframe/indicator/{logframe['share'].id}").text
    assert "Report a value" not in indicator_page


def test_partner_may_not_approve(client_as, logframe, data):
    update = submitted_update(data, logframe["second"])
    client = client_as("partner")
    response = post(client, f"/admin/updates/update/{update.id}/approve", {"version": "2"})
    assert response.status_code == 403
    response = post(client, f"/admin/updates/period/{logframe['first'].id}/lock", {"version": "1"})
    assert response.status_code == 403
    assert fresh(data, IndicatorUpdate, update.id).status == UpdateStatus.SUBMITTED


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"value": "abc"}, "value", "is not a number"),
        ({"value": ""}, "value", "enter the actual value"),
        ({"value": "-4"}, "value", "cannot be negative"),
        ({"value": "10", "female": "8", "male": "7"}, "sex", "more than the total 10"),
        ({"value": "10", "female": "x"}, "female", "is not a number"),
        ({"value": "10", "evidence_links": "ftp://nope"}, "evidence_links", "not a web address"),
    ],
)
def test_bad_values_are_field_errors_and_write_nothing(
    client_as, logframe, data, values, field, message
):
    client = client_as("partner")
    period = logframe["second"]
    form = client.get(f"/admin/updates/period/{period.id}/report").text
    female, male = re.findall(r'name="(c\d+_value)"', form)
    names = {"female": female, "male": male}
    payload = {names.get(k, k): v for k, v in values.items()}
    response = post(
        client, f"/admin/updates/period/{period.id}/report", {**payload, "action": "draft"}
    )
    assert response.status_code == 200
    assert message in response.text
    name = names.get(field, field)
    assert re.search(rf'data-error-for="{name}">[^<]*{re.escape(message)}', response.text)
    assert data.scalar(select(func.count()).select_from(IndicatorUpdate)) == 2


def test_percentage_numerator_above_denominator_is_a_field_error(client_as, logframe, data):
    client = client_as("manager")
    period = data.scalars(
        select(IndicatorPeriod)
        .where(IndicatorPeriod.indicator_id == logframe["share"].id)
        .order_by(IndicatorPeriod.start_date)
    ).all()[1]
    response = post(
        client,
        f"/admin/updates/period/{period.id}/report",
        {"numerator": "120", "denominator": "100", "action": "draft"},
    )
    assert response.status_code == 200
    assert re.search(r'data-error-for="numerator">[^<]*exceeds the denominator', response.text)
    assert data.scalar(select(func.count()).select_from(IndicatorUpdate)) == 2


def test_a_locked_period_refuses_a_report_with_a_message(client_as, logframe, data):
    svc.lock_period(data, fresh(data, IndicatorPeriod, logframe["first"].id), user(data, "manager"))
    data.commit()
    client = client_as("partner")
    response = post(
        client,
        f"/admin/updates/period/{logframe['first'].id}/report",
        {"value": "5", "action": "draft"},
    )
    assert response.status_code == 200
    assert "is locked; a manager must unlock it first" in response.text
    assert data.scalar(select(func.count()).select_from(IndicatorUpdate)) == 2


def test_post_without_csrf_token_is_refused(client_as, logframe, data):
    client = client_as("partner")
    response = client.post(
        f"/admin/updates/period/{logframe['second'].id}/report", data={"value": "5"}
    )
    assert response.status_code == 400
    update = submitted_update(data, logframe["second"])
    manager = client_as("manager")
    response = manager.post(f"/admin/updates/update/{update.id}/approve", data={"version": "2"})
    assert response.status_code == 400
    assert fresh(data, IndicatorUpdate, update.id).status == UpdateStatus.SUBMITTED


# --- managers review -------------------------------------------------------------------


def test_manager_queue_approve_and_return(client_as, logframe, data):
    first = submitted_update(data, logframe["second"], value=30)
    second = submitted_update(data, logframe["second"], value=35)
    client = client_as("manager")
    queue = client.get("/admin/updates/")
    assert queue.status_code == 200
    assert f'data-update="{first.id}"' in queue.text and f'data-update="{second.id}"' in queue.text

    response = post(
        client,
        f"/admin/updates/update/{first.id}/approve",
        {"version": str(fresh(data, IndicatorUpdate, first.id).version), "next": "/admin/updates/"},
    )
    assert response.status_code == 302 and response.location.endswith("/admin/updates/")
    approved = fresh(data, IndicatorUpdate, first.id)
    assert (
        approved.status == UpdateStatus.APPROVED and approved.reviewed_by == "manager@example.org"
    )

    # returning needs a reason: refused with a message, nothing changes
    version = str(fresh(data, IndicatorUpdate, second.id).version)
    response = post(
        client, f"/admin/updates/update/{second.id}/return", {"version": version, "reason": " "}
    )
    follow = client.get(response.location)
    assert "say why the update goes back" in follow.text
    assert fresh(data, IndicatorUpdate, second.id).status == UpdateStatus.SUBMITTED
    response = post(
        client,
        f"/admin/updates/update/{second.id}/return",
        {"version": version, "reason": "Attach the attendance sheets"},
    )
    returned = fresh(data, IndicatorUpdate, second.id)
    assert returned.status == UpdateStatus.RETURNED
    assert returned.return_reason == "Attach the attendance sheets"

    # the approved value now counts: (60 + 30) / 200
    page = client.get(f"/admin/logframe/{logframe['project'].id}/")
    assert 'data-progress="0.4500"' in page.text
    # the partner sees the returned update and its reason in their list
    partner_list = client_as("partner").get("/admin/updates/").text
    assert "Attach the attendance sheets" in partner_list
    assert f'data-update="{first.id}"' not in partner_list  # approved ones leave the list
    # and the queue is empty again
    assert "Nothing is waiting for approval" in client.get("/admin/updates/").text


def test_approving_twice_is_a_clear_message(client_as, logframe, data):
    update = submitted_update(data, logframe["second"])
    client = client_as("manager")
    version = str(fresh(data, IndicatorUpdate, update.id).version)
    post(client, f"/admin/updates/update/{update.id}/approve", {"version": version})
    new_version = str(fresh(data, IndicatorUpdate, update.id).version)
    response = post(client, f"/admin/updates/update/{update.id}/approve", {"version": new_version})
    assert "only a submitted update can be approved" in client.get(response.location).text


def test_stale_approval_is_refused(client_as, logframe, data):
    update = submitted_update(data, logframe["second"])
    stale = str(fresh(data, IndicatorUpdate, update.id).version)
    svc.return_update(data, update, user(data, "manager"), "wrong year")
    svc.submit_update(data, update, user(data, "partner"))
    data.commit()
    client = client_as("manager")
    response = post(client, f"/admin/updates/update/{update.id}/approve", {"version": stale})
    assert "someone changed this record" in client.get(response.location).text
    assert fresh(data, IndicatorUpdate, update.id).status == UpdateStatus.SUBMITTED


def test_stale_edit_is_refused_and_keeps_the_other_change(client_as, logframe, data):
    partner = user(data, "partner")
    update = svc.report_update(data, logframe["second"], partner, value=10)
    data.commit()
    client = client_as("partner")
    form = client.get(f"/admin/updates/update/{update.id}/edit")
    assert 'name="version" type="hidden" value="1"' in form.text
    assert 'value="10"' in form.text
    svc.edit_update(data, update, partner, value=12)  # someone else, meanwhile
    data.commit()
    response = post(
        client,
        f"/admin/updates/update/{update.id}/edit",
        {"version": "1", "value": "99", "action": "draft"},
    )
    assert response.status_code == 200
    assert "someone changed this record" in response.text
    assert fresh(data, IndicatorUpdate, update.id).value == 12
    response = post(
        client,
        f"/admin/updates/update/{update.id}/edit",
        {"version": "2", "value": "14", "action": "submit"},
    )
    assert response.status_code == 302
    edited = fresh(data, IndicatorUpdate, update.id)
    assert edited.value == 14 and edited.status == UpdateStatus.SUBMITTED


def test_manager_locks_and_unlocks_a_period(client_as, logframe, data):
    client = client_as("manager")
    period_id = logframe["first"].id
    version = str(fresh(data, IndicatorPeriod, period_id).version)
    post(client, f"/admin/updates/period/{period_id}/lock", {"version": version})
    assert fresh(data, IndicatorPeriod, period_id).locked
    page = client.get(f"/admin/logframe/indicator/{logframe['trained'].id}").text
    assert 'data-locked="1"' in page and 'data-action="unlock"' in page
    version = str(fresh(data, IndicatorPeriod, period_id).version)
    response = post(client, f"/admin/updates/period/{period_id}/unlock", {"version": version})
    assert "say why the period is unlocked" in client.get(response.location).text
    post(
        client,
        f"/admin/updates/period/{period_id}/unlock",
        {"version": version, "reason": "typo in the female figure"},
    )
    assert not fresh(data, IndicatorPeriod, period_id).locked
    reasons = data.scalars(
        select(AuditEntry.reason).where(
            AuditEntry.entity_type == "IndicatorPeriod", AuditEntry.entity_id == str(period_id)
        )
    ).all()
    assert "period locked" in reasons
    assert "period unlocked: typo in the female figure" in reasons


def test_next_parameter_cannot_leave_the_site(client_as, logframe, data):
    update = submitted_update(data, logframe["second"])
    client = client_as("manager")
    version = str(fresh(data, IndicatorUpdate, update.id).version)
    response = post(
        client,
        f"/admin/updates/update/{update.id}/approve",
        {"version": version, "next": "//evil.example/"},
    )
    assert response.location.endswith(f"/admin/logframe/indicator/{logframe['trained'].id}")


# --- IPTT ---------------------------------------------------------------------------------


def test_iptt_columns_and_filters(client_as, logframe):
    client = client_as("donor")
    base = f"/admin/logframe/{logframe['project'].id}/iptt"
    text = client.get(base).text
    assert 'data-indicator="1.1.1"' in text and 'data-indicator="O1.1"' in text
    assert "Female" in text and "Male" in text  # sex-disaggregated columns
    row = text[text.index('<tr data-indicator="1.1.1"') :]
    row = row[: row.index("</tr>")]
    assert "100 / 60" in row and "(60%)" in row  # first period: target / actual (achieved)
    assert "30%" in row  # life of project: 60 of 200
    assert "57%" in row  # female: 40 of 70
    for query, shown, hidden in (
        ("?level=output", "1.1.1", "O1.1"),
        ("?level=outcome", "O1.1", "1.1.1"),
        ("?outcome=O1&status=on+track", "O1.1", "1.1.1"),
        ("?status=off+track", "1.1.1", "O1.1"),
    ):
        page = client.get(base + query).text
        assert f'data-indicator="{shown}"' in page, query
        assert f'data-indicator="{hidden}"' not in page, query
    assert "No indicator matches" in client.get(base + "?level=activity").text


# --- report download ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "magic", "mimetype"),
    [
        ("xlsx", b"PK", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("html", b"<!DOCTYPE html>", "text/html"),
        ("pdf", b"%PDF", "application/pdf"),
    ],
)
def test_donor_downloads_the_report(client_as, logframe, fmt, magic, mimetype):
    response = client_as("donor").get(f"/admin/logframe/{logframe['project'].id}/report.{fmt}")
    assert response.status_code == 200
    assert response.mimetype == mimetype
    assert response.data.lstrip()[: len(magic)].upper() == magic.upper()
    assert "attachment;" in response.headers["Content-Disposition"]
    assert "DW-WEB-progress-" in response.headers["Content-Disposition"]


# --- query counts ---------------------------------------------------------------------------


def _statements(app, client, path):
    statements = []
    with app.app_context():
        engine = db.engine
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        page = client.get(path)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert page.status_code == 200, path
    return len(statements), page.text


def _add_indicators(data, logframe, n, start):
    output = logframe["output"]
    partner = user(data, "partner")
    manager = user(data, "manager")
    for i in range(start, start + n):
        indicator = svc.create_indicator(
            data,
            output,
            code=f"X{i}",
            title=f"Extra {i}",
            baseline_value=0,
            responsible_organisation=partner.organisation,
            dimensions={"sex": ["female", "male"]},
        )
        for year in (2024, 2025):
            period = svc.create_period(
                data,
                indicator,
                start_date=date(year, 1, 1),
                end_date=date(year, 12, 31),
                target=10,
                targets={"sex": {"female": 5, "male": 5}},
            )
            update = svc.report_update(
                data, period, partner, value=4, disaggregations={"sex": {"female": 2}}
            )
            svc.submit_update(data, update, partner)
            if year == 2024:
                svc.approve_update(data, update, manager)
    data.commit()


@pytest.mark.parametrize("role", ["manager", "partner"])
@pytest.mark.parametrize("page", ["logframe", "iptt", "queue"])
def test_query_count_does_not_grow_with_indicators(app, client_as, data, logframe, role, page):
    client = client_as(role)
    project_id = logframe["project"].id
    path = {
        "logframe": f"/admin/logframe/{project_id}/",
        "iptt": f"/admin/logframe/{project_id}/iptt",
        "queue": "/admin/updates/",
    }[page]
    _add_indicators(data, logframe, 2, 0)
    few, text = _statements(app, client, path)
    _add_indicators(data, logframe, 12, 2)
    many, text = _statements(app, client, path)
    assert text.count('data-indicator="X') >= (14 if page != "queue" else 12)
    assert many == few, (few, many)


def test_indicator_page_query_count_does_not_grow_with_periods_or_updates(
    app, client_as, data, logframe
):
    client = client_as("manager")
    indicator = fresh(data, Indicator, logframe["trained"].id)
    path = f"/admin/logframe/indicator/{indicator.id}"
    few, _ = _statements(app, client, path)
    partner = user(data, "partner")
    second = fresh(data, IndicatorPeriod, logframe["second"].id)
    for value in (1, 2, 3):
        svc.report_update(data, second, partner, value=value)
    svc.create_period(
        data, indicator, start_date=date(2026, 1, 1), end_date=date(2026, 6, 30), target=5
    )
    data.commit()
    many, text = _statements(app, client, path)
    assert text.count('<tr data-update="') == 4  # three drafts and the approved one
    assert many == few, (few, many)


def test_csrf_token_helper_is_on_forms(client_as, logframe):
    # every POST form of the indicator page carries the token
    client = client_as("manager")
    text = client.get(f"/admin/logframe/indicator/{logframe['trained'].id}").text
    forms = re.findall(r"<form[^>]*method=\"post\".*?</form>", text, re.S)
    assert len(forms) >= 2
    assert all('name="csrf_token"' in f for f in forms)
    assert csrf_token(client, f"/admin/logframe/indicator/{logframe['trained'].id}")
