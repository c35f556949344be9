import pytest

from coordination.errors import ValidationError
from coordination.models import User
from coordination.services.accounts import authenticate, create_user
from coordination.vocab import UserRole
from tests import factories


def test_created_user_can_log_in_and_password_is_hashed(session):
    user = create_user(session, " Manager@Example.org ", "correct horse battery", "manager")
    session.commit()
    assert user.email == "manager@example.org"
    assert "correct horse" not in user.password_hash
    assert authenticate(session, "MANAGER@example.org", "correct horse battery") == user
    assert user.last_login_at is not None


@pytest.mark.parametrize(
    ("email", "password"),
    [("manager@example.org", "wrong password!"), ("nobody@example.org", "correct horse battery")],
)
def test_wrong_credentials_are_refused(session, email, password):
    create_user(session, "manager@example.org", "correct horse battery", UserRole.MANAGER)
    assert authenticate(session, email, password) is None


def test_inactive_user_cannot_log_in(session):
    user = create_user(session, "gone@example.org", "correct horse battery", UserRole.DONOR)
    user.active = False
    assert authenticate(session, "gone@example.org", "correct horse battery") is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"email": "x@example.org", "password": "short", "role": "manager"}, "password"),
        ({"email": "not-an-address", "password": "long enough pw", "role": "manager"}, "email"),
        ({"email": "x@example.org", "password": "long enough pw", "role": "king"}, "role"),
        (
            {"email": "x@example.org", "password": "long enough pw", "role": "partner"},
            "organisation",
        ),
    ],
)
def test_bad_accounts_get_field_errors(session, kwargs, field):
    with pytest.raises(ValidationError) as error:
        create_user(session, **kwargs)
    assert field in error.value.errors
    assert session.query(User).count() == 0


def test_duplicate_email_is_refused(session):
    create_user(session, "a@example.org", "long enough pw", "donor")
    with pytest.raises(ValidationError, match="already exists"):
        create_user(session, "A@example.org", "long enough pw", "donor")


def test_partner_belongs_to_an_organisation(session):
    organisation = factories.create_organisation(session, acronym="BGMEA")
    user = create_user(
        session, "p@example.org", "long enough pw", "partner", organisation=organisation
    )
    assert user.organisation.acronym == "BGMEA"
