"""The encrypted columns as a whole: which keys their values are under (a survey), and moving every value
to the newest key in small batches (rotation), safe to stop and run again and safe beside running servers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from storage.db import Database
from storage.sealed import KEY_ID_LENGTH, PREFIX, Keyring, UnreadableValue, key_id_of

SHOWN_IDS = 20  # rows named per unreadable key; the rest are counted


@dataclass(frozen=True, slots=True)
class SealedColumn:
    table: str
    column: str
    row: str  # what one row is, for people: "client", "channel"

    @property
    def name(self) -> str:
        return f"{self.table}.{self.column}"

    def raw(self) -> sa.TableClause:
        """The table as plain text columns: values as stored, never decrypted or encrypted on the way."""
        return sa.table(self.table, sa.column("id", sa.BigInteger), sa.column(self.column, sa.Text))


# Every column models.py declares as `Sealed(...)`: rotation and the start-up check walk these.
SEALED_COLUMNS = (
    SealedColumn("channels", "access_token", "channel"),
    SealedColumn("clients", "notes", "client"),
)


@dataclass
class ColumnSurvey:
    """How the values of one column are stored: counted per key id; "" counts those not encrypted."""

    column: SealedColumn
    by_key: dict[str, int] = field(default_factory=dict)
    unknown_rows: dict[str, list[int]] = field(default_factory=dict)  # key id -> first row ids

    def under(self, keyring: Keyring) -> tuple[int, int, int]:
        """(on the newest key, to re-encrypt: older keys or not encrypted, under keys not configured)"""
        newest = self.by_key.get(keyring.newest_id, 0)
        unknown = sum(n for kid, n in self.by_key.items() if kid and kid not in keyring.ids)
        return newest, sum(self.by_key.values()) - newest - unknown, unknown


async def survey(db: Database, keyring: Keyring) -> list[ColumnSurvey]:
    """Count every encrypted column's values by the key they are under (one grouped scan per column), and
    name the first rows under each key the keyring does not hold."""
    found = []
    async with db.read() as session:
        for sealed in SEALED_COLUMNS:
            t = sealed.raw()
            value = t.c[sealed.column]
            head = sa.case(
                (value.like(PREFIX + "%"), sa.func.substr(value, len(PREFIX) + 1, KEY_ID_LENGTH)),
                else_=sa.literal(""),
            ).label("kid")
            rows = await session.execute(
                sa.select(head, sa.func.count()).where(value.is_not(None)).group_by(head)
            )
            result = ColumnSurvey(sealed, {str(kid): int(n) for kid, n in rows})
            for kid in sorted(k for k in result.by_key if k and k not in keyring.ids):
                ids = await session.scalars(
                    sa.select(t.c.id).where(value.like(f"{PREFIX}{kid}:%")).order_by(t.c.id).limit(SHOWN_IDS)
                )
                result.unknown_rows[kid] = list(ids)
            found.append(result)
    return found


@dataclass
class ColumnRotation:
    """What one pass over a column did."""

    column: SealedColumn
    reencrypted: int = 0  # from an older key
    encrypted: int = 0  # found not encrypted (written by a release before encryption at rest)
    unreadable: dict[str, list[int]] = field(default_factory=dict)  # key id ("" damaged) -> row ids


async def rotate_column(
    db: Database,
    keyring: Keyring,
    sealed: SealedColumn,
    *,
    batch_size: int = 500,
    plain_only: bool = False,
    after: int = 0,
    batches: int | None = None,
) -> ColumnRotation:
    """Re-encrypt every value of the column not under the newest key, `batch_size` rows per transaction
    (`batches` of them at most; None: to the end). Each row is written only if it still holds what was
    read, so an edit made meanwhile (already under the newest key) is never overwritten. Values under a
    key the keyring lacks are left as they are and reported. `plain_only`: only values not encrypted."""
    t = sealed.raw()
    value = t.c[sealed.column]
    pending = value.not_like(PREFIX + "%") if plain_only else value.not_like(f"{PREFIX}{keyring.newest_id}:%")
    done = ColumnRotation(sealed)
    while batches is None or batches > 0:
        batches = None if batches is None else batches - 1
        async with db.write() as session:
            rows = (
                await session.execute(
                    sa.select(t.c.id, value)
                    .where(value.is_not(None), pending, t.c.id > after)
                    .order_by(t.c.id)
                    .limit(batch_size)
                )
            ).all()
            if not rows:
                break
            for row_id, stored in rows:
                kid = key_id_of(stored)
                try:
                    plain = stored if kid is None else keyring.open(stored, sealed.name)
                except UnreadableValue:
                    # Under a key not configured, or damaged ("") under one that is.
                    done.unreadable.setdefault(kid if kid not in keyring.ids else "", []).append(row_id)
                    continue
                changed = await session.execute(
                    sa.update(t)
                    .where(t.c.id == row_id, value == stored)
                    .values({sealed.column: keyring.seal(plain, sealed.name)})
                )
                if changed.rowcount:
                    if kid is None:
                        done.encrypted += 1
                    else:
                        done.reencrypted += 1
            after = rows[-1][0]
    return done
