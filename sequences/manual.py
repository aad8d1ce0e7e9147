"""Steps that wait on people and on the contact: reps' calls and tasks, contact events, and
conditions on the contact's record."""

import uuid
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal, Self, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    model_validator,
)

from sequences.base import (
    CONTINUE,
    IsoDuration,
    Outcome,
    StepBase,
    StepId,
    Template,
    Transition,
)

MAX_WAIT = timedelta(days=3660)


def _positive_wait(duration: timedelta) -> timedelta:
    if not timedelta(0) < duration <= MAX_WAIT:
        raise ValueError("must be a positive duration of at most ten years, e.g. P3D")
    return duration


Wait = Annotated[IsoDuration, AfterValidator(_positive_wait)]


class Assignee(StrEnum):
    initiating_user = "initiating_user"
    user = "user"
    contact_owner = "contact_owner"
    company_owner = "company_owner"


class AssignTo(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    who: Assignee = Assignee.contact_owner
    user_id: uuid.UUID | None = Field(default=None, description="Required when who is 'user'.")

    @model_validator(mode="after")
    def _user_given(self) -> Self:
        if (self.who == Assignee.user) != (self.user_id is not None):
            raise ValueError("give user_id exactly when who is 'user'")
        return self


_END_POSITIVE = Transition(end=Outcome.positive)
_END_NEGATIVE = Transition(end=Outcome.negative)


def _results_named(schema: dict[str, Any], step: type["ManualStep"]) -> None:
    """The schema names the results `outcomes` may steer, as editors need to know them."""
    schema["properties"]["outcomes"]["propertyNames"] = {"enum": list(step.RESULTS)}


class ManualStep(StepBase):
    """A to-do for a person; the sequence waits for its result."""

    model_config = ConfigDict(json_schema_extra=_results_named)
    waits: ClassVar[bool] = True
    # The results a person can report, and where each leads unless `outcomes` says otherwise.
    RESULTS: ClassVar[dict[str, Transition]]

    title: Annotated[Template, StringConstraints(max_length=300)]
    instructions: str = Field(default="", max_length=10_000)
    assign_to: AssignTo = Field(default_factory=AssignTo)
    due_in: Wait = Field(default=timedelta(days=1), description="When the to-do is due.")
    regarding_opportunity: bool = Field(
        default=False, description="Link the contact's most recent open opportunity."
    )
    outcomes: dict[str, Transition] = Field(
        default_factory=dict, description="Where a result leads, overriding the default."
    )

    @model_validator(mode="after")
    def _known_results(self) -> Self:
        unknown = sorted(set(self.outcomes) - set(self.RESULTS))
        if unknown:
            raise ValueError(
                f"unknown result(s) {', '.join(unknown)}; results are {', '.join(self.RESULTS)}"
            )
        return self

    def transition_for(self, result: str) -> Transition:
        return self.outcomes.get(result, self.RESULTS[result])

    def ways_out(self) -> dict[str, Transition]:
        return {result: self.transition_for(result) for result in self.RESULTS}


_TASK_RESULTS = {"none": CONTINUE, "positive": _END_POSITIVE, "negative": _END_NEGATIVE}


class CallStep(ManualStep):
    """A phone call for a rep."""

    RESULTS: ClassVar[dict[str, Transition]] = {
        "no_answer": CONTINUE,
        "left_voicemail": CONTINUE,
        "interested": _END_POSITIVE,
        "not_interested": _END_NEGATIVE,
    }
    kind: Literal["call"] = "call"


class TaskStep(ManualStep):
    """A task for a person."""

    RESULTS: ClassVar[dict[str, Transition]] = _TASK_RESULTS
    kind: Literal["task"] = "task"


class ManualEmailStep(ManualStep):
    """An email a rep writes personally; a task whose result steers the sequence."""

    RESULTS: ClassVar[dict[str, Transition]] = _TASK_RESULTS
    kind: Literal["manual_email"] = "manual_email"


class EventType(StrEnum):
    email_opened = "email_opened"
    link_clicked = "link_clicked"
    replied = "replied"
    auto_replied = "auto_replied"
    page_visited = "page_visited"
    form_submitted = "form_submitted"
    purchase = "purchase"
    unsubscribed = "unsubscribed"
    bounced = "bounced"
    tag_applied = "tag_applied"
    custom = "custom"


EventName = Annotated[str, StringConstraints(min_length=1, max_length=200)]


# Events about a message the contact was sent, which can name the step that sent it.
MESSAGE_EVENTS = frozenset(
    {
        EventType.email_opened,
        EventType.link_clicked,
        EventType.replied,
        EventType.auto_replied,
        EventType.bounced,
        EventType.unsubscribed,
    }
)


# Events that carry a URL: the link clicked, the page visited.
URL_EVENTS = frozenset({EventType.link_clicked, EventType.page_visited})


class EventMatch(BaseModel):
    """An event type, narrowed to one name (a page, a form, a tag, a custom event) if given,
    and for an event about a message, to the message one step of this enrollment sent."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event: EventType
    name: EventName | None = None
    step: StepId | None = Field(
        default=None,
        description="A communication step of this sequence: only events about the message it "
        "sent this enrollment count (opened it, clicked in it, replied to it).",
    )
    url_contains: EventName | None = Field(
        default=None, description="Only clicks and visits whose URL contains this text."
    )

    @model_validator(mode="after")
    def _custom_is_named(self) -> Self:
        if self.event in (EventType.custom, EventType.tag_applied) and self.name is None:
            raise ValueError(f"a {self.event.value} event needs a name")
        if self.step is not None and self.event not in MESSAGE_EVENTS:
            kinds = ", ".join(sorted(MESSAGE_EVENTS))
            raise ValueError(f"only an event about a message ({kinds}) can name a step")
        if self.url_contains is not None and self.event not in URL_EVENTS:
            kinds = ", ".join(sorted(URL_EVENTS))
            raise ValueError(f"only an event with a URL ({kinds}) can test it")
        return self

    def matches(
        self, event: str, name: str | None, step: str | None = None, url: str | None = None
    ) -> bool:
        """`step`: the step of this enrollment that sent the message the event is about;
        `url`: the link clicked or the page visited."""
        return (
            event == self.event
            and (self.name is None or self.name == name)
            and (self.step is None or self.step == step)
            and (self.url_contains is None or (url is not None and self.url_contains in url))
        )


class WaitForEventStep(StepBase):
    """Wait up to `within` for the contact to do something; branch on whether they did."""

    waits: ClassVar[bool] = True

    kind: Literal["wait_for_event"] = "wait_for_event"
    match: EventMatch
    within: Wait
    if_happened: Transition = CONTINUE
    if_not: Transition = CONTINUE

    def ways_out(self) -> dict[str, Transition]:
        return {"if_happened": self.if_happened, "if_not": self.if_not}


FieldName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_.]{0,63}$")]


class HasTag(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    has_tag: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class FieldOp(StrEnum):
    equals = "equals"
    not_equals = "not_equals"
    greater_than = "greater_than"
    less_than = "less_than"
    contains = "contains"
    is_set = "is_set"
    is_not_set = "is_not_set"


class FieldCompare(BaseModel):
    """A contact attribute (`email`, `timezone`...) or custom field, compared with a value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: FieldName
    op: FieldOp
    value: str | float | bool | None = None

    @model_validator(mode="after")
    def _value_when_needed(self) -> Self:
        needs_value = self.op not in (FieldOp.is_set, FieldOp.is_not_set)
        if needs_value and self.value is None:
            raise ValueError(f"op {self.op.value} needs a value")
        return self


class HadEvent(BaseModel):
    """Whether the contact did something (opened *welcome*, clicked a link to /pricing), ever or
    within the last `within`, as far as people's doings go: machines' opens and clicks count not."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    happened: EventMatch
    within: Wait | None = Field(default=None, description="Only this recently, e.g. P7D.")


def _check_of(value: Any) -> str | None:
    """A check is known by its key, so that a mistake in one is said of that one alone."""
    if isinstance(value, HasTag | FieldCompare | HadEvent):
        return type(value).__name__
    if isinstance(value, dict):
        for key, check in (
            ("has_tag", "HasTag"),
            ("happened", "HadEvent"),
            ("field", "FieldCompare"),
        ):
            if key in value:
                return check
    return None


Check = Annotated[
    Annotated[HasTag, Tag("HasTag")]
    | Annotated[FieldCompare, Tag("FieldCompare")]
    | Annotated[HadEvent, Tag("HadEvent")],
    Discriminator(
        _check_of,
        custom_error_type="check_unknown",
        custom_error_message="a check gives has_tag (a tag the contact has), field and op "
        "(a field's value), or happened (something the contact did)",
    ),
]


class ConditionStep(StepBase):
    """Branch on the contact's tags, a field, or what it did, as they are when the step runs."""

    kind: Literal["condition"] = "condition"
    check: Check
    if_true: Transition = CONTINUE
    if_false: Transition = CONTINUE

    def ways_out(self) -> dict[str, Transition]:
        return {"if_true": self.if_true, "if_false": self.if_false}


PersonStep = CallStep | TaskStep | ManualEmailStep


def _kind(step: type[StepBase]) -> str:
    [kind] = get_args(step.model_fields["kind"].annotation)
    return str(kind)


# The kinds of to-do a person works, one per step kind of the family.
PERSON_KINDS = tuple(_kind(step) for step in get_args(PersonStep))
TASK_KIND = _kind(TaskStep)
