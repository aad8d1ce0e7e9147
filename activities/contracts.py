"""What workflows and activities pass each other: small models of ids and values, never ORM rows.

Pure on purpose: the workflow sandbox imports this module.
"""

from datetime import date, datetime, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, Field

from sequences import (
    ApplyTagStep,
    Channel,
    Check,
    CommunicationStep,
    DateTimerStep,
    DelayStep,
    EmailStep,
    EventTimerStep,
    FieldTimerStep,
    PersonStep,
    ProcessStep,
    Recipient,
    SendTo,
    SequenceSettings,
)
from sequences.sending import Sender, Sending


class EnrollmentRef(BaseModel):
    """Who an effect belongs to, and the key that makes it happen at most once."""

    enrollment_id: str
    contact_id: str
    effect_key: str


class SendMessageInput(BaseModel):
    ref: EnrollmentRef
    channel: Channel
    subject: str
    body: str
    html: str | None = None
    send_to: SendTo = Field(default_factory=SendTo)
    sender: Sender = Field(default_factory=Sender)
    tracked: bool = Field(default=False, description="With an open pixel and tracked links.")
    thread_of: str | None = Field(default=None, description="The step whose thread it continues.")


class MessageResult(BaseModel):
    message_id: str | None = None
    to_address: str | None = None
    skipped: str | None = Field(default=None, description="Why nothing was sent.")


class ApplyTagInput(BaseModel):
    ref: EnrollmentRef
    tag: str


class ApplyTagResult(BaseModel):
    tag: str
    applied: bool = Field(description="False when the contact already had the tag.")


class EnrollmentEventRecord(BaseModel):
    effect_key: str
    kind: str
    occurred_at: datetime
    track_id: str | None = None
    step_id: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class ProjectionUpdate(BaseModel):
    """The enrollment row as the workflow sees it now, plus the event that changed it (none
    where only the row changes: a track began to wait)."""

    enrollment_id: str
    sequence_id: str
    version: int
    contact_id: str
    workflow_id: str
    enrolled_by: str | None
    revision: int
    status: str
    current_step: str | None
    outcome: str | None = None
    failure_reason: str | None
    ended_at: datetime | None
    next_due_at: datetime | None = None
    at: datetime = Field(description="When the workflow made the change.")
    event: EnrollmentEventRecord | None


class ProjectionBatch(BaseModel):
    updates: list[ProjectionUpdate]


class TimerInput(BaseModel):
    contact_id: str
    step: Annotated[
        DelayStep | DateTimerStep | FieldTimerStep | EventTimerStep, Field(discriminator="kind")
    ]
    now: datetime
    settings: SequenceSettings
    event_date: date | None = None


class DueTime(BaseModel):
    at: datetime | None = None
    skipped: str | None = Field(default=None, description="Why the timer will not fire.")


class CreateTaskInput(BaseModel):
    ref: EnrollmentRef
    workflow_id: str
    step: Annotated[PersonStep, Field(discriminator="kind")]
    enrolled_by: str | None
    now: datetime


class CreatedTask(BaseModel):
    task_id: str
    assigned_to: str | None


class CloseTaskInput(BaseModel):
    """A person's result for one to-do; status is completed, or skipped or cancelled (result
    None)."""

    task_id: str
    status: str
    result: str | None
    notes: str = ""
    closed_by: str | None
    at: datetime


class CloseOpenTasksInput(BaseModel):
    """Close an enrollment's open to-dos as its stop asked."""

    enrollment_id: str
    status: str
    result: str | None
    closed_by: str | None
    assigned_to: str | None
    at: datetime


class ConditionInput(BaseModel):
    contact_id: str
    check: Check
    enrollment_id: str | None = Field(
        default=None, description="Whose steps a check on what the contact did may name."
    )


class ProcessInput(BaseModel):
    ref: EnrollmentRef
    step: Annotated[ProcessStep, Field(discriminator="kind")]
    sequence_id: str
    enrolled_by: str | None
    now: datetime


class HttpPostInput(BaseModel):
    ref: EnrollmentRef
    url: str
    fields: dict[str, str]


class HttpPostResult(BaseModel):
    status_code: int


class TagAndAnnounceInput(ApplyTagInput):
    enrolled_by: str | None
    announcer: str = Field(description="The workflow that already knows, so it is not signalled.")


class FanOutInput(BaseModel):
    """Something the contact did, to tell its enrollments and sequence goals once the
    transaction that recorded it has committed."""

    transaction: int = Field(description="The recording transaction's PostgreSQL id.")
    contact_id: str
    event: str
    name: str | None
    enrolled_by: str | None = Field(description="Goals enroll on this user's behalf; none, none.")
    message_id: str | None = Field(default=None, description="The message it is about, if any.")
    url: str | None = Field(default=None, description="The link clicked or the page visited.")


