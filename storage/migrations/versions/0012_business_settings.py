"""business_settings: the business's setup as the database holds it (seeded from the config once);
settings_changes: who changed what, when; clients.test: records made by the business trying its own bot

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import BigId, UTCDateTime

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "business_settings",
        sa.Column("business_id", sa.String(64), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("version", BigId, nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("business_id", name="pk_business_settings"),
        sa.ForeignKeyConstraint(
            ["business_id"], ["businesses.id"], name="fk_business_settings_business_id_businesses"
        ),
    )
    op.create_table(
        "settings_changes",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("business_id", sa.String(64), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("staff_id", BigId, nullable=True),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("section", sa.String(64), nullable=False),
        sa.Column("version", BigId, nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_settings_changes"),
        sa.ForeignKeyConstraint(
            ["business_id"], ["businesses.id"], name="fk_settings_changes_business_id_businesses"
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name="fk_settings_changes_staff_id_staff", ondelete="SET NULL"
        ),
    )
    op.create_index("ix_settings_changes_business_at", "settings_changes", ["business_id", "at"])
    with op.batch_alter_table("clients") as batch:
        batch.add_column(sa.Column("test", sa.Boolean(), nullable=False, server_default=sa.text("false")))


def downgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("test")
    op.drop_index("ix_settings_changes_business_at", table_name="settings_changes")
    op.drop_table("settings_changes")
    op.drop_table("business_settings")
