"""index to find the approved update that counts for a period without sorting

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 08:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_indicator_update_counting",
        "indicator_update",
        ["period_id", "status", "reviewed_at", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_indicator_update_counting", table_name="indicator_update")
