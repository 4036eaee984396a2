"""inbound_events: conversation_key indexed over pending rows on PostgreSQL only, not at all on SQLite

Every query on conversation_key also asks for pending rows. On SQLite one dispatcher reads them in order
through ix_inbound_events_pending, and keeping an index on conversation_key current cost each group commit
a random page per conversation in it, the inbox's largest write cost. On PostgreSQL several workers ask for
the pending rows of the conversations each has locked, which a partial index over pending rows answers
without walking a backlog.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 20:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Not in batch mode: index changes need no copy of the table, which holds eight days of keys.
    op.drop_index("ix_inbound_events_conversation_key", table_name="inbound_events")
    if op.get_bind().dialect.name == "postgresql":
        op.create_index(
            "ix_inbound_events_pending_conversation",
            "inbound_events",
            ["conversation_key", "id"],
            postgresql_where=sa.text("state = 'pending'"),
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_inbound_events_pending_conversation", table_name="inbound_events")
    op.create_index("ix_inbound_events_conversation_key", "inbound_events", ["conversation_key"])
