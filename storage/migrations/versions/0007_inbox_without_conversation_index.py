"""inbound_events: no index on conversation_key

Every query on it also asks for pending rows, which ix_inbound_events_pending finds; keeping the index up to
date cost each group commit a random page per conversation in it, the inbox's largest write cost.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 20:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Not in batch mode: dropping an index needs no copy of the table, which holds eight days of keys.
    op.drop_index("ix_inbound_events_conversation_key", table_name="inbound_events")


def downgrade() -> None:
    op.create_index("ix_inbound_events_conversation_key", "inbound_events", ["conversation_key"])
