"""one active appointment per start time: the schema's own backstop for "one slot, one booking"

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 13:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = sa.text("status IN ('booked', 'confirmed')")


def upgrade() -> None:
    op.create_index(
        "uq_appointments_active_start",
        "appointments",
        ["business_id", "start_at"],
        unique=True,
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )
    # A client's upcoming appointments are read by client and start: one index serves both.
    op.drop_index("ix_appointments_client_id", table_name="appointments")
    op.create_index("ix_appointments_client", "appointments", ["client_id", "start_at"])


def downgrade() -> None:
    op.drop_index("ix_appointments_client", table_name="appointments")
    op.create_index("ix_appointments_client_id", "appointments", ["client_id"])
    op.drop_index("uq_appointments_active_start", table_name="appointments")
