"""Login accounts: creating users, checking passwords, changing roles."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from coordination.db import utcnow
from coordination.errors import ValidationError
from coordination.models import Organisation, User
from coordination.vocab import UserRole

__all__ = ["authenticate", "create_user", "hash_password", "set_password"]

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 10
# Verified against when the e-mail is unknown, so a wrong address costs as long as a
# wrong password and response times do not reveal which accounts exist.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError({"password": f"use at least {MIN_PASSWORD_LENGTH} characters"})
    return _hasher.hash(password)


def create_user(
    session: Session,
    email: str,
    password: str,
    role: UserRole | str,
    *,
    organisation: Organisation | None = None,
) -> User:
    """A new account. Partners must belong to an organisation: they edit only its records."""
    email = email.strip().lower()
    try:
        role = UserRole(role)
    except ValueError:
        known = ", ".join(r.value for r in UserRole)
        raise ValidationError({"role": f"unknown role {role!r}; use one of {known}"}) from None
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        raise ValidationError({"email": f"{email!r} is not an e-mail address"})
    if session.scalar(select(func.count()).where(User.email == email)):
        raise ValidationError({"email": f"an account for {email} already exists"})
    if role is UserRole.PARTNER and organisation is None:
        raise ValidationError({"organisation": "a partner account needs an organisation"})
    user = User(
        email=email, password_hash=hash_password(password), role=role, organisation=organisation
    )
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    session.flush()


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with these credentials, or None. Rehashes outdated hashes."""
    user = session.scalars(select(User).where(User.email == email.strip().lower())).first()
    if user is None or not user.active:
        _verify(_DUMMY_HASH, password)
        return None
    if not _verify(user.password_hash, password):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = utcnow()
    session.flush()
    return user


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
