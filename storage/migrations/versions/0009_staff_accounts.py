"""staff accounts, login failures (throttling across processes), conversations assigned to a colleague,
how far each colleague has read each conversation, saved replies; an index for the inbox's order

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 05:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import BigId, UTCDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "staff",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("business_id", sa.String(64), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("role", sa.String(8), nullable=False),
        sa.Column("locale", sa.String(8), nullable=False),
        sa.Column("session_version", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("last_login_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_staff"),
        sa.ForeignKeyConstraint(["business_id"], ["businesses.id"], name="fk_staff_business_id_businesses"),
        sa.UniqueConstraint("email", name="uq_staff_email"),
    )
    op.create_index("ix_staff_business_id", "staff", ["business_id"])
    op.create_table(
        "login_failures",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("key", sa.String(80), nullable=False),
        sa.Column("failed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_login_failures"),
    )
    op.create_index("ix_login_failures_key", "login_failures", ["key", "failed_at"])
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("assigned_to", BigId, nullable=True))
        batch.create_foreign_key(
            "fk_conversations_assigned_to_staff", "staff", ["assigned_to"], ["id"], ondelete="SET NULL"
        )
    op.create_index("ix_conversations_activity", "conversations", ["business_id", "last_message_at", "id"])
    op.create_table(
        "conversation_reads",
        sa.Column("staff_id", BigId, nullable=False),
        sa.Column("conversation_id", BigId, nullable=False),
        sa.Column("last_read_id", BigId, nullable=False),
        sa.PrimaryKeyConstraint("staff_id", "conversation_id", name="pk_conversation_reads"),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name="fk_conversation_reads_staff_id_staff", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name="fk_conversation_reads_conversation_id_conversations",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "saved_replies",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("business_id", sa.String(64), nullable=False),
        sa.Column("shortcut", sa.String(40), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_saved_replies"),
        sa.ForeignKeyConstraint(
            ["business_id"], ["businesses.id"], name="fk_saved_replies_business_id_businesses"
        ),
        sa.UniqueConstraint("business_id", "shortcut", name="uq_saved_replies_business_id_shortcut"),
    )


def downgrade() -> None:
    op.drop_table("saved_replies")
    op.drop_table("conversation_reads")
    op.drop_index("ix_conversations_activity", table_name="conversations")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_constraint("fk_conversations_assigned_to_staff", type_="foreignkey")
        batch.drop_column("assigned_to")
    op.drop_index("ix_login_failures_key", table_name="login_failures")
    op.drop_table("login_failures")
    op.drop_index("ix_staff_business_id", table_name="staff")
    op.drop_table("staff")
