"""The 3W page: downloads, upload with preview then confirm, roles, CSRF, errors shown."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from coordination.interop.hxl3w import TEMPLATE_ROWS, read_3w, write_csv
from coordination.models import AuditEntry, Intervention, Organisation
from tests import factories
from tests.web.conftest import csrf_token

TAGS = "#activity+code,#activity+name,#activity+type,#org+impl,#sector,#date+start,#country+code\n"


def upload(client, data: bytes, name: str = "3w.csv", token: str | None = None):
    token = token if token is not None else csrf_token(client, "/admin/3w/")
    return client.post(
        "/admin/3w/upload",
        data={"csrf_token": token, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def confirm(client, page_text: str):
    token = re.search(r'id="token" name="token" type="hidden" value="([^"]+)"', page_text)
    assert token, "no confirm form"
    return client.post(
        "/admin/3w/confirm",
        data={"csrf_token": csrf_token(client, "/admin/3w/"), "token": token.group(1)},
    )


def count(data, model) -> int:
    data.expire_all()
    return data.scalar(select(func.count()).select_from(model)) or 0


def test_everyone_downloads_the_template_and_the_export(client_as, data, users):
    factories.create_intervention(data, code="D-1", lead_organisation=users.partner_org)
    data.commit()
    client = client_as("donor")
    page = client.get("/admin/3w/")
    assert page.status_code == 200
    assert "Upload a 3W" in page.text and 'action="/admin/3w/upload"' not in page.text
    template = client.get("/admin/3w/template.csv")
    assert template.data == write_csv(TEMPLATE_ROWS)
    assert "attachment" in template.headers["Content-Disposition"]
    xlsx = client.get("/admin/3w/template.xlsx")
    assert len(read_3w(xlsx.data, "t.xlsx").records) == len(TEMPLATE_ROWS)
    export = client.get("/admin/3w/export.csv")
    assert [r.values["code"] for r in read_3w(export.data, "e.csv").records] == ["D-1"]
    assert client.get("/admin/3w/export.pdf").status_code == 404


def test_donor_cannot_upload(client_as, users):
    client = client_as("donor")
    assert upload(client, TAGS.encode()).status_code == 403


def test_upload_previews_then_confirm_imports(client_as, data, users):
    client = client_as("manager")
    file = (
        TAGS + "W-1,Training,training,OWN,gender-equality,2025-01-01,BD\n"
        "W-2,Research,research,Brand New NGO,productivity,2025-01-01,KH\n"
    ).encode()
    preview = upload(client, file)
    assert preview.status_code == 200
    assert "2 would be created, 0 would be updated, 0 skipped (unchanged)" in preview.text
    assert "Brand New NGO" in preview.text
    assert count(data, Intervention) == 0 and count(data, Organisation) == 1
    done = confirm(client, preview.text)
    assert done.status_code == 200
    assert "2 created, 0 updated, 0 skipped (unchanged)" in done.text
    assert count(data, Intervention) == 2 and count(data, Organisation) == 2
    actors = set(
        data.scalars(select(AuditEntry.actor).where(AuditEntry.entity_type == "Intervention"))
    )
    assert actors == {"manager@example.org"}
    # the upload is used once: a second confirmation is refused
    again = confirm(client, preview.text)
    assert again.status_code == 302
    assert count(data, Intervention) == 2


def test_row_errors_are_shown_and_nothing_is_offered_or_written(client_as, data, users):
    client = client_as("manager")
    response = upload(client, (TAGS + "W-1,Training,juggling,OWN,Gendr,2025-01-01,BD\n").encode())
    assert response.status_code == 422
    assert 'id="row-errors"' in response.text
    assert "unknown theme &#39;Gendr&#39;" in response.text
    assert "E #sector" in response.text and "C #activity+type" in response.text
    assert 'id="confirm"' not in response.text
    assert count(data, Intervention) == 0


@pytest.mark.parametrize(
    ("payload", "name", "message"),
    [
        (b"%PDF-1.4 hello", "report.pdf", ".pdf file"),
        (b"#org+impl,#sector\nOWN,x\n", "3w.csv", "required column"),
        (b"PK\x03\x04broken", "3w.xlsx", "damaged"),
    ],
)
def test_bad_files_get_a_clear_message(client_as, data, users, payload, name, message):
    response = upload(client_as("manager"), payload, name)
    assert response.status_code == 400
    assert message in response.text and 'id="file-error"' in response.text
    assert count(data, Intervention) == 0


def test_upload_without_csrf_token_is_refused(client_as, data, users):
    client = client_as("manager")
    response = client.post(
        "/admin/3w/upload",
        data={"file": (io.BytesIO(TAGS.encode()), "3w.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert count(data, Intervention) == 0


def test_confirm_needs_the_token_of_this_session(client_as, data, users):
    manager = client_as("manager")
    preview = upload(
        manager, (TAGS + "W-1,Training,training,OWN,gender-equality,2025-01-01,BD\n").encode()
    )
    other = client_as("admin")
    stolen = confirm(other, preview.text)
    assert stolen.status_code == 302
    assert count(data, Intervention) == 0


def test_partner_imports_only_their_own_rows(client_as, data, users):
    factories.create_organisation(data, acronym="OTHER")
    data.commit()
    client = client_as("partner")
    page = client.get("/admin/3w/")
    assert "is <strong>OWN</strong>" in page.text
    refused = upload(
        client, (TAGS + "W-1,Training,training,OTHER,gender-equality,2025-01-01,BD\n").encode()
    )
    assert refused.status_code == 422
    assert "partners import only their own organisation" in refused.text
    ok = upload(
        client, (TAGS + "W-1,Training,training,own,gender-equality,2025-01-01,BD\n").encode()
    )
    assert ok.status_code == 200
    confirm(client, ok.text)
    assert count(data, Intervention) == 1


def test_page_is_in_the_menu_and_needs_login(client, client_as, users):
    assert client.get("/admin/3w/").status_code == 302
    home = client_as("manager").get("/admin/")
    assert 'href="/admin/3w/"' in home.text
