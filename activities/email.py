"""Email delivery over SMTP."""

import hashlib
import uuid
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.utils import formataddr, formatdate, parseaddr
from html import escape

import aiosmtplib

from activities import unsubscribe
from activities.smtp_sessions import SmtpSessions
from settings import Settings

SMTP_POLICY = policy.SMTP.clone(max_line_length=998)


def message_id(effect_key: str, sender: str) -> str:
    """The same Message-ID for every attempt at one message, so receivers can drop repeats."""
    domain = sender.rsplit("@", 1)[-1] or "localhost"
    return f"<{hashlib.sha256(effect_key.encode()).hexdigest()[:32]}@{domain}>"


def _with_footer(html: str, footer: str) -> str:
    closing = html.lower().rfind("</body>")
    return f"{html[:closing]}{footer}{html[closing:]}" if closing >= 0 else f"{html}{footer}"


@dataclass(frozen=True)
class SmtpSender:
    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    tls: bool = False
    base_url: str = "http://127.0.0.1:8000"
    unsubscribe_secret: str = "embedded-stack-only"
    sessions: SmtpSessions = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sessions", SmtpSessions(self._connect))

    @classmethod
    def from_settings(cls, settings: Settings) -> "SmtpSender | None":
        if not settings.smtp_host:
            return None
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.mail_from,
            username=settings.smtp_username or None,
            password=settings.smtp_password or None,
            starttls=settings.smtp_starttls,
            tls=settings.smtp_tls,
            base_url=settings.public_base_url,
            unsubscribe_secret=settings.unsubscribe_secret,
        )

    def unsubscribe_url(self, contact_id: uuid.UUID) -> str:
        token = unsubscribe.token_for(contact_id, self.unsubscribe_secret)
        return f"{self.base_url.rstrip('/')}/unsubscribe/{token}"

    def compose(
        self,
        *,
        effect_key: str,
        to: str,
        subject: str,
        body: str,
        html: str | None = None,
        sender: str | None = None,
        reply_to: str | None = None,
        unsubscribe_from: uuid.UUID | None = None,
    ) -> EmailMessage:
        """The email, with an HTML part if given; to a contact, with unsubscribe link and header."""
        # Long header lines stay whole: a folded or encoded List-Unsubscribe breaks mail clients.
        email = EmailMessage(policy=SMTP_POLICY)
        email["From"] = self.from_header(sender)
        email["To"] = to
        if reply_to:
            email["Reply-To"] = reply_to
        email["Subject"] = subject
        email["Date"] = formatdate(usegmt=True)
        email["Message-ID"] = message_id(effect_key, self.sender)
        if unsubscribe_from is not None:
            link = self.unsubscribe_url(unsubscribe_from)
            email["List-Unsubscribe"] = f"<{link}>"
            email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
            body = f"{body}\n\n--\nUnsubscribe: {link}\n"
            if html is not None:
                html = _with_footer(html, f'<p><a href="{escape(link)}">Unsubscribe</a></p>')
        email.set_content(body)
        if html is not None:
            email.add_alternative(html, subtype="html")
        return email

    def from_header(self, sender: str | None) -> str:
        """The sequence's sender; a sender with only a name borrows the server's address."""
        if not sender:
            return self.sender
        name, address = parseaddr(sender)
        return formataddr((name, address or self.sender))

    async def send(self, email: EmailMessage) -> None:
        # Sent as bytes: handing over the message object would let it be folded again.
        await self.sessions.send(email.as_bytes(), self.sender, [str(email["To"])])

    async def _connect(self) -> aiosmtplib.SMTP:
        session = aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            start_tls=self.starttls,
            use_tls=self.tls,
            timeout=30,
        )
        await session.connect()
        return session
