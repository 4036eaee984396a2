"""audit_events (append-only: triggers refuse UPDATE and DELETE) and restricting a client's processing
(clients.restricted_at, restricted_reason, restricted_note, restricted_by)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import BigId, UTCDateTime

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As storage/models.py's AUDIT_GUARDS stood when this step was written (a migration keeps its own copy).
# A later SQLite batch ALTER of audit_events rebuilds the table and must make these again.
GUARDS = {
    "postgresql": (
        "CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION 'audit_events is append-only'; END $$",
        "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
        "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()",
        "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()",
    ),
    "sqlite": (
        "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
        "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END",
        "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events "
        "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END",
    ),
}


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("business_id", sa.String(64), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor_kind", sa.String(8), nullable=False),
        sa.Column("actor_id", BigId, nullable=True),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("subject_type", sa.String(24), nullable=True),
        sa.Column("subject_id", BigId, nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit_events"),
        sa.ForeignKeyConstraint(
            ["business_id"], ["businesses.id"], name="fk_audit_events_business_id_businesses"
        ),
    )
    op.create_index("ix_audit_events_business", "audit_events", ["business_id", "id"])
    op.create_index(
        "ix_audit_events_subject", "audit_events", ["business_id", "subject_type", "subject_id", "id"]
    )
    op.create_index("ix_audit_events_actor", "audit_events", ["business_id", "actor_id", "id"])
    op.create_index("ix_audit_events_action", "audit_events", ["business_id", "action", "id"])
    for statement in GUARDS.get(op.get_bind().dialect.name, ()):
        op.execute(statement)
    with op.batch_alter_table("clients") as batch:
        batch.add_column(sa.Column("restricted_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("restricted_reason", sa.String(32), nullable=True))
        batch.add_column(sa.Column("restricted_note", sa.String(200), nullable=True))
        batch.add_column(sa.Column("restricted_by", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("restricted_by")
        batch.drop_column("restricted_note")
        batch.drop_column("restricted_reason")
        batch.drop_column("restricted_at")
    op.drop_index("ix_audit_events_action", table_name="audit_events")
    op.drop_index("ix_audit_events_actor", table_name="audit_events")
    op.drop_index("ix_audit_events_subject", table_name="audit_events")
    op.drop_index("ix_audit_events_business", table_name="audit_events")
    op.drop_table("audit_events")  # its triggers go with it
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_events_append_only()")
