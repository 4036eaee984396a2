"""practitioners, rooms and time off; appointments with a practitioner, a room and a seat (class places);
a calendar version per business

The unique backstop for "one slot, one booking" moves from the business's start times to each calendar's:
the business's own (appointments without a practitioner), each practitioner's and each room's, with a seat
so a class holds up to its capacity at one start.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 02:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import BigId, UTCDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = "status IN ('booked', 'confirmed')"


def _resource_table(name: str) -> None:
    op.create_table(
        name,
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("business_id", sa.String(64), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"pk_{name}"),
        sa.ForeignKeyConstraint(["business_id"], ["businesses.id"], name=f"fk_{name}_business_id_businesses"),
        sa.UniqueConstraint("business_id", "key", name=f"uq_{name}_business_id_key"),
    )
    op.create_index(f"ix_{name}_business_id", name, ["business_id"])


def upgrade() -> None:
    with op.batch_alter_table("businesses") as batch:
        batch.add_column(sa.Column("calendar_version", BigId, nullable=False, server_default=sa.text("0")))
    _resource_table("practitioners")
    _resource_table("rooms")
    op.create_table(
        "time_off",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("business_id", sa.String(64), nullable=False),
        sa.Column("practitioner_id", BigId, nullable=False),
        sa.Column("start_at", UTCDateTime(), nullable=False),
        sa.Column("end_at", UTCDateTime(), nullable=False),
        sa.Column("note", sa.String(200), nullable=True),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_time_off"),
        sa.ForeignKeyConstraint(
            ["business_id"], ["businesses.id"], name="fk_time_off_business_id_businesses"
        ),
        sa.ForeignKeyConstraint(
            ["practitioner_id"],
            ["practitioners.id"],
            name="fk_time_off_practitioner_id_practitioners",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_time_off_business_start", "time_off", ["business_id", "start_at"])
    op.create_index("ix_time_off_practitioner_id", "time_off", ["practitioner_id"])

    with op.batch_alter_table("appointments") as batch:
        batch.add_column(sa.Column("practitioner_id", BigId, nullable=True))
        batch.add_column(sa.Column("room_id", BigId, nullable=True))
        batch.add_column(sa.Column("seat", sa.Integer(), nullable=False, server_default=sa.text("1")))
        batch.add_column(sa.Column("changed_in", BigId, nullable=False, server_default=sa.text("0")))
        batch.create_foreign_key(
            "fk_appointments_practitioner_id_practitioners", "practitioners", ["practitioner_id"], ["id"]
        )
        batch.create_foreign_key("fk_appointments_room_id_rooms", "rooms", ["room_id"], ["id"])
        batch.drop_index("uq_appointments_active_start")
    op.create_index("ix_appointments_business_changed", "appointments", ["business_id", "changed_in"])
    for name, columns, where in (
        ("uq_appointments_active_start", ["business_id", "start_at", "seat"], "practitioner_id IS NULL"),
        (
            "uq_appointments_active_practitioner_start",
            ["practitioner_id", "start_at", "seat"],
            "practitioner_id IS NOT NULL",
        ),
        ("uq_appointments_active_room_start", ["room_id", "start_at", "seat"], "room_id IS NOT NULL"),
    ):
        condition = sa.text(f"{ACTIVE} AND {where}")
        op.create_index(
            name, "appointments", columns, unique=True, sqlite_where=condition, postgresql_where=condition
        )


def downgrade() -> None:
    for name in (
        "uq_appointments_active_room_start",
        "uq_appointments_active_practitioner_start",
        "uq_appointments_active_start",
    ):
        op.drop_index(name, table_name="appointments")
    op.drop_index("ix_appointments_business_changed", table_name="appointments")
    with op.batch_alter_table("appointments") as batch:
        batch.drop_constraint("fk_appointments_room_id_rooms", type_="foreignkey")
        batch.drop_constraint("fk_appointments_practitioner_id_practitioners", type_="foreignkey")
        batch.drop_column("changed_in")
        batch.drop_column("seat")
        batch.drop_column("room_id")
        batch.drop_column("practitioner_id")
    op.create_index(
        "uq_appointments_active_start",
        "appointments",
        ["business_id", "start_at"],
        unique=True,
        sqlite_where=sa.text(ACTIVE),
        postgresql_where=sa.text(ACTIVE),
    )
    op.drop_table("time_off")
    op.drop_table("rooms")
    op.drop_table("practitioners")
    with op.batch_alter_table("businesses") as batch:
        batch.drop_column("calendar_version")
