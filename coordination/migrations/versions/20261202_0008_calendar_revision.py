"""calendar revision (cheap feed revalidation) and stored feed bodies

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 13:00:00+00:00
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    revision_table = op.create_table(
        "calendar_revision",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("epoch", sa.String(length=32), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("names", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_revision")),
    )
    op.bulk_insert(revision_table, [{"id": 1, "epoch": uuid.uuid4().hex, "value": 0, "names": 0}])
    op.create_table(
        "calendar_feed_cache",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_calendar_feed_cache")),
    )


def downgrade() -> None:
    op.drop_table("calendar_feed_cache")
    op.drop_table("calendar_revision")
