import uuid

from fastapi import APIRouter, status

from api.deps import Admin, SessionDep
from api.errors import Conflict, Invalid, NotFound, problems
from api.schemas.users import ApiKeyRead, NewApiKey, UserCreate, UserRead, UserUpdate
from store import users
from store.models import User, utcnow

router = APIRouter(tags=["users"], responses=problems(401, 403, 404, 409, 422))


async def _user_or_404(session: SessionDep, user_id: uuid.UUID) -> User:
    user = await users.get_user(session, user_id)
    if user is None:
        raise NotFound.of("user", user_id)
    return user


@router.post("/users", status_code=status.HTTP_201_CREATED)
async def create_user(body: UserCreate, session: SessionDep, _: Admin) -> UserRead:
    """Create a user: an admin, manager, rep or integration."""
    if await users.email_taken(session, body.email):
        raise Conflict(f"a user with email {body.email} already exists")
    user = await users.create_user(session, email=body.email, role=body.role, name=body.name)
    user.daily_send_cap = body.daily_send_cap
    await session.flush()
    return UserRead.model_validate(user, from_attributes=True)


@router.patch("/users/{user_id}")
async def update_user(
    user_id: uuid.UUID, body: UserUpdate, session: SessionDep, _: Admin
) -> UserRead:
    """Change a user's name or daily sending cap; fields left out stay as they are."""
    user = await _user_or_404(session, user_id)
    for name, value in body.model_dump(exclude_unset=True).items():
        if name == "name" and value is None:
            raise Invalid("name: give a name, or leave it out")
        setattr(user, name, value)
    await session.flush()
    return UserRead.model_validate(user, from_attributes=True)


@router.get("/users")
async def list_users(session: SessionDep, _: Admin) -> list[UserRead]:
    """Every user."""
    return [
        UserRead.model_validate(u, from_attributes=True) for u in await users.list_users(session)
    ]


@router.post("/users/{user_id}/api-keys", status_code=status.HTTP_201_CREATED)
async def issue_key(user_id: uuid.UUID, session: SessionDep, _: Admin) -> NewApiKey:
    """Issue an API key for a user; the key is in this answer only."""
    user = await _user_or_404(session, user_id)
    key = await users.issue_api_key(session, user.id)
    stored = (await users.keys_of(session, user.id))[-1]
    return NewApiKey.model_validate({**stored.model_dump(), "key": key})


@router.get("/users/{user_id}/api-keys")
async def list_keys(user_id: uuid.UUID, session: SessionDep, _: Admin) -> list[ApiKeyRead]:
    """A user's keys, by prefix; the keys themselves are never shown again."""
    await _user_or_404(session, user_id)
    return [
        ApiKeyRead.model_validate(k, from_attributes=True)
        for k in await users.keys_of(session, user_id)
    ]


@router.delete("/api-keys/{key_id}")
async def revoke_key(key_id: uuid.UUID, session: SessionDep, _: Admin) -> ApiKeyRead:
    """Revoke a key at once."""
    key = await users.get_key(session, key_id)
    if key is None:
        raise NotFound.of("API key", key_id)
    if key.revoked_at is not None:
        raise Conflict(f"API key {key_id} is already revoked")
    key.revoked_at = utcnow()
    await session.flush()
    return ApiKeyRead.model_validate(key, from_attributes=True)
