"""project documents: published documents of a project (IATI document-link)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 07:50:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import coordination.db  # noqa: F401  (custom column types used below)

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The IATI DocumentCategory codes, as the model's vocabulary stores them.
DOCUMENT_CATEGORIES = [f"A{n:02d}" for n in range(1, 13)] + [f"B{n:02d}" for n in range(1, 19)]


def upgrade() -> None:
    op.create_table(
        "project_document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column(
            "category",
            sa.Enum(
                *DOCUMENT_CATEGORIES,
                name="document_category",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("format", sa.String(length=130), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=True),
        sa.Column("document_date", sa.Date(), nullable=True),
        sa.Column("description", sa.String(), nullable=True),
        sa.Column("created_at", coordination.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", coordination.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project.id"],
            name=op.f("fk_project_document_project_id_project"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_document")),
        sa.UniqueConstraint("project_id", "url", name=op.f("uq_project_document_project_id_url")),
    )
    with op.batch_alter_table("project_document", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_project_document_project_id"), ["project_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("project_document", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_project_document_project_id"))

    op.drop_table("project_document")
