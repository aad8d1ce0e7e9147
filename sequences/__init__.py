"""The sequence language: step models, validation and merge fields. Pure: no I/O, no clock."""

from sequences.models import (
    ApplyTagStep,
    DelayStep,
    EmailStep,
    SequenceDefinition,
    Step,
    Track,
)
from sequences.validation import DefinitionError, parse_definition

__all__ = [
    "ApplyTagStep",
    "DefinitionError",
    "DelayStep",
    "EmailStep",
    "SequenceDefinition",
    "Step",
    "Track",
    "parse_definition",
]
