"""retention: privacy_events.details (what a purge removed, counted per kind) and an index on a business's
messages by age, so the hourly purge finds old messages without reading them all

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("privacy_events") as batch:
        batch.add_column(sa.Column("details", sa.JSON(), nullable=True))
    op.create_index("ix_messages_business_created", "messages", ["business_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_messages_business_created", table_name="messages")
    with op.batch_alter_table("privacy_events") as batch:
        batch.drop_column("details")
