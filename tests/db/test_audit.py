"""The audit trail: one row per changed record, in the same transaction as the change."""

from datetime import date

import pytest
from sqlalchemy import select

from coordination.models import AuditEntry, Intervention, Organisation
from tests import factories


def entries(session, entity_type=None):
    query = select(AuditEntry).order_by(AuditEntry.id)
    if entity_type:
        query = query.where(AuditEntry.entity_type == entity_type)
    return list(session.scalars(query))


def test_create_update_delete_each_write_one_row(session):
    organisation = factories.create_organisation(
        session, acronym="GMAC", name="Garment Manufacturers"
    )
    session.commit()
    created = entries(session, "Organisation")
    assert [(e.action, e.actor, e.entity_label) for e in created] == [("create", "test", "GMAC")]
    assert created[0].changes["name"] == [None, "Garment Manufacturers"]

    organisation.name = "Garment Manufacturers Association in Cambodia"
    session.commit()
    update = entries(session, "Organisation")[-1]
    assert update.action == "update"
    assert update.changes == {
        "name": ["Garment Manufacturers", "Garment Manufacturers Association in Cambodia"]
    }

    session.delete(organisation)
    session.commit()
    assert [e.action for e in entries(session, "Organisation")] == ["create", "update", "delete"]


def test_unchanged_save_writes_nothing(session):
    organisation = factories.create_organisation(session)
    session.commit()
    before = len(entries(session))
    organisation.name = organisation.name  # same value: not a change
    session.commit()
    assert len(entries(session)) == before


def test_rolled_back_change_leaves_no_audit_row(session):
    factories.create_organisation(session, acronym="ROLLBACK")
    session.rollback()
    assert entries(session) == []


def test_intervention_edit_with_places_and_themes_is_one_row(session):
    intervention = factories.create_intervention(session, places=[("BD", "BD-C")])
    session.commit()
    before = len(entries(session))
    intervention.title = "Leadership training for female leaders"
    intervention.themes.append(factories.theme(session, "social-dialogue"))
    intervention.places[0].area = factories.area(session, "BD-B")
    session.commit()
    new = entries(session)[before:]
    assert len(new) == 1
    (row,) = new
    assert row.entity_type == "Intervention" and row.action == "update"
    assert row.changes["themes"][1] == sorted(
        ["Gender equality", "Social dialogue and industrial relations"]
    )
    assert "title" in row.changes
    assert any(key.endswith(".area_id") for key in row.changes)


def test_secrets_are_masked(session):
    from coordination.models import User
    from coordination.vocab import UserRole

    user = User(email="a@example.org", password_hash="secret-hash", role=UserRole.MANAGER)
    session.add(user)
    session.commit()
    (row,) = entries(session, "User")
    assert row.changes["password_hash"] == [None, "********"]
    assert "secret-hash" not in str(row.changes)


def test_reason_and_actor_come_from_the_session(session):
    session.info["actor"] = "manager@example.org"
    session.info["audit_reason"] = "corrected the acronym"
    factories.create_organisation(session)
    session.commit()
    (row,) = entries(session, "Organisation")
    assert (row.actor, row.reason) == ("manager@example.org", "corrected the acronym")


def test_database_refuses_an_intervention_ending_before_it_starts(session):
    from sqlalchemy.exc import IntegrityError

    organisation = factories.create_organisation(session)
    session.add(
        Intervention(
            code="BAD",
            title="Bad dates",
            intervention_type="training",
            lead_organisation=organisation,
            start_date=date(2025, 2, 1),
            end_date=date(2025, 1, 1),
        )
    )
    with pytest.raises(IntegrityError):
        session.flush()


def test_database_refuses_an_area_of_another_country(session):
    from sqlalchemy.exc import IntegrityError

    from coordination.models import InterventionPlace

    intervention = factories.create_intervention(session)
    session.commit()
    dhaka = factories.area(session, "BD-C")
    session.add(InterventionPlace(intervention=intervention, country_code="KH", area_id=dhaka.id))
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()
    assert session.scalars(select(Organisation)).all()  # earlier commit untouched
