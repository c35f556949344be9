"""Projects -> Project documents: create through the form, field errors, never a 500."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import func, select

from coordination.models import AuditEntry, ProjectDocument
from coordination.services.interventions import add_project_document
from coordination.vocab import DocumentCategory
from tests import factories
from tests.web.conftest import post

BRIEF = "https://www.ilo.org/dw/brief.pdf"


@pytest.fixture
def project(data):
    project = factories.create_project(data, code="DW", title="Decent work")
    data.commit()
    return project


def documents(data):
    data.expire_all()
    return data.scalars(select(ProjectDocument)).all()


def form(project, **changes):
    return {
        "project": str(project.id),
        "title": "Project brief",
        "url": BRIEF,
        "category": "A02",
        "format": "",
        "language": "en",
        "document_date": "2023-06-15",
        "description": "Objectives and outcomes",
        **changes,
    }


def test_manager_adds_a_document_and_the_format_is_guessed(client_as, data, project):
    client = client_as("manager")
    assert client.get("/admin/projectdocument/new/").status_code == 200
    response = post(client, "/admin/projectdocument/new/", form(project))
    assert response.status_code == 302, response.text[-3000:]
    [document] = documents(data)
    assert (document.project_id, document.category, document.format) == (
        project.id,
        DocumentCategory.OBJECTIVES,
        "application/pdf",
    )
    listing = client.get("/admin/projectdocument/")
    assert listing.status_code == 200
    assert f'href="{BRIEF}"' in listing.text and "A02 Objectives" in listing.text
    audit = data.scalars(
        select(AuditEntry).where(AuditEntry.entity_type == "ProjectDocument")
    ).one()
    assert audit.actor == "manager@example.org"  # the person logged in


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"url": "javascript:alert(1)"}, "is not a web address"),
        ({"url": "ftp://files.ilo.org/brief.pdf"}, "is not a web address"),
        ({"title": ""}, "This field is required"),
        ({"category": "Z99"}, "Invalid Choice"),
        ({"format": "PDF file"}, "is not a media type"),
        ({"language": "xx"}, "unknown ISO 639-1 language code"),
        ({"language": "english"}, "longer than 2 characters"),
        ({"document_date": "15 June"}, "Not a valid date value"),
    ],
)
def test_bad_values_are_field_errors(client_as, data, project, changes, message):
    client = client_as("manager")
    response = post(client, "/admin/projectdocument/new/", form(project, **changes))
    assert response.status_code == 200
    assert message in response.text
    assert documents(data) == []


def test_a_second_link_to_the_same_address_is_a_field_error(client_as, data, project):
    add_project_document(data, project, title="Brief", url=BRIEF, category="A02")
    data.commit()
    client = client_as("manager")
    response = post(client, "/admin/projectdocument/new/", form(project, title="Again"))
    assert response.status_code == 200
    assert "already links to" in response.text
    assert len(documents(data)) == 1


def test_edit_changes_the_category(client_as, data, project):
    document = add_project_document(data, project, title="Brief", url=BRIEF, category="A02")
    data.commit()
    client = client_as("manager")
    page = client.get(f"/admin/projectdocument/edit/?id={document.id}")
    assert page.status_code == 200
    response = post(
        client,
        f"/admin/projectdocument/edit/?id={document.id}",
        form(project, category="A07", format="application/pdf", row_version="1"),
    )
    assert response.status_code == 302, response.text[-3000:]
    [stored] = documents(data)
    assert stored.category is DocumentCategory.REVIEW_AND_EVALUATION


def test_donors_read_but_do_not_write(client_as, data, project):
    add_project_document(data, project, title="Brief", url=BRIEF, category="A02")
    data.commit()
    client = client_as("donor")
    assert client.get("/admin/projectdocument/").status_code == 200
    assert client.get("/admin/projectdocument/new/").status_code == 403
    response = post(client, "/admin/projectdocument/new/", form(project, url=BRIEF + "?2"))
    assert response.status_code == 403
    assert data.scalar(select(func.count()).select_from(ProjectDocument)) == 1


def test_a_project_links_to_its_own_documents(client_as, data, project):
    other = factories.create_project(data, code="OTHER", title="Another project")
    add_project_document(data, project, title="Our brief", url=BRIEF, category="A02")
    add_project_document(
        data, other, title="Their brief", url="https://example.org/theirs.pdf", category="A02"
    )
    data.commit()
    client = client_as("donor")
    listing = client.get("/admin/project/")
    links = re.findall(r'href="([^"]*/admin/projectdocument/\?[^"]*)"', listing.text)
    assert len(links) == 2, links  # one per project (the menu's link has no filter)
    page = client.get(html.unescape(next(link for link in links if "DW" in link)))
    assert page.status_code == 200
    assert "Our brief" in page.text and "Their brief" not in page.text
