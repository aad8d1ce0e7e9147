import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from api.schemas.common import RequestBody
from store.models import Role

DailyCap = Annotated[
    int | None,
    Field(
        ge=0,
        le=1_000_000,
        strict=True,  # a number: not true, not "5"
        description="Most messages a day sequences send in this user's name; null: no cap.",
    ),
]


class UserCreate(RequestBody):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    name: str = Field(default="", max_length=200)
    role: Role
    daily_send_cap: DailyCap = None


class UserUpdate(RequestBody):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    daily_send_cap: DailyCap = None


class UserRead(BaseModel):
    id: uuid.UUID
    email: str
    name: str
    role: Role
    daily_send_cap: int | None
    created_at: datetime


class ApiKeyRead(BaseModel):
    id: uuid.UUID
    user_id: uuid.UUID
    prefix: str = Field(description="The key's first characters, to tell keys apart.")
    created_at: datetime
    revoked_at: datetime | None


class NewApiKey(ApiKeyRead):
    key: str = Field(description="Shown only now; store it safely.")


class ShareBody(RequestBody):
    model_config = ConfigDict(extra="forbid")

    user_id: uuid.UUID