class FanOutResult(BaseModel):
    committed: bool
    told: int = 0
    enrolled: list[str] = Field(default_factory=list)


class RemovalInput(BaseModel):
    enrollment_id: str
    workflow_id: str
    running: bool = Field(description="Whether the projection last showed its run running.")


class DeliverInput(BaseModel):
    message_id: str


class DeliverResult(BaseModel):
    status: str


class ReserveInput(BaseModel):
    ref: EnrollmentRef
    message_id: str
    channel: Channel
    sequence_id: str
    sending: Sending
    timezone: str | None = Field(description="The sequence's, for contacts without one.")
    now: datetime


class Reservation(BaseModel):
    send_at: datetime
    reason: str | None = Field(default=None, description="Why the message waits, if it does.")


class DispatchInput(SendMessageInput):
    """A communication to record, place under the sending limits and hand over if it may go now."""

    sequence_id: str
    sending: Sending
    timezone: str | None = Field(description="The sequence's, for contacts without one.")
    now: datetime

    @classmethod
    def of_step(
        cls,
        step: CommunicationStep,
        ref: EnrollmentRef,
        *,
        sequence_id: str,
        sending: Sending,
        timezone: str | None,
        now: datetime,
    ) -> "DispatchInput":
        subject, body = step.subject_and_body()
        email = isinstance(step, EmailStep)
        return cls(
            ref=ref,
            channel=step.channel,
            subject=subject,
            body=body,
            html=step.html if isinstance(step, EmailStep) else None,
            send_to=step.send_to,
            sender=sending.sender,
            tracked=email and sending.tracking and step.send_to.who == Recipient.contact,
            thread_of=step.thread_of if isinstance(step, EmailStep) else None,
            sequence_id=sequence_id,
            sending=sending,
            timezone=timezone,
            now=now,
        )


class Dispatched(MessageResult):
    send_at: datetime | None = Field(default=None, description="When the message may go.")
    held_because: str | None = None
    status: str | None = Field(
        default=None, description="The delivery's; None while the message still waits to go."
    )

    def step_detail(self) -> dict[str, Any] | None:
        """What its step records, once the message needs nothing more; None while it waits."""
        if self.skipped or self.message_id is None:
            return {"skipped": self.skipped} if self.skipped else {}
        return {"message": self.status} if self.status is not None else None


class RunStep(BaseModel):
    """One step of a run: what to do, and the key that makes it happen at most once."""

    step: Annotated[CommunicationStep | ApplyTagStep | ProcessStep, Field(discriminator="kind")]
    effect_key: str
    record: ProjectionUpdate | None = Field(
        default=None,
        description="Its step_completed update, written (with the detail filled in) once every "
        "step of the run is done.",
    )


class StepRunInput(BaseModel):
    """Steps that follow one another with nothing to wait for, run in one call."""

    enrollment_id: str
    contact_id: str
    sequence_id: str
    enrolled_by: str | None
    announcer: str = Field(description="The enrollment's workflow, which hears its own tags.")
    sending: Sending
    timezone: str | None = Field(description="The sequence's, for contacts without one.")
    now: datetime
    steps: list[RunStep]
    queued: list[ProjectionUpdate] = Field(
        default_factory=list, description="Updates the workflow had queued, written with them."
    )
    then_waits: timedelta | None = Field(
        default=None,
        description="How long the step after the run waits (a delay, an event wait), counted "
        "from the run's end, for the projection to show when it ends.",
    )
    ending: ProjectionUpdate | None = Field(
        default=None,
        description="The enrollment's end, where the run ends it: written after the steps' "
        "records, as of the run's end, once every step is done.",
    )


class StepOutcome(BaseModel):
    step_id: str
    detail: dict[str, Any] = Field(default_factory=dict, description="What to record of it.")
    tag_applied: str | None = Field(default=None, description="A tag the contact did not have.")
    waiting: Dispatched | None = Field(
        default=None, description="A message recorded that has yet to go: the run ends there."
    )
    failure: str | None = Field(
        default=None, description="Why the step failed for good: the run ends there."
    )

    @property
    def finished(self) -> bool:
        return self.waiting is None and self.failure is None


class StepRunResult(BaseModel):
    outcomes: list[StepOutcome]
    projected: bool = Field(description="Whether the run wrote the projection it was given.")
    finished_at: datetime | None = Field(
        default=None, description="When the run ended, where the wait after it counts from."
    )
    next_due_at: datetime | None = Field(default=None, description="As the run projected it.")
