"""The values merge fields render to: the contact, its owner and its company."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Company, Contact, User


async def merge_values(session: AsyncSession, contact: Contact) -> dict[str, Any]:
    owner = await session.get(User, contact.owner_id) if contact.owner_id else None
    company = await session.get(Company, contact.company_id) if contact.company_id else None
    return {
        "contact": {
            "first_name": contact.first_name,
            "last_name": contact.last_name,
            "full_name": contact.full_name,
            "email": contact.email,
            "phone": contact.phone,
            "fields": dict(contact.fields),
        },
        "owner": {"name": owner.name, "email": owner.email} if owner else {},
        "company": {"name": company.name} if company else {},
    }
