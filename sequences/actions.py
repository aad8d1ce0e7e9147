"""Steps that do something to or for the contact: communications and CRM processes."""

import uuid
from datetime import timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, ClassVar, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    StringConstraints,
    model_validator,
)

from sequences.base import HeaderText, StepBase, StepId, Template
from sequences.manual import AssignTo, Wait

TagName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
FieldKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]


class Recipient(StrEnum):
    contact = "contact"
    owner = "owner"
    user = "user"
    address = "address"


class SendTo(BaseModel):
    """Who receives a communication: the contact, or a staff member notified about the contact."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    who: Recipient = Recipient.contact
    user_id: uuid.UUID | None = Field(default=None, description="When who is 'user'.")
    address: HeaderText | None = Field(
        default=None,
        max_length=320,
        description="An email address or number, when who is 'address'.",
    )

    @model_validator(mode="after")
    def _target_given(self) -> Self:
        if (self.who == Recipient.user) != (self.user_id is not None):
            raise ValueError("give user_id exactly when who is 'user'")
        if (self.who == Recipient.address) != bool(self.address):
            raise ValueError("give address exactly when who is 'address'")
        return self


class Channel(StrEnum):
    email = "email"
    sms = "sms"
    voice = "voice"
    fax = "fax"
    letter = "letter"


class _Communication(StepBase):
    channel: ClassVar[Channel]

    send_to: SendTo = Field(default_factory=SendTo)

    @model_validator(mode="after")
    def _staff_by_email(self) -> Self:
        if self.send_to.who in (Recipient.owner, Recipient.user) and self.channel != Channel.email:
            raise ValueError(
                f"a {self.channel.value} to a staff member needs send_to.who 'address' with a number"
            )
        return self

    def subject_and_body(self) -> tuple[str, str]:
        raise NotImplementedError


class EmailStep(_Communication):
    """Send an email; subject and bodies are templates with merge fields like `{{ contact.first_name }}`."""

    channel: ClassVar[Channel] = Channel.email
    kind: Literal["email"] = "email"
    subject: Annotated[Template, StringConstraints(max_length=998)] | None = Field(
        default=None, description="Required unless the email continues a thread."
    )
    thread_of: StepId | None = Field(
        default=None,
        description="An earlier email step of this sequence: this email replies in its thread "
        "(In-Reply-To, References, and 'Re:' its subject unless one is given).",
    )
    body: Annotated[Template, StringConstraints(max_length=100_000)] = Field(
        description="The plain-text part."
    )
    html: Annotated[Template, StringConstraints(max_length=500_000)] | None = Field(
        default=None, description="An HTML part beside the text; merged values are escaped."
    )

    @model_validator(mode="after")
    def _has_subject(self) -> Self:
        if self.subject is None and self.thread_of is None:
            raise ValueError("an email needs a subject, unless it continues a thread (thread_of)")
        return self

    def subject_and_body(self) -> tuple[str, str]:
        return self.subject or "", self.body


class SmsStep(_Communication):
    """Send a text message."""

    channel: ClassVar[Channel] = Channel.sms
    kind: Literal["sms"] = "sms"
    text: Annotated[Template, StringConstraints(max_length=1600)]

    def subject_and_body(self) -> tuple[str, str]:
        return "", self.text


class VoiceStep(_Communication):
    """Place a call that plays a recorded or spoken message."""

    channel: ClassVar[Channel] = Channel.voice
    kind: Literal["voice"] = "voice"
    script: Annotated[Template, StringConstraints(max_length=10_000)]

    def subject_and_body(self) -> tuple[str, str]:
        return "", self.script


class FaxStep(_Communication):
    channel: ClassVar[Channel] = Channel.fax
    kind: Literal["fax"] = "fax"
    cover: Annotated[str, StringConstraints(max_length=200)] = ""
    body: Annotated[Template, StringConstraints(max_length=100_000)]

    def subject_and_body(self) -> tuple[str, str]:
        return self.cover, self.body


class LetterStep(_Communication):
    """A printed letter to the contact's mailing address, queued for fulfilment."""

    channel: ClassVar[Channel] = Channel.letter
    kind: Literal["letter"] = "letter"
    body: Annotated[Template, StringConstraints(max_length=100_000)]

    def subject_and_body(self) -> tuple[str, str]:
        return "", self.body


