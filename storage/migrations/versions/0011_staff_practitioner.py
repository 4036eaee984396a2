"""staff.practitioner: whose calendar a staff member sees first; indexes for the inbox's filters (those
needing staff, one person's) so each page reads only its own rows, and for identities by phone

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 06:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("staff") as batch:
        batch.add_column(sa.Column("practitioner", sa.String(64), nullable=True))
    op.create_index(
        "ix_conversations_needs_staff",
        "conversations",
        ["business_id", "needs_staff", "last_message_at", "id"],
    )
    op.create_index("ix_conversations_assigned", "conversations", ["assigned_to", "last_message_at", "id"])
    op.create_index("ix_client_identities_phone", "client_identities", ["business_id", "phone"])
    op.create_index("ix_clients_business_phone", "clients", ["business_id", "phone"])


def downgrade() -> None:
    op.drop_index("ix_clients_business_phone", table_name="clients")
    op.drop_index("ix_client_identities_phone", table_name="client_identities")
    op.drop_index("ix_conversations_assigned", table_name="conversations")
    op.drop_index("ix_conversations_needs_staff", table_name="conversations")
    with op.batch_alter_table("staff") as batch:
        batch.drop_column("practitioner")
