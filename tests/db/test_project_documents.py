"""Project documents: validation with field errors, writes, uniqueness, audit, cascade."""

from datetime import date

import pytest
from sqlalchemy import func, select

from coordination.errors import ValidationError
from coordination.models import AuditEntry, Project, ProjectDocument
from coordination.services.interventions import (
    add_project_document,
    check_project_document,
    remove_project_document,
    update_project_document,
)
from coordination.vocab import DocumentCategory
from tests import factories

BRIEF = "https://www.ilo.org/projects/decent-work-garment/brief.pdf"


@pytest.fixture
def project(session):
    return factories.create_project(session, code="DW", title="Decent Work in Garments")


def count(session):
    return session.scalar(select(func.count()).select_from(ProjectDocument))


def test_add_normalises_and_guesses_the_format(session, project):
    document = add_project_document(
        session,
        "DW",
        title="  Project brief ",
        url=BRIEF,
        category="a02",
        language="EN",
        document_date="2023-03-01",
    )
    session.commit()
    assert document.project is project
    assert document.title == "Project brief"
    assert document.category is DocumentCategory.OBJECTIVES
    assert document.format == "application/pdf"  # from the .pdf extension
    assert document.language == "en"
    assert document.document_date == date(2023, 3, 1)
    assert [d.url for d in project.documents] == [BRIEF]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"url": "ftp://files.ilo.org/brief.pdf"}, "url", "is not a web address"),
        ({"url": "javascript:alert(1)"}, "url", "is not a web address"),
        ({"url": "https:///no-host"}, "url", "is not a web address"),
        ({"url": " "}, "url", "is required"),
        ({"title": ""}, "title", "is required"),
        ({"category": "Z99"}, "category", "unknown IATI document category 'Z99'"),
        ({"category": ""}, "category", "is required"),
        ({"format": "PDF file"}, "format", "is not a media type"),
        ({"language": "english"}, "language", "unknown ISO 639-1 language code"),
        ({"document_date": "1 March"}, "document_date", "is not a date"),
    ],
)
def test_bad_values_are_field_errors_and_write_nothing(session, project, changes, field, message):
    values = {"title": "Brief", "url": BRIEF, "category": "A02", **changes}
    with pytest.raises(ValidationError) as raised:
        add_project_document(session, project, **values)
    assert message in raised.value.errors[field]
    session.commit()  # nothing half-built is left to flush
    assert count(session) == 0
    assert project.documents == []


def test_several_errors_are_reported_together(session, project):
    with pytest.raises(ValidationError) as raised:
        add_project_document(session, project, title="", url="mailto:x@ilo.org", category="X")
    assert set(raised.value.errors) == {"title", "url", "category"}


def test_a_project_links_to_an_address_once(session, project):
    add_project_document(session, project, title="Brief", url=BRIEF, category="A02")
    with pytest.raises(ValidationError) as raised:
        add_project_document(session, project, title="Again", url=BRIEF, category="A01")
    assert "already links to" in raised.value.errors["url"]
    other = factories.create_project(session, code="OTHER", title="Another project")
    add_project_document(session, other, title="Brief", url=BRIEF, category="A02")
    session.commit()
    assert count(session) == 2


def test_update_and_remove(session, project):
    document = add_project_document(session, project, title="Brief", url=BRIEF, category="A02")
    session.commit()
    update_project_document(
        session, document, title="Project document", category="A07", description="Mid-term"
    )
    session.commit()
    assert (document.title, document.category, document.version) == (
        "Project document",
        DocumentCategory.REVIEW_AND_EVALUATION,
        2,
    )
    second = add_project_document(
        session, project, title="Page", url="https://www.ilo.org/dw", category="A12"
    )
    with pytest.raises(ValidationError) as raised:
        update_project_document(session, second, url=BRIEF)
    assert "already links to" in raised.value.errors["url"]
    session.rollback()
    remove_project_document(session, document)
    session.commit()
    assert count(session) == 0


def test_documents_are_audited(session, project):
    session.info["actor"] = "manager@example.org"
    document = add_project_document(session, project, title="Brief", url=BRIEF, category="A02")
    session.commit()
    update_project_document(session, document, category="A07")
    session.commit()
    remove_project_document(session, document)
    session.commit()
    rows = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.entity_type == "ProjectDocument")
        .order_by(AuditEntry.id)
    ).all()
    assert [(r.action, r.actor) for r in rows] == [
        ("create", "manager@example.org"),
        ("update", "manager@example.org"),
        ("delete", "manager@example.org"),
    ]
    assert rows[1].changes["category"] == ["A02", "A07"]


def test_deleting_the_project_deletes_its_documents(session, project):
    add_project_document(session, project, title="Brief", url=BRIEF, category="A02")
    session.commit()
    session.delete(session.get(Project, project.id))
    session.commit()
    assert count(session) == 0


def test_check_validates_fields_set_directly(session, project):
    document = ProjectDocument(
        project=project, title="Brief", url="file:///etc/passwd", category=None, format=""
    )
    with session.no_autoflush, pytest.raises(ValidationError) as raised:
        check_project_document(session, document)
    assert set(raised.value.errors) == {"url", "category"}
    session.rollback()
