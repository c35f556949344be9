"""meetings and calendars: series, exceptions, RSVP, decisions, action items, feed tokens

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-22 04:52:01.292892+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import coordination.db  # noqa: F401  (custom column types used below)

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "action_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(), nullable=False),
        sa.Column("owner_person_id", sa.Integer(), nullable=True),
        sa.Column("owner_organisation_id", sa.Integer(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "done",
                "dropped",
                name="action_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("completed_on", sa.Date(), nullable=True),
        sa.Column("created_at", coordination.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", coordination.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "owner_person_id IS NOT NULL OR owner_organisation_id IS NOT NULL",
            name=op.f("ck_action_item_has_owner"),
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meeting.id"],
            name=op.f("fk_action_item_meeting_id_meeting"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_organisation_id"],
            ["organisation.id"],
            name=op.f("fk_action_item_owner_organisation_id_organisation"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["owner_person_id"],
            ["person.id"],
            name=op.f("fk_action_item_owner_person_id_person"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_item")),
    )
    with op.batch_alter_table("action_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_action_item_due_date"), ["due_date"], unique=False)
        batch_op.create_index(batch_op.f("ix_action_item_meeting_id"), ["meeting_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_action_item_owner_organisation_id"),
            ["owner_organisation_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_action_item_owner_person_id"), ["owner_person_id"], unique=False
        )

    op.create_table(
        "meeting_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(), nullable=False),
        sa.Column("created_at", coordination.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", coordination.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meeting.id"],
            name=op.f("fk_meeting_decision_meeting_id_meeting"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_decision")),
    )
    with op.batch_alter_table("meeting_decision", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_meeting_decision_meeting_id"), ["meeting_id"], unique=False
        )

    op.create_table(
        "meeting_occurrence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("original_start", coordination.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.Column("starts_at", coordination.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ends_at", coordination.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.CheckConstraint(
            "cancelled OR (starts_at IS NOT NULL AND ends_at IS NOT NULL)",
            name=op.f("ck_meeting_occurrence_cancelled_or_moved"),
        ),
        sa.CheckConstraint(
            "ends_at IS NULL OR ends_at >= starts_at",
            name=op.f("ck_meeting_occurrence_times_in_order"),
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meeting.id"],
            name=op.f("fk_meeting_occurrence_meeting_id_meeting"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_occurrence")),
        sa.UniqueConstraint(
            "meeting_id",
            "original_start",
            name=op.f("uq_meeting_occurrence_meeting_id_original_start"),
        ),
    )
    op.create_table(
        "meeting_result",
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("result_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meeting.id"],
            name=op.f("fk_meeting_result_meeting_id_meeting"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["result_id"],
            ["result.id"],
            name=op.f("fk_meeting_result_result_id_result"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("meeting_id", "result_id", name=op.f("pk_meeting_result")),
    )
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("feed_token_generation", sa.Integer(), server_default="0", nullable=False)
        )

    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.add_column(sa.Column("organiser_person_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("rrule", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("ical_uid", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("sequence", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("reminder_minutes", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("agenda", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("minutes", sa.String(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_meeting_organiser_person_id"), ["organiser_person_id"], unique=False
        )
        batch_op.create_unique_constraint(batch_op.f("uq_meeting_ical_uid"), ["ical_uid"])
        batch_op.create_foreign_key(
            batch_op.f("fk_meeting_organiser_person_id_person"),
            "person",
            ["organiser_person_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_check_constraint(
            op.f("ck_meeting_reminder_not_negative"),
            "reminder_minutes IS NULL OR reminder_minutes >= 0",
        )

    with op.batch_alter_table("meeting_participant", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "rsvp",
                sa.Enum(
                    "needs_action",
                    "accepted",
                    "tentative",
                    "declined",
                    name="rsvp",
                    native_enum=False,
                    create_constraint=True,
                    length=32,
                ),
                server_default="needs_action",
                nullable=False,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("meeting_participant", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_meeting_participant_rsvp"), type_="check")
        batch_op.drop_column("rsvp")

    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_meeting_reminder_not_negative"), type_="check")
        batch_op.drop_constraint(
            batch_op.f("fk_meeting_organiser_person_id_person"), type_="foreignkey"
        )
        batch_op.drop_constraint(batch_op.f("uq_meeting_ical_uid"), type_="unique")
        batch_op.drop_index(batch_op.f("ix_meeting_organiser_person_id"))
        batch_op.drop_column("minutes")
        batch_op.drop_column("agenda")
        batch_op.drop_column("reminder_minutes")
        batch_op.drop_column("sequence")
        batch_op.drop_column("ical_uid")
        batch_op.drop_column("rrule")
        batch_op.drop_column("organiser_person_id")

    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_column("feed_token_generation")

    op.drop_table("meeting_result")
    op.drop_table("meeting_occurrence")
    with op.batch_alter_table("meeting_decision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meeting_decision_meeting_id"))

    op.drop_table("meeting_decision")
    with op.batch_alter_table("action_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_action_item_owner_person_id"))
        batch_op.drop_index(batch_op.f("ix_action_item_owner_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_action_item_meeting_id"))
        batch_op.drop_index(batch_op.f("ix_action_item_due_date"))

    op.drop_table("action_item")
