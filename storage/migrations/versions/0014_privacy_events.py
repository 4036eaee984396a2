"""privacy_events: exports, erasures and Meta's deletion and deauthorize callbacks, without personal data

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import BigId, UTCDateTime

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "privacy_events",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("business_id", sa.String(64), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("subject", BigId, nullable=True),
        sa.Column("confirmation_code", sa.String(64), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_privacy_events"),
        sa.ForeignKeyConstraint(
            ["business_id"], ["businesses.id"], name="fk_privacy_events_business_id_businesses"
        ),
    )
    op.create_index("ix_privacy_events_business_at", "privacy_events", ["business_id", "at"])
    op.create_index("ix_privacy_events_confirmation_code", "privacy_events", ["confirmation_code"])


def downgrade() -> None:
    op.drop_index("ix_privacy_events_confirmation_code", table_name="privacy_events")
    op.drop_index("ix_privacy_events_business_at", table_name="privacy_events")
    op.drop_table("privacy_events")
