"""The emails that sign people in: a one-time link asked for on the sign-in page, and an
admin's invitation. Sent by the API itself, over the SMTP server the worker uses."""

from datetime import timedelta

from api.services.mail_out import send_now
from settings import Settings


def _minutes(lifetime: timedelta) -> str:
    minutes = int(lifetime.total_seconds() // 60)
    return f"{minutes // 1440} days" if minutes >= 1440 else f"{minutes} minutes"


async def send_link(
    settings: Settings, *, to: str, token: str, lifetime: timedelta, invited_by: str | None = None
) -> None:
    """Email the link that signs in with `token` (see people.issue_link)."""
    url = f"{settings.public_base_url.rstrip('/')}/app/link/{token}"
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
    await send_now(settings, to=to, subject=subject, body=body, what="sign-in email")
