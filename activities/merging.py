"""The values merge fields render to: the contact, its owner and its company."""

from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Company, Contact, User


async def merge_values(session: AsyncSession, contact: Contact) -> dict[str, str]:
    owner = await session.get(User, contact.owner_id) if contact.owner_id else None
    company = await session.get(Company, contact.company_id) if contact.company_id else None
    values = {
        "contact.first_name": contact.first_name,
        "contact.last_name": contact.last_name,
        "contact.full_name": contact.full_name,
        "contact.email": contact.email or "",
        "contact.phone": contact.phone or "",
        "owner.name": owner.name if owner else "",
        "owner.email": owner.email if owner else "",
        "company.name": company.name if company else "",
    }
    for name, value in contact.fields.items():
        values[f"contact.fields.{name}"] = "" if value is None else str(value)
    return values
