"""Steps that do something to or for the contact: communications and CRM processes."""

from typing import Annotated, Literal

from pydantic import StringConstraints

from sequences.base import StepBase, Template


class EmailStep(StepBase):
    """Send an email to the contact; subject and body take merge fields like `{{ contact.first_name }}`."""

    kind: Literal["email"] = "email"
    subject: Annotated[Template, StringConstraints(max_length=998)]
    body: Annotated[Template, StringConstraints(max_length=100_000)]


class ApplyTagStep(StepBase):
    """Apply a tag to the contact, creating the tag if it does not exist yet."""

    kind: Literal["apply_tag"] = "apply_tag"
    tag: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
