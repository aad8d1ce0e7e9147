import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field

from api.schemas.common import RequestBody
from sequences import Channel, known_timezone


class MailingAddress(RequestBody):
    model_config = ConfigDict(extra="forbid")

    line1: str = Field(min_length=1, max_length=200)
    line2: str = Field(default="", max_length=200)
    city: str = Field(min_length=1, max_length=100)
    region: str = Field(default="", max_length=100)
    postal_code: str = Field(default="", max_length=20)
    country: str = Field(default="", max_length=100)


class ContactCreate(RequestBody):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=40, pattern=r"^\+?[0-9 ()./-]{3,40}$")
    first_name: str = Field(default="", max_length=100)
    last_name: str = Field(default="", max_length=100)
    timezone: Annotated[str | None, AfterValidator(known_timezone)] = Field(
        default=None, max_length=64
    )
    owner_id: uuid.UUID | None = None
    company_id: uuid.UUID | None = None
    fields: dict[str, Any] = Field(default_factory=dict, max_length=200)
    fax: str | None = Field(default=None, max_length=40, pattern=r"^\+?[0-9 ()./-]{3,40}$")
    mailing_address: MailingAddress | None = None
    do_not_contact: list[Channel] = Field(
        default_factory=list, description="Channels the contact must not be contacted on."
    )


class ContactUpdate(ContactCreate):
    """Only the fields sent are changed."""

    first_name: str | None = Field(default=None, max_length=100)  # type: ignore[assignment]
    last_name: str | None = Field(default=None, max_length=100)  # type: ignore[assignment]
    fields: dict[str, Any] | None = Field(default=None, max_length=200)  # type: ignore[assignment]
    do_not_contact: list[Channel] | None = None  # type: ignore[assignment]


class ContactRead(BaseModel):
    id: uuid.UUID
    email: str | None
    phone: str | None
    first_name: str
    last_name: str
    timezone: str | None
    owner_id: uuid.UUID | None
    company_id: uuid.UUID | None
    fields: dict[str, Any]
    fax: str | None
    mailing_address: dict[str, Any]
    do_not_contact: list[str]
    created_at: datetime
    tags: list[str] = Field(default_factory=list)


class ContactList(BaseModel):
    items: list[ContactRead]
    total: int


class NoteRead(BaseModel):
    id: uuid.UUID
    enrollment_id: uuid.UUID | None
    kind: str = Field(description="`system` for notes sequences write.")
    body: str
    created_at: datetime


class MessageRead(BaseModel):
    id: uuid.UUID
    enrollment_id: uuid.UUID | None
    channel: str
    to_address: str
    subject: str
    body: str
    status: str
    status_detail: str | None = Field(default=None, description="Why it failed or bounced.")
    thread_of: uuid.UUID | None = Field(default=None, description="The message it replies after.")
    created_at: datetime
    sent_at: datetime | None = None
    opened_at: datetime | None = Field(default=None, description="First opened by a person.")
    machine_opened_at: datetime | None = Field(
        default=None, description="First fetched by a machine (a privacy proxy, a scanner)."
    )
    clicked_at: datetime | None = Field(default=None, description="First clicked by a person.")
    replied_at: datetime | None = None
    unsubscribed_at: datetime | None = None


class ContactEventRead(BaseModel):
    """Something the contact did, with what is known of it: the message, the URL, a reply's
    text, or why it was a machine's doing (`data.machine`)."""

    id: uuid.UUID
    event: str
    name: str | None
    data: dict[str, Any]
    occurred_at: datetime
