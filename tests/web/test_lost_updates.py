"""No lost updates: the second of two edits of the same version is refused, with who,
when and what, and the first edit survives (edit form, inline list edit, racing threads).
Every write path leaves exactly one audit row per changed record; a refused or
rolled-back change leaves none."""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from coordination.models import AuditEntry, IndicatorPeriod, Intervention, Meeting, Organisation
from tests import factories
from tests.web.trust import build_scenario, form_values, token_of

# record kind -> (model, scenario row, field to change, first value, second value)
RECORDS = {
    "indicator period": (IndicatorPeriod, "period_a", "comment", "First comment", "Second one"),
    "intervention": (Intervention, "work_a", "title", "Title by the first", "Title by second"),
    "meeting": (Meeting, "meeting", "venue", "Room 1", "Room 2"),
}


def _endpoint(model: type) -> str:
    return model.__name__.lower()


def _audit_count(data: Session, model: type, row_id: int) -> int:
    data.rollback()
    return data.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.entity_type == model.__name__, AuditEntry.entity_id == str(row_id))
    )


def _edit(client: Any, url: str, values: list[tuple[str, str]], field: str, value: str) -> Any:
    changed = [(k, v) for k, v in values if k not in (field, "csrf_token")]
    return client.post(
        url, data=MultiDict([("csrf_token", token_of(client)), *changed, (field, value)])
    )


@pytest.mark.parametrize("kind", list(RECORDS))
def test_second_save_of_the_same_version_is_refused(app: Flask, data: Session, kind: str):
    model, row_name, field, first_value, second_value = RECORDS[kind]
    scenario = build_scenario(data)
    row_id = scenario.rows[row_name].id
    url = f"/admin/{_endpoint(model)}/edit/?id={row_id}"
    first, second = scenario.client(app, "manager"), scenario.client(app, "admin")
    # Both open the record.
    first_form = form_values(first.get(url).get_data(as_text=True))
    second_form = form_values(second.get(url).get_data(as_text=True))
    audits = _audit_count(data, model, row_id)

    saved = _edit(first, url, first_form, field, first_value)
    assert saved.status_code == 302, saved.get_data(as_text=True)[-2000:]
    refused = _edit(second, url, second_form, field, second_value)
    assert refused.status_code == 200
    text = refused.get_data(as_text=True)
    assert "Not saved: this record was changed by someone else" in text
    assert "Changed by manager@example.org at 20" in text
    assert f"{field}: " in text and first_value in text  # what changed, and to what

    data.rollback()
    assert getattr(data.get(model, row_id), field) == first_value
    assert _audit_count(data, model, row_id) == audits + 1  # the first save only

    # After reloading, the second person can save on top of the first edit.
    fresh = form_values(second.get(url).get_data(as_text=True))
    assert _edit(second, url, fresh, field, second_value).status_code == 302
    data.rollback()
    assert getattr(data.get(model, row_id), field) == second_value


def test_a_tampered_version_is_refused(app: Flask, data: Session):
    scenario = build_scenario(data)
    work = scenario.rows["work_a"]
    url = f"/admin/intervention/edit/?id={work.id}"
    client = scenario.client(app, "manager")
    values = [
        (k, "not-a-number" if k == "row_version" else v)
        for k, v in form_values(client.get(url).get_data(as_text=True))
    ]
    response = _edit(client, url, values, "title", "Tampered")
    assert response.status_code == 200
    assert "changed by someone else" in response.get_data(as_text=True)
    data.rollback()
    assert data.get(Intervention, work.id).title == "Work of A"


_KEY = re.compile(r'data-pk="(\d+~\d+)"')


def _inline_key(client: Any, row_id: int) -> str:
    page = client.get("/admin/intervention/").get_data(as_text=True)
    keys = [k for k in _KEY.findall(page) if k.startswith(f"{row_id}~")]
    assert keys, "the list's inline editor carries no version"
    return keys[0]


