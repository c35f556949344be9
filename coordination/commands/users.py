"""``coordination users``: login accounts from the command line."""

from __future__ import annotations

import os
import sys

import click
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from coordination.commands import database_option, open_engine, reports_errors, transaction
from coordination.errors import ValidationError
from coordination.models import User
from coordination.services._lookup import to_organisation
from coordination.services.accounts import MIN_PASSWORD_LENGTH, create_user
from coordination.vocab import UserRole

__all__ = ["users"]

PASSWORD_ENV = "COORDINATION_USER_PASSWORD"
_ROLES = ", ".join(role.value for role in UserRole)


@click.group()
def users() -> None:
    """Create and list login accounts."""


@users.command(name="create")
@click.argument("email")
@click.option("--role", required=True, help=f"One of: {_ROLES}.")
@click.option(
    "--organisation",
    metavar="ACRONYM",
    help="The account's organisation (required for partners: they edit only its records).",
)
@click.option(
    "--password-stdin",
    is_flag=True,
    help=f"Read the password from the first line of standard input (else ${PASSWORD_ENV}, "
    "else a hidden prompt, asked twice).",
)
@database_option
@reports_errors
def create(
    email: str, role: str, organisation: str | None, password_stdin: bool, database: str | None
) -> None:
    """Create an account for EMAIL."""
    try:
        role_value = UserRole(role.strip().lower())
    except ValueError:
        raise ValidationError({"role": f"unknown role {role!r}; use one of {_ROLES}"}) from None
    engine = open_engine(database)
    try:
        # Check what can be checked before asking for a password, and keep no
        # transaction open while the prompt waits for someone to type.
        with transaction(engine, actor="cli:users") as session:
            member_of = to_organisation(session, organisation) if organisation else None
            if role_value is UserRole.PARTNER and member_of is None:
                raise ValidationError({"organisation": "a partner account needs --organisation"})
            if session.scalar(select(User.id).where(User.email == email.strip().lower())):
                raise ValidationError({"email": f"an account for {email} already exists"})
        password = _password(password_stdin)
        with transaction(engine, actor="cli:users") as session:
            member_of = to_organisation(session, organisation) if organisation else None
            user = create_user(session, email, password, role_value, organisation=member_of)
            suffix = f" of {member_of.acronym}" if member_of else ""
            message = f"Created {user.role.value} account {user.email}{suffix}."
        click.echo(message)
    finally:
        engine.dispose()


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise click.ClickException("--password-stdin: nothing on standard input")
        return line.rstrip("\r\n")
    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV]
    return click.prompt(
        f"Password (at least {MIN_PASSWORD_LENGTH} characters)",
        hide_input=True,
        confirmation_prompt=True,
    )


@users.command(name="list")
@click.option("--role", help=f"Only accounts with this role ({_ROLES}).")
@database_option
@reports_errors
def list_users(role: str | None, database: str | None) -> None:
    """List accounts: e-mail, role, organisation, status and last login."""
    query = select(User).options(selectinload(User.organisation)).order_by(User.email)
    if role:
        try:
            query = query.where(User.role == UserRole(role.strip().lower()))
        except ValueError:
            raise ValidationError({"role": f"unknown role {role!r}; use one of {_ROLES}"}) from None
    engine = open_engine(database)
    try:
        with transaction(engine, actor="cli:users") as session:
            rows = [
                (
                    user.email,
                    user.role.value,
                    user.organisation.acronym if user.organisation else "",
                    "active" if user.active else "inactive",
                    user.last_login_at.strftime("%Y-%m-%d %H:%M")
                    if user.last_login_at
                    else "never",
                )
                for user in session.scalars(query)
            ]
    finally:
        engine.dispose()
    if not rows:
        click.echo("No accounts.")
        return
    header = ("EMAIL", "ROLE", "ORGANISATION", "STATUS", "LAST LOGIN (UTC)")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        click.echo("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
