import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import RequestBody
from store.models import SequenceStatus

DEFINITION_EXAMPLE = {
    "notes": "Welcome series for new leads",
    "tracks": [
        {
            "id": "main",
            "steps": [
                {"id": "wait", "kind": "delay", "duration": "P1D"},
                {
                    "id": "welcome",
                    "kind": "email",
                    "subject": "Welcome, {{ contact.first_name }}",
                    "body": "Hi {{ contact.first_name }}, thanks for signing up.",
                },
                {"id": "tag", "kind": "apply_tag", "tag": "welcomed"},
            ],
        }
    ],
}


class SequenceWrite(RequestBody):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    # Validated by sequences.parse_definition so errors name the step and field at fault.
    definition: dict[str, Any] = Field(examples=[DEFINITION_EXAMPLE])


class VersionSummary(BaseModel):
    version: int
    published_at: datetime


class SequenceRead(BaseModel):
    id: uuid.UUID
    name: str
    status: SequenceStatus
    definition: dict[str, Any] = Field(
        description="The draft; edits never touch published versions."
    )
    latest_version: int | None
    created_at: datetime
    updated_at: datetime
    versions: list[VersionSummary] = Field(default_factory=list)


class SequenceSummary(BaseModel):
    id: uuid.UUID
    name: str
    status: SequenceStatus
    latest_version: int | None
    updated_at: datetime


class VersionRead(BaseModel):
    sequence_id: uuid.UUID
    version: int
    definition: dict[str, Any]
    published_at: datetime


class EngagementRates(BaseModel):
    """Each over the messages sent; click_to_open over people's opens. None: nothing sent."""

    delivered: float | None
    bounced: float | None
    opened: float | None
    machine_opened: float | None
    clicked: float | None
    replied: float | None
    unsubscribed: float | None
    click_to_open: float | None


class StepEngagement(BaseModel):
    sent: int = Field(description="Messages handed to their channel.")
    delivered: int = Field(description="Sent and not bounced.")
    bounced: int
    opened: int = Field(description="Messages a person opened (machine opens apart).")
    machine_opened: int = Field(
        description="Messages whose images only a machine fetched (a privacy proxy, a scanner)."
    )
    clicked: int = Field(description="Messages in which a person clicked a link.")
    replied: int
    unsubscribed: int
    links: dict[str, int] = Field(description="Per URL, the messages in which a person clicked it.")
    rates: EngagementRates


class StepReport(BaseModel):
    reached: int = Field(description="Enrollments that arrived at the step.")
    waiting: int = Field(description="Active enrollments standing at the step now.")
    completed: int
    messages: dict[str, int] = Field(
        description="Messages handed to their channel (sent, delivered or bounced), by channel."
    )
    queued: dict[str, int] = Field(
        description="Messages waiting to be sent (no provider yet, held), by channel."
    )
    task_results: dict[str, int] = Field(description="To-do results, by result.")
    engagement: StepEngagement | None = Field(
        default=None, description="What the step's messages achieved; for steps that sent any."
    )


class SequenceReport(BaseModel):
    enrolled: int
    active: int
    stopped: int
    completed: int
    failed: int
    outcomes: dict[str, int]
    steps: dict[str, StepReport]
