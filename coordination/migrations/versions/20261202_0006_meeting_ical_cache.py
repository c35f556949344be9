"""meeting iCalendar cache: serialised VEVENTs kept across restarts

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 07:50:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import coordination.db  # noqa: F401  (custom column types used below)

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "meeting_ical_cache",
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", coordination.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meeting.id"],
            name=op.f("fk_meeting_ical_cache_meeting_id_meeting"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("fingerprint", name=op.f("pk_meeting_ical_cache")),
    )
    with op.batch_alter_table("meeting_ical_cache", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_meeting_ical_cache_meeting_id"), ["meeting_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("meeting_ical_cache", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meeting_ical_cache_meeting_id"))
    op.drop_table("meeting_ical_cache")
