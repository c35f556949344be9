"""Results framework: disaggregations, period targets, the update workflow

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 04:50:54.247237+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import coordination.db  # noqa: F401  (custom column types used below)

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing indicators and periods get server defaults for the new NOT NULL columns.
    op.create_table(
        "indicator_dimension",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("indicator_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", coordination.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", coordination.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["indicator_id"],
            ["indicator.id"],
            name=op.f("fk_indicator_dimension_indicator_id_indicator"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicator_dimension")),
        sa.UniqueConstraint(
            "indicator_id", "name", name=op.f("uq_indicator_dimension_indicator_id_name")
        ),
    )
    op.create_table(
        "dimension_category",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dimension_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("baseline_value", sa.Numeric(precision=18, scale=4), nullable=True),
        sa.ForeignKeyConstraint(
            ["dimension_id"],
            ["indicator_dimension.id"],
            name=op.f("fk_dimension_category_dimension_id_indicator_dimension"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dimension_category")),
        sa.UniqueConstraint(
            "dimension_id", "name", name=op.f("uq_dimension_category_dimension_id_name")
        ),
    )
    op.create_table(
        "indicator_update",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "submitted",
                "approved",
                "returned",
                name="update_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("value", sa.Numeric(precision=18, scale=4), nullable=True),
        sa.Column("numerator", sa.Numeric(precision=18, scale=4), nullable=True),
        sa.Column("denominator", sa.Numeric(precision=18, scale=4), nullable=True),
        sa.Column("narrative", sa.String(), nullable=True),
        sa.Column("comment", sa.String(), nullable=True),
        sa.Column("evidence_links", sa.JSON(), nullable=False),
        sa.Column("reported_by", sa.String(length=254), nullable=False),
        sa.Column("reporting_organisation_id", sa.Integer(), nullable=True),
        sa.Column("submitted_at", coordination.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by", sa.String(length=254), nullable=True),
        sa.Column("reviewed_at", coordination.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("return_reason", sa.String(), nullable=True),
        sa.Column("created_at", coordination.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", coordination.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "denominator IS NULL OR denominator > 0",
            name=op.f("ck_indicator_update_denominator_positive"),
        ),
        sa.CheckConstraint(
            "numerator IS NULL OR denominator IS NULL OR numerator <= denominator",
            name=op.f("ck_indicator_update_numerator_within_denominator"),
        ),
        sa.ForeignKeyConstraint(
            ["period_id"],
            ["indicator_period.id"],
            name=op.f("fk_indicator_update_period_id_indicator_period"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reporting_organisation_id"],
            ["organisation.id"],
            name=op.f("fk_indicator_update_reporting_organisation_id_organisation"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicator_update")),
    )
    with op.batch_alter_table("indicator_update", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_indicator_update_period_id"), ["period_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_indicator_update_reporting_organisation_id"),
            ["reporting_organisation_id"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_indicator_update_status"), ["status"], unique=False)

    op.create_table(
        "period_target",
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("target_value", sa.Numeric(precision=18, scale=4), nullable=True),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["dimension_category.id"],
            name=op.f("fk_period_target_category_id_dimension_category"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["period_id"],
            ["indicator_period.id"],
            name=op.f("fk_period_target_period_id_indicator_period"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("period_id", "category_id", name=op.f("pk_period_target")),
    )
    with op.batch_alter_table("period_target", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_period_target_category_id"), ["category_id"], unique=False
        )

    op.create_table(
        "update_value",
        sa.Column("update_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Numeric(precision=18, scale=4), nullable=True),
        sa.Column("numerator", sa.Numeric(precision=18, scale=4), nullable=True),
        sa.Column("denominator", sa.Numeric(precision=18, scale=4), nullable=True),
        sa.CheckConstraint(
            "denominator IS NULL OR denominator > 0",
            name=op.f("ck_update_value_denominator_positive"),
        ),
        sa.CheckConstraint(
            "numerator IS NULL OR denominator IS NULL OR numerator <= denominator",
            name=op.f("ck_update_value_numerator_within_denominator"),
        ),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["dimension_category.id"],
            name=op.f("fk_update_value_category_id_dimension_category"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["update_id"],
            ["indicator_update.id"],
            name=op.f("fk_update_value_update_id_indicator_update"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("update_id", "category_id", name=op.f("pk_update_value")),
    )
    with op.batch_alter_table("update_value", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_update_value_category_id"), ["category_id"], unique=False
        )

    with op.batch_alter_table("indicator", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "aggregation",
                sa.Enum(
                    "cumulative",
                    "latest",
                    name="indicator_aggregation",
                    native_enum=False,
                    create_constraint=False,
                    length=32,
                ),
                nullable=False,
                server_default="cumulative",
            )
        )
        # Named separately: an Enum's own CHECK trips SQLite's batch table rebuild.
        batch_op.create_check_constraint(
            "indicator_aggregation", sa.text("aggregation IN ('cumulative', 'latest')")
        )
        batch_op.add_column(sa.Column("means_of_verification", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("data_source", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("collection_frequency", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("responsible_organisation_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("responsible_person_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("position", sa.Integer(), nullable=False, server_default="0"))
        batch_op.create_index(
            batch_op.f("ix_indicator_responsible_organisation_id"),
            ["responsible_organisation_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_indicator_responsible_person_id"),
            ["responsible_person_id"],
            unique=False,
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_indicator_responsible_person_id_person"),
            "person",
            ["responsible_person_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_indicator_responsible_organisation_id_organisation"),
            "organisation",
            ["responsible_organisation_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("indicator_period", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("locked", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("indicator_period", schema=None) as batch_op:
        batch_op.drop_column("locked")

    with op.batch_alter_table("indicator", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_indicator_indicator_aggregation"), type_="check")
        batch_op.drop_constraint(
            batch_op.f("fk_indicator_responsible_organisation_id_organisation"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_indicator_responsible_person_id_person"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_indicator_responsible_person_id"))
        batch_op.drop_index(batch_op.f("ix_indicator_responsible_organisation_id"))
        batch_op.drop_column("position")
        batch_op.drop_column("responsible_person_id")
        batch_op.drop_column("responsible_organisation_id")
        batch_op.drop_column("collection_frequency")
        batch_op.drop_column("data_source")
        batch_op.drop_column("means_of_verification")
        batch_op.drop_column("aggregation")

    with op.batch_alter_table("update_value", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_update_value_category_id"))

    op.drop_table("update_value")
    with op.batch_alter_table("period_target", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_period_target_category_id"))

    op.drop_table("period_target")
    with op.batch_alter_table("indicator_update", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_indicator_update_status"))
        batch_op.drop_index(batch_op.f("ix_indicator_update_reporting_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_indicator_update_period_id"))

    op.drop_table("indicator_update")
    op.drop_table("dimension_category")
    op.drop_table("indicator_dimension")
