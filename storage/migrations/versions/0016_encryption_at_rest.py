"""encryption at rest: channels.access_token (encrypted), and the client notes stored before it encrypted

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 09:00:00
"""

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

from storage.sealed import Keyring, NoKeys, key_id_of, keyring_of

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CLIENTS = sa.table("clients", sa.column("id", sa.BigInteger), sa.column("notes", sa.Text))
_BATCH = 500


def upgrade() -> None:
    with op.batch_alter_table("channels") as batch:
        batch.add_column(sa.Column("access_token", sa.Text(), nullable=True))
    # Notes staff wrote before this release are plain text: encrypted here, in the upgrade's transaction.
    _each_note(lambda keyring, value: None if key_id_of(value) else keyring.seal(value, "clients.notes"))


def downgrade() -> None:
    # The release before this one reads notes as plain text.
    _each_note(lambda keyring, value: keyring.open(value, "clients.notes") if key_id_of(value) else None)
    with op.batch_alter_table("channels") as batch:
        batch.drop_column("access_token")


def _each_note(change: Callable[[Keyring, str], str | None]) -> None:
    """`change` each stored note (None: leave it) with the keys the process was started with; with none,
    and a note to change, the migration stops and changes nothing."""
    bind = op.get_bind()
    after = 0
    while True:
        rows = bind.execute(
            sa.select(_CLIENTS.c.id, _CLIENTS.c.notes)
            .where(_CLIENTS.c.notes.is_not(None), _CLIENTS.c.id > after)
            .order_by(_CLIENTS.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        for row in rows:
            try:
                changed = change(keyring_of(bind.dialect), row.notes)
            except NoKeys:
                raise NoKeys(
                    "the client notes already stored are encrypted in this step, and no encryption key "
                    "is configured: add one to [security] encryption_keys (jola keys new makes one)"
                ) from None
            if changed is not None:
                bind.execute(sa.update(_CLIENTS).where(_CLIENTS.c.id == row.id).values(notes=changed))
        after = rows[-1].id
