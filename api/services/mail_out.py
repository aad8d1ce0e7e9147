"""Email the API sends itself, at once (sign-in links, tests of a step), over the SMTP server
the worker uses; a failure is the request's answer, nothing is queued."""

import uuid

import aiosmtplib

from activities.email import SmtpSender
from api.errors import Unavailable
from settings import Settings


async def send_now(
    settings: Settings, *, to: str, subject: str, body: str, html: str | None = None, what: str
) -> None:
    """Send it, or raise Unavailable naming `what` could not be sent."""
    sender = SmtpSender.from_settings(settings)
    if sender is None:
        raise Unavailable(f"no SMTP server is set (SMTP_HOST), so no {what} can be sent")
    email = sender.compose(
        effect_key=f"api:{uuid.uuid4()}", to=to, subject=subject, body=body, html=html
    )
    try:
        await sender.send(email)
    except (OSError, aiosmtplib.SMTPException) as error:
        raise Unavailable(f"the {what} could not be sent ({error}); try again") from None
    finally:
        await sender.sessions.close()
