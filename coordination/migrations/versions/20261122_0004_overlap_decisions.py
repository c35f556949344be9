"""overlap decisions: a coordinator's verdict on a pair of interventions

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-22 04:55:11.313174+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import coordination.db  # noqa: F401  (custom column types used below)

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "overlap_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("a_code", sa.String(length=80), nullable=False),
        sa.Column("b_code", sa.String(length=80), nullable=False),
        sa.Column(
            "decision",
            sa.Enum(
                "confirmed_duplicate",
                "complementary",
                "not_related",
                name="overlap_decision_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("note", sa.String(), nullable=True),
        sa.Column("decided_by", sa.String(length=254), nullable=False),
        sa.Column("decided_at", coordination.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("a_version", sa.Integer(), nullable=False),
        sa.Column("b_version", sa.Integer(), nullable=False),
        sa.Column("a_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("b_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("created_at", coordination.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", coordination.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("a_code <> b_code", name=op.f("ck_overlap_decision_two_interventions")),
        sa.ForeignKeyConstraint(
            ["a_code"],
            ["intervention.code"],
            name=op.f("fk_overlap_decision_a_code_intervention"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["b_code"],
            ["intervention.code"],
            name=op.f("fk_overlap_decision_b_code_intervention"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_overlap_decision")),
        sa.UniqueConstraint("a_code", "b_code", name=op.f("uq_overlap_decision_a_code_b_code")),
    )
    with op.batch_alter_table("overlap_decision", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_overlap_decision_b_code"), ["b_code"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("overlap_decision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_overlap_decision_b_code"))

    op.drop_table("overlap_decision")