def test_inline_edit_carries_the_version(app: Flask, data: Session):
    scenario = build_scenario(data)
    work = scenario.rows["work_a"]
    inline, form = scenario.client(app, "manager"), scenario.client(app, "admin")
    key = _inline_key(inline, work.id)
    assert key == f"{work.id}~{work.version}"

    # Someone else saves the record through the form meanwhile.
    url = f"/admin/intervention/edit/?id={work.id}"
    values = form_values(form.get(url).get_data(as_text=True))
    assert _edit(form, url, values, "title", "Renamed meanwhile").status_code == 302
    audits = _audit_count(data, Intervention, work.id)

    stale = inline.post(
        "/admin/intervention/ajax/update/",
        data={"list_form_pk": key, "status": "closed", "csrf_token": token_of(inline)},
    )
    assert stale.status_code == 409
    text = stale.get_data(as_text=True)
    assert "changed by someone else" in text and "admin@example.org" in text
    assert "Renamed meanwhile" in text
    data.rollback()
    kept = data.get(Intervention, work.id)
    assert kept.title == "Renamed meanwhile" and kept.status.value == "implementation"
    assert _audit_count(data, Intervention, work.id) == audits

    # With the current key it saves, and the answer names the next key.
    key = _inline_key(inline, work.id)
    saved = inline.post(
        "/admin/intervention/ajax/update/",
        data={"list_form_pk": key, "status": "closed", "csrf_token": token_of(inline)},
    )
    assert saved.status_code == 200, saved.get_data(as_text=True)
    data.rollback()
    current = data.get(Intervention, work.id)
    assert current.status.value == "closed"
    assert saved.headers["X-Row-Key"] == f"{work.id}~{current.version}"
    assert _audit_count(data, Intervention, work.id) == audits + 1
    again = inline.post(
        "/admin/intervention/ajax/update/",
        data={
            "list_form_pk": saved.headers["X-Row-Key"],
            "status": "finalisation",
            "csrf_token": token_of(inline),
        },
    )
    assert again.status_code == 200, again.get_data(as_text=True)


def test_list_page_loads_the_key_updater(app: Flask, data: Session):
    scenario = build_scenario(data)
    page = scenario.client(app, "manager").get("/admin/intervention/").get_data(as_text=True)
    assert "/static/js/row-version.js" in page
    script = scenario.client(app, "manager").get("/static/js/row-version.js")
    assert "X-Row-Key" in script.get_data(as_text=True)
    script.close()


