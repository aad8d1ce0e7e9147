"""A communication step as one contact would get it, and a test of it sent to an address."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.concurrency import run_in_threadpool

from activities.merging import merge_values
from api.errors import Invalid
from api.services.mail_out import send_now
from sequences import EmailStep, SequenceDefinition
from sequences.merge import TemplateRenderError, render
from settings import Settings
from store.models import Contact

# The templates a communication step has, in the order a reader meets them.
TEMPLATES = ("subject", "text", "script", "body", "html")


def _step(definition: SequenceDefinition, step_id: str) -> Any:
    for track in definition.tracks:
        if step_id in track.step_positions:
            return track.step(step_id)
    raise Invalid(f"step: no step {step_id!r} in this version")


async def rendered(
    session: AsyncSession, definition: SequenceDefinition, step_id: str, contact: Contact
) -> dict[str, str]:
    """Each of the step's templates rendered for the contact, as its send would render them."""
    step = _step(definition, step_id)
    templates = {name: getattr(step, name) for name in TEMPLATES if getattr(step, name, None)}
    if not templates:
        raise Invalid(f"step: {step_id} ({step.kind}) sends nothing to preview")
    values = await merge_values(session, contact)
    try:
        return {
            # In a thread: a template's render is bounded, but not instant.
            name: await run_in_threadpool(render, template, values, html=name == "html")
            for name, template in templates.items()
        }
    except TemplateRenderError as error:
        raise Invalid(f"{step_id}: {error}") from None


async def send_test(
    settings: Settings, definition: SequenceDefinition, step_id: str, shown: dict[str, str], to: str
) -> None:
    """Send the rendered email step to `to`, its subject marked as a test."""
    if not isinstance(_step(definition, step_id), EmailStep):
        raise Invalid(f"step: {step_id} is not an email; only emails can be sent as a test")
    await send_now(
        settings,
        to=to,
        subject=f"[Test] {shown.get('subject', '')}",
        body=shown.get("body", ""),
        html=shown.get("html"),
        what="test email",
    )
