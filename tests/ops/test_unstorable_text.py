"""Text no database can store (NUL, unpaired surrogates) is a field error, never a 500.

Found by the fuzz tests: SQLite took a NUL in an organisation's name and PostgreSQL
failed the commit with a DataError.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from coordination.errors import ValidationError
from coordination.models import Organisation
from coordination.services.stakeholders import create_organisation
from coordination.vocab import StakeholderType
from tests.web.conftest import app, client_as, data, post, users  # noqa: F401

BAD = ["a\x00b", "\x00", "half \ud83d of an emoji"]


@pytest.mark.parametrize("text", BAD)
def test_service_refuses_unstorable_text_as_a_field_error(session, text):
    with pytest.raises(ValidationError) as refused:
        create_organisation(session, name=text, acronym="X", stakeholder_type="ngo")
    assert set(refused.value.errors) == {"name"}


@pytest.mark.parametrize("text", BAD)
def test_every_write_path_is_guarded_at_flush(session, text):
    session.add(
        Organisation(
            name="Fine", acronym="FINE", stakeholder_type=StakeholderType.NGO, description=text
        )
    )
    with pytest.raises(ValidationError) as refused:
        session.flush()
    assert set(refused.value.errors) == {"description"}
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Organisation)) == 0


def test_web_form_with_a_nul_is_a_field_error(client_as, data):  # noqa: F811
    client = client_as("manager")
    response = post(
        client,
        "/admin/organisation/new/",
        {"name": "Nul", "acronym": "NUL", "stakeholder_type": "ngo", "constituency": "none",
         "iati_type": "21", "description": "before\x00after"},
    )  # fmt: skip
    assert response.status_code == 200
    assert "cannot be stored" in response.text
    assert data.scalar(select(func.count()).select_from(Organisation)) == 1  # users' own org
