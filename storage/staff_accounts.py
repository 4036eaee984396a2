"""Staff accounts and failed logins: who may use the web app, and how often someone guessed wrong."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Business, LoginFailure, Staff

ROLES = ("owner", "staff")


@dataclass(frozen=True, slots=True)
class StaffView:
    """A staff member as the web app sees one (never the password hash)."""

    id: int
    business_id: str
    email: str
    name: str
    role: str
    locale: str
    session_version: int
    active: bool
    practitioner: str | None = None

    @property
    def is_owner(self) -> bool:
        return self.role == "owner"


@dataclass(frozen=True, slots=True)
class StaffLogin:
    """What checking a password needs."""

    id: int
    password_hash: str
    active: bool


class AccountExists(Exception):
    """An account with that email exists already (on any business: one account per address)."""


class UnknownBusiness(Exception):
    pass


def normal_email(email: str) -> str:
    return email.strip().casefold()


_VIEW = (
    Staff.id,
    Staff.business_id,
    Staff.email,
    Staff.name,
    Staff.role,
    Staff.locale,
    Staff.session_version,
    Staff.active,
    Staff.practitioner,
)


async def add_staff(
    session: AsyncSession,
    business_id: str,
    *,
    email: str,
    name: str,
    password_hash: str,
    role: str,
    locale: str,
    now: datetime,
    practitioner: str | None = None,
) -> int:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if await session.get(Business, business_id) is None:
        raise UnknownBusiness(business_id)
    try:
        async with session.begin_nested():
            result = await session.execute(
                insert(Staff)
                .values(
                    business_id=business_id,
                    email=normal_email(email),
                    name=name,
                    password_hash=password_hash,
                    role=role,
                    locale=locale,
                    session_version=0,
                    active=True,
                    practitioner=practitioner,
                    created_at=now,
                    updated_at=now,
                )
                .returning(Staff.id)
            )
            return int(result.scalar_one())
    except IntegrityError:
        raise AccountExists(normal_email(email)) from None


async def set_password(session: AsyncSession, email: str, password_hash: str, now: datetime) -> bool:
    """A new password ends every session signed with the old one."""
    result = await session.execute(
        update(Staff)
        .where(Staff.email == normal_email(email))
        .values(password_hash=password_hash, session_version=Staff.session_version + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)


async def login_of(session: AsyncSession, email: str) -> StaffLogin | None:
    row = (
        await session.execute(
            select(Staff.id, Staff.password_hash, Staff.active).where(Staff.email == normal_email(email))
        )
    ).first()
    return StaffLogin(*row) if row else None


async def staff_by_id(session: AsyncSession, staff_id: int) -> StaffView | None:
    row = (await session.execute(select(*_VIEW).where(Staff.id == staff_id))).first()
    return StaffView(*row) if row else None


async def colleagues(session: AsyncSession, business_id: str) -> list[StaffView]:
    """The business's active staff, by name: whom a conversation can be given to."""
    rows = await session.execute(
        select(*_VIEW)
        .where(Staff.business_id == business_id, Staff.active.is_(True))
        .order_by(Staff.name, Staff.id)
    )
    return [StaffView(*row) for row in rows]


async def count_staff(session: AsyncSession, business_id: str) -> int:
    result = await session.execute(select(func.count()).where(Staff.business_id == business_id))
    return int(result.scalar_one())


async def logged_in(session: AsyncSession, staff_id: int, password_hash: str | None, now: datetime) -> None:
    """Note the login; a hash made with older parameters is replaced by the fresh one."""
    values: dict[str, object] = {"last_login_at": now}
    if password_hash is not None:
        values["password_hash"] = password_hash
    await session.execute(
        update(Staff)
        .where(Staff.id == staff_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


async def note_failure(session: AsyncSession, keys: list[str], now: datetime) -> list[int]:
    ids = []
    for key in keys:
        result = await session.execute(
            insert(LoginFailure).values(key=key, failed_at=now).returning(LoginFailure.id)
        )
        ids.append(int(result.scalar_one()))
    return ids


async def end_sessions(session: AsyncSession, staff_id: int, now: datetime) -> None:
    await session.execute(
        update(Staff)
        .where(Staff.id == staff_id)
        .values(session_version=Staff.session_version + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )


async def failures_since(session: AsyncSession, key: str, since: datetime) -> int:
    result = await session.execute(
        select(func.count()).where(LoginFailure.key == key, LoginFailure.failed_at >= since)
    )
    return int(result.scalar_one())


async def forget_failures(
    session: AsyncSession,
    key: str | None = None,
    before: datetime | None = None,
    ids: list[int] | None = None,
) -> None:
    """A good login clears its account's count (and its own attempt); old failures are dropped."""
    query = delete(LoginFailure)
    if key is not None:
        query = query.where(LoginFailure.key == key)
    if ids is not None:
        query = query.where(LoginFailure.id.in_(ids))
    if before is not None:
        query = query.where(LoginFailure.failed_at < before)
    await session.execute(query.execution_options(synchronize_session=False))
