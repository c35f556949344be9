from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from coordination.errors import ValidationError
from coordination.models import BodyMembership, Organisation, Partnership, Person
from coordination.services.stakeholders import (
    add_body_membership,
    create_body,
    create_organisation,
    create_partnership,
    create_person,
    update_body_membership,
    update_organisation,
    update_person,
)
from coordination.vocab import BodyRole, Constituency, Sex, StakeholderType
from tests import factories


def test_organisation_takes_constituency_and_iati_type_from_its_type(session):
    bgmea = create_organisation(
        session,
        name="Bangladesh Garment Manufacturers",
        acronym="BGMEA",
        stakeholder_type="business_membership",
        country="BD",
    )
    assert bgmea.constituency is Constituency.EMPLOYERS
    assert bgmea.iati_type == 22
    assert bgmea.country.name == "Bangladesh"
    chosen = create_organisation(
        session,
        name="A foundation",
        acronym="FND",
        stakeholder_type=StakeholderType.NGO,
        constituency="workers",
        iati_type=60,
    )
    assert (chosen.constituency, chosen.iati_type) == (Constituency.WORKERS, 60)


@pytest.mark.parametrize("code", [Decimal("Infinity"), Decimal("NaN"), Decimal("21.5"), "21a"])
def test_an_iati_type_that_is_not_a_whole_code_is_a_field_error(session, code):
    # Infinity crashed int(); 21.5 was silently cut to 21.
    organisation = create_organisation(session, name="Union", acronym="U1", stakeholder_type="ngo")
    with pytest.raises(ValidationError) as refused:
        update_organisation(session, organisation, iati_type=code)
    assert "iati_type" in refused.value.errors
    assert organisation.iati_type == 21  # the NGO default, unchanged


def test_changing_the_type_rederives_defaults_but_keeps_chosen_values(session):
    derived = create_organisation(session, name="Union", acronym="U1", stakeholder_type="ngo")
    update_organisation(session, derived, stakeholder_type="workers_organisation")
    assert (derived.constituency, derived.iati_type) == (Constituency.WORKERS, 22)

    chosen = create_organisation(
        session,
        name="Odd",
        acronym="U2",
        stakeholder_type="ngo",
        constituency="employers",
        iati_type=60,
    )
    update_organisation(session, chosen, stakeholder_type="workers_organisation")
    assert (chosen.constituency, chosen.iati_type) == (Constituency.EMPLOYERS, 60)


def test_acronyms_are_unique_without_regard_to_case(session):
    create_organisation(
        session,
        name="International Labour Organization",
        acronym="ILO",
        stakeholder_type="un_agency",
    )
    with pytest.raises(ValidationError) as error:
        create_organisation(session, name="Other", acronym="ilo", stakeholder_type="ngo")
    assert "already used by International Labour Organization" in error.value.errors["acronym"]
    assert session.scalar(select(func.count()).select_from(Organisation)) == 1


def test_bad_organisation_reports_every_field(session):
    with pytest.raises(ValidationError) as error:
        create_organisation(
            session,
            name=" ",
            acronym="X",
            stakeholder_type="guild",
            country="Atlantis",
            iati_type=99,
            website="www.example.org",
        )
    assert set(error.value.errors) == {
        "name",
        "stakeholder_type",
        "country",
        "iati_type",
        "website",
    }


def test_an_organisation_cannot_descend_from_itself(session):
    parent = create_organisation(
        session, name="Better Work", acronym="BW", stakeholder_type="un_agency"
    )
    child = create_organisation(
        session, name="BFC", acronym="BFC", stakeholder_type="un_agency", parent="bw"
    )
    assert child.parent is parent
    with pytest.raises(ValidationError, match="parent"):
        update_organisation(session, parent, parent=child)
    with pytest.raises(TypeError, match="colour"):
        update_organisation(session, parent, colour="blue")


def test_people_are_identified_by_email(session):
    ilo = factories.create_organisation(session, acronym="ILO")
    person = create_person(
        session,
        name="Anjali Mehra",
        email=" A.Mehra@ILO.example.org ",
        organisation="ILO",
        sex="female",
    )
    assert (person.email, person.organisation, person.sex) == (
        "a.mehra@ilo.example.org",
        ilo,
        Sex.FEMALE,
    )
    with pytest.raises(ValidationError, match="already the address of Anjali Mehra"):
        create_person(session, name="Someone", email="a.mehra@ilo.example.org")
    with pytest.raises(ValidationError) as error:
        create_person(session, name="", email="not-an-address", sex="unknown")
    assert set(error.value.errors) == {"name", "email", "sex"}
    update_person(
        session, person, job_title="Chief Technical Adviser", email="a.mehra@ilo.example.org"
    )
    assert person.job_title == "Chief Technical Adviser"


def test_partnership_needs_two_different_members(session):
    a = factories.create_organisation(session, acronym="AAA")
    b = factories.create_organisation(session, acronym="BBB")
    partnership = create_partnership(
        session,
        name="MoU",
        partnership_type="mou",
        members=["aaa", b],
        themes=["gender-equality"],
        countries=["BD"],
        start_date="2024-01-01",
    )
    assert partnership.members == [a, b]
    assert [t.code for t in partnership.themes] == ["gender-equality"]
    with pytest.raises(ValidationError, match="at least two different organisations"):
        create_partnership(session, name="Alone", partnership_type="mou", members=[a, "AAA"])
    with pytest.raises(ValidationError) as error:
        create_partnership(
            session,
            name="Bad",
            partnership_type="marriage",
            members=[a, "NOPE"],
            start_date=date(2025, 1, 1),
            end_date=date(2024, 1, 1),
        )
    assert set(error.value.errors) == {"partnership_type", "members", "end_date"}
    assert session.scalar(select(func.count()).select_from(Partnership)) == 1


def test_body_members_are_an_organisation_or_a_person(session):
    ilo = factories.create_organisation(session, acronym="ILO")
    chair = factories.create_person(session, email="chair@example.org")
    body = create_body(
        session,
        name="Regional Gender Taskforce",
        body_type="taskforce",
        convener="ILO",
        themes=["gender-equality"],
    )
    seat = add_body_membership(
        session, body, organisation="ILO", role="secretariat", since="2024-03-08"
    )
    add_body_membership(session, body, person="chair@example.org", role=BodyRole.CHAIR)
    assert {(m.organisation, m.person) for m in body.memberships} == {(ilo, None), (None, chair)}
    with pytest.raises(ValidationError, match="not both or neither"):
        add_body_membership(session, body, organisation=ilo, person=chair)
    with pytest.raises(ValidationError, match="not both or neither"):
        add_body_membership(session, body)
    with pytest.raises(ValidationError, match="already on"):
        add_body_membership(session, body, organisation=ilo, since=date(2024, 3, 8))
    with pytest.raises(ValidationError, match="until"):
        update_body_membership(session, seat, until="2020-01-01")
    with pytest.raises(ValidationError, match="already exists"):
        create_body(session, name="Regional Gender Taskforce", body_type="network")
    assert session.scalar(select(func.count()).select_from(BodyMembership)) == 2
    assert session.scalar(select(func.count()).select_from(Person)) == 1
