"""Email delivery over SMTP."""

import hashlib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib

from settings import Settings


def message_id(effect_key: str, sender: str) -> str:
    """The same Message-ID for every attempt at one message, so receivers can drop repeats."""
    domain = sender.rsplit("@", 1)[-1] or "localhost"
    return f"<{hashlib.sha256(effect_key.encode()).hexdigest()[:32]}@{domain}>"


@dataclass(frozen=True)
class SmtpSender:
    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    tls: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> "SmtpSender | None":
        if not settings.smtp_host:
            return None
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.mail_from,
            username=settings.smtp_username,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
            tls=settings.smtp_tls,
        )

    def compose(self, *, effect_key: str, to: str, subject: str, body: str) -> EmailMessage:
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = to
        email["Subject"] = subject
        email["Date"] = formatdate(usegmt=True)
        email["Message-ID"] = message_id(effect_key, self.sender)
        email.set_content(body)
        return email

    async def send(self, email: EmailMessage) -> None:
        await aiosmtplib.send(
            email,
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            start_tls=self.starttls,
            use_tls=self.tls,
            timeout=30,
        )
