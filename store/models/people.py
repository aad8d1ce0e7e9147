"""Users and their keys; contacts, their companies, tags and custom fields."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, DateTime
from sqlmodel import Field, SQLModel

from store.models.columns import json_column, optional_timestamp, timestamp


class Role(StrEnum):
    admin = "admin"
    manager = "manager"
    rep = "rep"
    integration = "integration"


class User(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    email: str = Field(unique=True, max_length=320)
    name: str = Field(default="", max_length=200)
    role: Role = Field(max_length=20)
    daily_send_cap: int | None = Field(
        default=None, ge=0, description="Most messages a day sent in this user's name."
    )
    # An argon2id hash, for signing in to the web app; None until the user sets a password.
    password_hash: str | None = Field(default=None, max_length=200)
    # An IANA name: the person's day and times in the web app; None is UTC.
    timezone: str | None = Field(default=None, max_length=64)
    created_at: datetime = timestamp()


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    # Only a SHA-256 of the key is kept: keys are long random strings, so a fast hash is enough.
    key_hash: str = Field(unique=True, max_length=64)
    prefix: str = Field(max_length=16)
    created_at: datetime = timestamp()
    revoked_at: datetime | None = optional_timestamp()


class WebSession(SQLModel, table=True):
    """A person signed in to the web app. Only a SHA-256 of the cookie's token is kept, as for
    API keys; the CSRF token is the one every form of the session must send back."""

    __tablename__ = "web_session"

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: uuid.UUID = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    csrf_token: str = Field(max_length=64)
    created_at: datetime = timestamp()
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class SignInLink(SQLModel, table=True):
    """A one-time link sent by email that signs its user in (an invitation is one too)."""

    __tablename__ = "sign_in_link"

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: uuid.UUID = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    created_at: datetime = timestamp()
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    used_at: datetime | None = optional_timestamp()


class Company(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(max_length=200)
    owner_id: uuid.UUID | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = timestamp()


class Contact(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    email: str | None = Field(default=None, max_length=320, index=True)
    phone: str | None = Field(default=None, max_length=40)
    first_name: str = Field(default="", max_length=100)
    last_name: str = Field(default="", max_length=100)
    timezone: str | None = Field(default=None, max_length=64)
    owner_id: uuid.UUID | None = Field(
        default=None, foreign_key="user.id", index=True, ondelete="SET NULL"
    )
    company_id: uuid.UUID | None = Field(
        default=None, foreign_key="company.id", index=True, ondelete="SET NULL"
    )
    fields: dict[str, Any] = json_column({})
    fax: str | None = Field(default=None, max_length=40)
    mailing_address: dict[str, Any] = json_column({})
    do_not_contact: list[str] = json_column([])
    created_at: datetime = timestamp()

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)

    @property
    def display_name(self) -> str:
        return self.full_name or self.email or str(self.id)


class Tag(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(unique=True, max_length=100)
    created_at: datetime = timestamp()


class ContactTag(SQLModel, table=True):
    __tablename__ = "contact_tag"

    contact_id: uuid.UUID = Field(foreign_key="contact.id", primary_key=True, ondelete="CASCADE")
    tag_id: uuid.UUID = Field(foreign_key="tag.id", primary_key=True, ondelete="CASCADE")
    applied_at: datetime = timestamp()


class CustomField(SQLModel, table=True):
    """A custom contact field, declared so sequences can be checked against its type."""

    __tablename__ = "custom_field"

    name: str = Field(primary_key=True, max_length=64)
    type: str = Field(max_length=20)
    label: str = Field(default="", max_length=200)
    created_at: datetime = timestamp()
