"""The emails that sign people in: a one-time link asked for on the sign-in page, and an
admin's invitation. Sent by the API itself, over the SMTP server the worker uses."""

import uuid
from datetime import timedelta

import aiosmtplib

from activities.email import SmtpSender
from api.errors import Unavailable
from settings import Settings


def _minutes(lifetime: timedelta) -> str:
    minutes = int(lifetime.total_seconds() // 60)
    return f"{minutes // 1440} days" if minutes >= 1440 else f"{minutes} minutes"


async def send_link(
    settings: Settings, *, to: str, url: str, lifetime: timedelta, invited_by: str | None = None
) -> None:
    sender = SmtpSender.from_settings(settings)
    if sender is None:
        raise Unavailable("no SMTP server is set (SMTP_HOST), so no sign-in link can be sent")
    if invited_by:
        subject = f"{invited_by} invited you to Campaign sequences"
        opening = f"{invited_by} invited you to Campaign sequences."
    else:
        subject = "Your sign-in link"
        opening = "Someone, probably you, asked to sign in to Campaign sequences."
    body = (
        f"{opening}\n\nSign in: {url}\n\nThe link works once, for {_minutes(lifetime)}. "
        "If you did not ask for it, ignore this email.\n"
    )
    email = sender.compose(effect_key=f"sign-in:{uuid.uuid4()}", to=to, subject=subject, body=body)
    try:
        await sender.send(email)
    except (OSError, aiosmtplib.SMTPException) as error:
        raise Unavailable(f"the sign-in email could not be sent ({error}); try again") from None
    finally:
        await sender.sessions.close()
