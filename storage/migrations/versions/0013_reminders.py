"""reminders: one per appointment and lead time, claimed once when due; emails about appointments, queued
with the change; clients.email and opting out of reminders and notices (per channel identity, and email)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import BigId, UTCDateTime

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reminders",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("business_id", sa.String(64), nullable=False),
        sa.Column("appointment_id", BigId, nullable=False),
        sa.Column("lead", sa.String(16), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("route", sa.String(16), nullable=True),
        sa.Column("kind", sa.String(16), nullable=True),
        sa.Column("message_id", BigId, nullable=True),
        sa.Column("reason", sa.String(300), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("handled_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_reminders"),
        sa.ForeignKeyConstraint(
            ["business_id"], ["businesses.id"], name="fk_reminders_business_id_businesses"
        ),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name="fk_reminders_appointment_id_appointments",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name="fk_reminders_message_id_messages", ondelete="SET NULL"
        ),
        sa.UniqueConstraint("appointment_id", "lead", name="uq_reminders_appointment_id_lead"),
    )
    op.create_index("ix_reminders_due", "reminders", ["state", "due_at"])
    op.create_index("ix_reminders_business_due", "reminders", ["business_id", "due_at"])
    op.create_table(
        "emails",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("business_id", sa.String(64), nullable=False),
        sa.Column("appointment_id", BigId, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("reason", sa.String(300), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_emails"),
        sa.ForeignKeyConstraint(["business_id"], ["businesses.id"], name="fk_emails_business_id_businesses"),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name="fk_emails_appointment_id_appointments",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_emails_due", "emails", ["state", "next_attempt_at"])
    op.create_index("ix_emails_appointment_id", "emails", ["appointment_id"])
    with op.batch_alter_table("clients") as batch:
        batch.add_column(sa.Column("email", sa.String(254), nullable=True))
        batch.add_column(sa.Column("email_opted_out_at", UTCDateTime(), nullable=True))
    with op.batch_alter_table("client_identities") as batch:
        batch.add_column(sa.Column("opted_out_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("client_identities") as batch:
        batch.drop_column("opted_out_at")
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("email_opted_out_at")
        batch.drop_column("email")
    op.drop_index("ix_emails_appointment_id", table_name="emails")
    op.drop_index("ix_emails_due", table_name="emails")
    op.drop_table("emails")
    op.drop_index("ix_reminders_business_due", table_name="reminders")
    op.drop_index("ix_reminders_due", table_name="reminders")
    op.drop_table("reminders")