CommunicationStep = EmailStep | SmsStep | VoiceStep | FaxStep | LetterStep


class ApplyTagStep(StepBase):
    """Apply a tag to the contact, creating the tag if it does not exist yet."""

    kind: Literal["apply_tag"] = "apply_tag"
    tag: TagName


class RemoveTagStep(StepBase):
    kind: Literal["remove_tag"] = "remove_tag"
    tag: TagName


class NoteStep(StepBase):
    """Add a date-stamped system note to the contact's record."""

    kind: Literal["note"] = "note"
    body: Annotated[Template, StringConstraints(max_length=20_000)]


class CreateTaskStep(StepBase):
    """Put a to-do on someone's list without waiting for it (see `task` to wait)."""

    kind: Literal["create_task"] = "create_task"
    title: Annotated[Template, StringConstraints(max_length=300)]
    instructions: str = Field(default="", max_length=10_000)
    assign_to: AssignTo = Field(default_factory=AssignTo)
    due_in: Wait = Field(default=timedelta(days=1))


class AppointmentStep(StepBase):
    """Book an appointment with the contact on the owner's calendar."""

    kind: Literal["appointment"] = "appointment"
    title: Annotated[Template, StringConstraints(max_length=300)]
    starts_in: Wait
    duration: Wait
    location: str = Field(default="", max_length=300)
    assign_to: AssignTo = Field(default_factory=AssignTo)


class SetFieldStep(StepBase):
    """Set a contact attribute or custom field; text values take merge fields."""

    kind: Literal["set_field"] = "set_field"
    field: FieldKey
    value: Annotated[Template, StringConstraints(max_length=5000)] | float | bool | None


class AssignOwnerStep(StepBase):
    """Make a user the contact's owner, or deal contacts out in turn among several users."""

    kind: Literal["assign_owner"] = "assign_owner"
    round_robin: list[uuid.UUID] = Field(min_length=1, max_length=100)


class OpportunityStep(StepBase):
    kind: Literal["opportunity"] = "opportunity"
    title: Annotated[Template, StringConstraints(max_length=300)]
    stage: Annotated[str, StringConstraints(min_length=1, max_length=100)] = "new"
    value: Decimal = Field(default=Decimal(0), ge=0, max_digits=14, decimal_places=2)
    assign_to: AssignTo = Field(default_factory=AssignTo)


class FulfillmentStep(StepBase):
    """Add the contact (and its mailing address) to a fulfilment list, e.g. for a gift."""

    kind: Literal["fulfillment"] = "fulfillment"
    list_name: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class OrderItem(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    quantity: int = Field(ge=1, le=100_000)
    unit_price: Decimal = Field(ge=0, max_digits=14, decimal_places=2)


class Payment(StrEnum):
    invoice = "invoice"
    autocharge = "autocharge"


class OrderStep(StepBase):
    kind: Literal["order"] = "order"
    items: list[OrderItem] = Field(min_length=1, max_length=100)
    payment: Payment = Payment.invoice


class HttpPostStep(StepBase):
    """POST the given name/value pairs (merge fields allowed) to another system."""

    kind: Literal["http_post"] = "http_post"
    url: HttpUrl
    fields: dict[FieldKey, Annotated[Template, StringConstraints(max_length=5000)]] = Field(
        default_factory=dict, max_length=100
    )


# Applying a tag has its own activity (it is announced to the contact's other enrollments).
ProcessStep = (
    RemoveTagStep
    | NoteStep
    | CreateTaskStep
    | AppointmentStep
    | SetFieldStep
    | AssignOwnerStep
    | OpportunityStep
    | FulfillmentStep
    | OrderStep
)
