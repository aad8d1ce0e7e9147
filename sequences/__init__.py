"""The sequence language: step models, validation and merge fields. Pure: no I/O, no clock."""

from sequences.actions import ApplyTagStep, EmailStep
from sequences.base import Outcome, StepBase, Transition, known_timezone
from sequences.models import Reentry, SequenceDefinition, SequenceSettings, Step, Track
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
    "DateTimerStep",
    "DefinitionError",
    "DelayStep",
    "EmailStep",
    "EventTimerStep",
    "FieldTimerStep",
    "IfPast",
    "Outcome",
    "Reentry",
    "SequenceDefinition",
    "SequenceSettings",
    "Step",
    "StepBase",
    "TimerStep",
    "Track",
    "Transition",
    "known_timezone",
    "parse_definition",
]
