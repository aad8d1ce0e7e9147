import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from store.models import Role


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    name: str = Field(default="", max_length=200)
    role: Role


class UserRead(BaseModel):
    id: uuid.UUID
    email: str
    name: str
    role: Role
    created_at: datetime


class ApiKeyRead(BaseModel):
    id: uuid.UUID
    user_id: uuid.UUID
    prefix: str = Field(description="The key's first characters, to tell keys apart.")
    created_at: datetime
    revoked_at: datetime | None


class NewApiKey(ApiKeyRead):
    key: str = Field(description="Shown only now; store it safely.")


class ShareBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: uuid.UUID
