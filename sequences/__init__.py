"""The sequence language: step models, validation and merge fields. Pure: no I/O, no clock."""

from sequences.actions import ApplyTagStep, EmailStep
from sequences.base import Outcome, StepBase, Transition, known_timezone
from sequences.manual import (
    Assignee,
    CallStep,
    ConditionStep,
    EventMatch,
    EventType,
    FieldCompare,
    FieldOp,
    HasTag,
    ManualEmailStep,
    ManualStep,
    PersonStep,
    TaskStep,
    WaitForEventStep,
)
from sequences.models import ExitRule, Reentry, SequenceDefinition, SequenceSettings, Step, Track
from sequences.timers import (
    MAX_DELAY,
    DateTimerStep,
    DelayStep,
    EventTimerStep,
    FieldTimerStep,
    IfPast,
    TimerStep,
)
from sequences.validation import DefinitionError, parse_definition

__all__ = [
    "MAX_DELAY",
    "ApplyTagStep",
    "Assignee",
    "CallStep",
    "ConditionStep",
    "DateTimerStep",
    "DefinitionError",
    "DelayStep",
    "EmailStep",
    "EventMatch",
    "EventTimerStep",
    "EventType",
    "ExitRule",
    "FieldCompare",
    "FieldOp",
    "FieldTimerStep",
    "HasTag",
    "IfPast",
    "ManualEmailStep",
    "ManualStep",
    "Outcome",
    "PersonStep",
    "Reentry",
    "SequenceDefinition",
    "SequenceSettings",
    "Step",
    "StepBase",
    "TaskStep",
    "TimerStep",
    "Track",
    "Transition",
    "WaitForEventStep",
    "known_timezone",
    "parse_definition",
]