@pytest.mark.parametrize("kind", list(RECORDS))
def test_two_threads_saving_at_once_lose_nothing(app: Flask, data: Session, kind: str):
    """Both read version n, both save at the same moment: exactly one wins."""
    model, row_name, field, first_value, second_value = RECORDS[kind]
    scenario = build_scenario(data)
    row_id = scenario.rows[row_name].id
    url = f"/admin/{_endpoint(model)}/edit/?id={row_id}"
    clients = [scenario.client(app, "manager"), scenario.client(app, "admin")]
    forms = [form_values(c.get(url).get_data(as_text=True)) for c in clients]
    tokens = [token_of(c) for c in clients]
    audits = _audit_count(data, model, row_id)
    data.rollback()
    barrier = threading.Barrier(2)
    results: dict[int, Any] = {}

    def save(index: int, value: str) -> None:
        values = [(k, v) for k, v in forms[index] if k not in (field, "csrf_token")]
        payload = MultiDict([("csrf_token", tokens[index]), *values, (field, value)])
        barrier.wait(timeout=10)
        results[index] = clients[index].post(url, data=payload)

    threads = [
        threading.Thread(target=save, args=(0, first_value)),
        threading.Thread(target=save, args=(1, second_value)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    statuses = sorted(r.status_code for r in results.values())
    assert statuses == [200, 302], statuses
    winner = next(i for i, r in results.items() if r.status_code == 302)
    loser = results[1 - winner].get_data(as_text=True)
    assert "changed by someone else" in loser
    data.rollback()
    assert getattr(data.get(model, row_id), field) == (first_value, second_value)[winner]
    assert _audit_count(data, model, row_id) == audits + 1


# -- exactly one audit row per changed record, per write path -----------------------------


def _new_audits(data: Session, since: int) -> list[AuditEntry]:
    data.rollback()
    return list(data.scalars(select(AuditEntry).where(AuditEntry.id > since)))


def _last_audit_id(data: Session) -> int:
    data.rollback()
    return data.scalar(select(func.coalesce(func.max(AuditEntry.id), 0)))


def test_one_audit_row_per_record_for_each_web_write_path(app: Flask, data: Session):
    scenario = build_scenario(data)
    manager = scenario.client(app, "manager")
    extra = [factories.create_organisation(data).id for _ in range(2)]
    data.commit()
    token = token_of(manager)

    # edit form
    work = scenario.rows["work_a"]
    url = f"/admin/intervention/edit/?id={work.id}"
    values = form_values(manager.get(url).get_data(as_text=True))
    since = _last_audit_id(data)
    assert _edit(manager, url, values, "title", "Edited through the form").status_code == 302
    entries = _new_audits(data, since)
    assert [(e.entity_type, e.entity_id, e.action) for e in entries] == [
        ("Intervention", str(work.id), "update")
    ]
    assert entries[0].actor == "manager@example.org"

    # inline edit
    since = _last_audit_id(data)
    key = _inline_key(manager, work.id)
    response = manager.post(
        "/admin/intervention/ajax/update/",
        data={"list_form_pk": key, "status": "closed", "csrf_token": token},
    )
    assert response.status_code == 200
    entries = _new_audits(data, since)
    assert [(e.entity_type, e.action, e.changes) for e in entries] == [
        ("Intervention", "update", {"status": ["implementation", "closed"]})
    ]

    # bulk action: two records, two rows
    since = _last_audit_id(data)
    response = manager.post(
        "/admin/organisation/action/",
        data=MultiDict(
            [("csrf_token", token), ("action", "delete")] + [("rowid", str(i)) for i in extra]
        ),
    )
    assert response.status_code == 302
    entries = _new_audits(data, since)
    assert sorted((e.entity_type, e.entity_id, e.action) for e in entries) == sorted(
        ("Organisation", str(i), "delete") for i in extra
    )

    # a refused save (validation error) and a conflict leave nothing
    since = _last_audit_id(data)
    values = form_values(manager.get(url).get_data(as_text=True))
    bad = _edit(manager, url, values, "end_date", "2000-01-01")
    assert bad.status_code == 200
    stale = [(k, "1" if k == "row_version" else v) for k, v in values]
    assert _edit(manager, url, stale, "title", "Stale").status_code == 200
    assert _new_audits(data, since) == []


def test_one_audit_row_for_an_approval_and_none_after_a_rollback(data: Session):
    from coordination.models import User
    from coordination.services.results import approve_update, submit_update

    scenario = build_scenario(data)
    draft = scenario.rows["draft_a"]
    partner = data.scalars(select(User).where(User.email == scenario.emails["partner_a"])).one()
    manager = data.scalars(select(User).where(User.email == scenario.emails["manager"])).one()
    since = _last_audit_id(data)
    submit_update(data, data.merge(draft), partner)
    data.commit()
    approve_update(data, data.merge(draft), manager)
    data.commit()
    entries = _new_audits(data, since)
    assert [(e.entity_type, e.actor, e.reason) for e in entries] == [
        ("IndicatorUpdate", "partner-a@example.org", "submitted for approval"),
        ("IndicatorUpdate", "manager@example.org", entries[1].reason),
    ]
    # A change rolled back writes no audit row.
    since = _last_audit_id(data)
    organisation = data.get(Organisation, scenario.org_a.id)
    organisation.name = "Never saved"
    data.flush()
    data.rollback()
    assert _new_audits(data, since) == []


def test_one_audit_row_for_a_cli_write(db_url: str, data: Session):
    from admin.cli import build_cli

    since = _last_audit_id(data)
    result = CliRunner().invoke(
        build_cli(),
        ["--database", db_url, "users", "create", "cli@example.org", "--role", "donor"],
        input="a long enough password\na long enough password\n",
    )
    if result.exit_code != 0 and "--database" in result.output:
        result = CliRunner().invoke(
            build_cli(),
            ["users", "create", "cli@example.org", "--role", "donor", "--database", db_url],
            input="a long enough password\na long enough password\n",
        )
    assert result.exit_code == 0, result.output
    entries = _new_audits(data, since)
    assert [(e.entity_type, e.action) for e in entries] == [("User", "create")]
