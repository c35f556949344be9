"""The IATI admin page: downloads for every reader, upload with preview for managers."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from coordination.interop import iati as x
from coordination.models import IndicatorPeriod, Project, ProjectOrganisation
from coordination.services.results import create_indicator, create_period, create_result
from coordination.vocab import OrganisationRole, UserRole
from tests import factories
from tests.web.conftest import csrf_token

needs_schema = pytest.mark.skipif(x.schema_path() is None, reason="IATI schema not found")


@pytest.fixture
def project(data: Session) -> Project:
    ilo = factories.create_organisation(
        data,
        acronym="ILO",
        name="International Labour Organization",
        iati_identifier="XM-DAC-41302",
    )
    project = factories.create_project(data, code="P1", title="Decent work")
    project.participations = [
        ProjectOrganisation(organisation=ilo, role=OrganisationRole.ACCOUNTABLE)
    ]
    result = create_result(data, project, code="O1", title="Outcome", level="outcome")
    indicator = create_indicator(
        data, result, code="I1", title="Count", dimensions={"sex": ["female", "male"]}
    )
    create_period(
        data, indicator, start_date=date(2024, 1, 1), end_date=date(2024, 12, 31), target=5
    )
    data.commit()
    return project


def _upload(client, content: bytes, name: str = "activities.xml"):
    return client.post(
        "/admin/iati/upload",
        data={
            "csrf_token": csrf_token(client, "/admin/iati/"),
            "file": (io.BytesIO(content), name),
        },
        content_type="multipart/form-data",
    )


def _count(data: Session, model: type) -> int:
    data.expire_all()
    return data.scalar(select(func.count()).select_from(model)) or 0


@needs_schema
def test_donor_downloads_valid_iati_but_cannot_upload(client_as, project):
    donor = client_as(UserRole.DONOR)
    page = donor.get("/admin/iati/")
    assert page.status_code == 200
    assert 'id="iati-upload"' not in page.text and "P1" in page.text
    download = donor.get("/admin/iati/download?project=P1")
    assert download.status_code == 200
    assert download.headers["Content-Disposition"].startswith('attachment; filename="iati-P1-')
    assert x.validate(download.data) == []
    assert donor.get("/admin/iati/download").status_code == 200
    assert _upload(donor, download.data).status_code == 403
    token = csrf_token(donor, "/admin/iati/")
    assert (
        donor.post("/admin/iati/confirm", data={"csrf_token": token, "token": "x"}).status_code
        == 403
    )


def test_anonymous_is_sent_to_login(client):
    response = client.get("/admin/iati/download")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_unknown_project_download_is_a_message_not_a_500(client_as, project):
    response = client_as(UserRole.PARTNER).get(
        "/admin/iati/download?project=NOPE", follow_redirects=True
    )
    assert response.status_code == 200 and "no project with code NOPE" in response.text


def test_manager_previews_then_confirms(client_as, project, data):
    manager = client_as(UserRole.MANAGER)
    exported = manager.get("/admin/iati/download?project=P1").data
    changed = exported.replace(b'<target value="5"/>', b'<target value="8"/>').replace(
        b"XM-DAC-41302-P1", b"XM-DAC-41302-P9"
    )
    preview = _upload(manager, changed)
    assert preview.status_code == 200
    assert "dry run: would have" in preview.text and 'id="iati-confirm"' in preview.text
    assert _count(data, Project) == 1  # the preview wrote nothing
    token = re.search(r'name="token" value="([^"]+)"', preview.text).group(1)

    no_csrf = manager.post("/admin/iati/confirm", data={"token": token})
    assert no_csrf.status_code == 400
    assert _count(data, Project) == 1

    done = manager.post(
        "/admin/iati/confirm",
        data={"csrf_token": csrf_token(manager, "/admin/iati/"), "token": token},
        follow_redirects=True,
    )
    assert done.status_code == 200 and "Imported activities.xml: 4 created" in done.text
    assert _count(data, Project) == 2
    assert (
        data.scalars(select(IndicatorPeriod.target_value).join(IndicatorPeriod.indicator))
        .all()
        .count(8)
        == 1
    )

    again = manager.post(
        "/admin/iati/confirm",
        data={"csrf_token": csrf_token(manager, "/admin/iati/"), "token": token},
        follow_redirects=True,
    )
    assert "no longer waiting" in again.text and _count(data, Project) == 2


def test_upload_with_errors_shows_them_and_offers_no_confirm(client_as, project, data):
    manager = client_as(UserRole.MANAGER)
    exported = manager.get("/admin/iati/download?project=P1").data
    broken = exported.replace(
        b'<period-end iso-date="2024-12-31"/>', b'<period-end iso-date="2023-01-01"/>'
    )
    preview = _upload(manager, broken)
    assert preview.status_code == 200
    assert 'id="iati-errors"' in preview.text and "before it starts" in preview.text
    assert 'id="iati-confirm"' not in preview.text


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (
            b'<!DOCTYPE x [<!ENTITY a SYSTEM "file:///etc/passwd">]><iati-activities/>',
            "a.xml",
            "DTD",
        ),
        (b"<iati-activities version='2.03'/>", "a.xml", "no iati-activity"),
        (b"<xml/>", "a.csv", "not an .xml file"),
    ],
)
def test_bad_uploads_are_refused_with_a_message(client_as, project, data, content, name, message):
    manager = client_as(UserRole.ADMIN)
    response = _upload(manager, content, name)
    assert response.status_code == 302
    page = manager.get(response.headers["Location"])
    assert message in page.text
    assert _count(data, Project) == 1
