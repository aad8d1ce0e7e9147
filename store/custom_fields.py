"""Declared custom contact fields."""

from collections.abc import Sequence as Seq

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store.models import CustomField


async def all_fields(session: AsyncSession) -> Seq[CustomField]:
    return (await session.scalars(select(CustomField).order_by(col(CustomField.name)))).all()


async def field_types(session: AsyncSession) -> dict[str, str]:
    return {field.name: field.type for field in await all_fields(session)}
