"""inbound events can be deferred (a status that arrives before its message's id is recorded)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 11:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("available_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inbound_events", schema=None) as batch_op:
        batch_op.drop_column("available_at")
