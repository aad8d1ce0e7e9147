from fastapi import APIRouter, status

from api.deps import CurrentUser, Designer, SessionDep
from api.errors import Conflict, problems
from api.schemas.custom_fields import CustomFieldCreate, CustomFieldRead
from sequences import CONTACT_ATTRIBUTES
from store import custom_fields
from store.models import CustomField

router = APIRouter(
    prefix="/custom-fields", tags=["custom fields"], responses=problems(401, 403, 409, 422)
)


@router.post("", status_code=status.HTTP_201_CREATED)
async def declare_field(
    body: CustomFieldCreate, session: SessionDep, _: Designer
) -> CustomFieldRead:
    """Declare a custom contact field and its type."""
    if body.name in CONTACT_ATTRIBUTES:
        raise Conflict(f"{body.name!r} is a built-in contact attribute")
    if await session.get(CustomField, body.name) is not None:
        raise Conflict(f"custom field {body.name!r} already exists")
    field = CustomField(**body.model_dump())
    session.add(field)
    await session.flush()
    return CustomFieldRead.model_validate(field, from_attributes=True)


@router.get("")
async def list_fields(session: SessionDep, _: CurrentUser) -> list[CustomFieldRead]:
    """Every declared custom field."""
    return [
        CustomFieldRead.model_validate(f, from_attributes=True)
        for f in await custom_fields.all_fields(session)
    ]
