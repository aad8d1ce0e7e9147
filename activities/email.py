"""Email delivery over SMTP."""

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formataddr, formatdate, parseaddr
from html import escape

import aiosmtplib
from temporalio.exceptions import ApplicationError

import links
from activities.smtp_sessions import SmtpSessions
from activities.tracking import track_html, track_text, untracked_links
from sequences.base import single_line
from settings import Settings

# Headers are kept as given, not parsed into header objects as the modern policy does (which
# made composing five times slower): so values are made safe here (_header, _address). Long
# header lines stay whole: a folded List-Unsubscribe breaks mail clients.
SMTP_POLICY = compat32.clone(max_line_length=998, linesep="\r\n")
# SMTP allows lines of at most 998 characters; quoted-printable wraps longer ones.
LONGEST_LINE = 998
_UTF8 = Charset("utf-8")
_UTF8.body_encoding = QP


def message_id(effect_key: str, sender: str) -> str:
    """The same Message-ID for every attempt at one message, so receivers can drop repeats."""
    domain = sender.rsplit("@", 1)[-1] or "localhost"
    return f"<{hashlib.sha256(effect_key.encode()).hexdigest()[:32]}@{domain}>"


def _header(value: str) -> str | Header:
    """One line (a line break would start a header of the value's choosing), encoded if need be."""
    line = " ".join(value.splitlines())
    return line if line.isascii() else Header(line, "utf-8")


def _one_line(address: str) -> str:
    """An address with a line break is refused, never mended: joining its lines would still
    leave what the break began (`Acme\r\nBcc: x@y` parses as x@y)."""
    try:
        return single_line(address)
    except ValueError:
        raise ApplicationError(
            f"the address {address!r} holds a line break or control character", non_retryable=True
        ) from None


def _address(value: str) -> str:
    name, address = parseaddr(_one_line(value))
    return formataddr((name, address), charset="utf-8")


def _text(content: str, subtype: str) -> MIMEText:
    """Plain 7-bit where it can be, quoted-printable UTF-8 otherwise."""
    lines = content.splitlines() or [""]
    if content.isascii() and max(len(line) for line in lines) <= LONGEST_LINE:
        return MIMEText(content, subtype, "us-ascii", policy=SMTP_POLICY)
    return MIMEText(content, subtype, _UTF8, policy=SMTP_POLICY)  # type: ignore[arg-type]


def _with_footer(html: str, footer: str) -> str:
    closing = html.lower().rfind("</body>")
    return f"{html[:closing]}{footer}{html[closing:]}" if closing >= 0 else f"{html}{footer}"


@dataclass(frozen=True)
class SmtpSender:
    host: str
    port: int
    sender: str
    unsubscribe_secret: str
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    tls: bool = False
    base_url: str = "http://127.0.0.1:8000"
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
            unsubscribe_secret=settings.require_link_secret(),
        )

    @property
    def links(self) -> links.Links:
        return links.Links(self.base_url.rstrip("/"), self.unsubscribe_secret)

    def unsubscribe_url(self, contact_id: uuid.UUID, message: uuid.UUID | None = None) -> str:
        if message is not None:
            return self.links.unsubscribe(message)
        token = links.token_for(contact_id, self.unsubscribe_secret)
        return f"{self.base_url.rstrip('/')}/unsubscribe/{token}"

    def _tracked(
        self, message: uuid.UUID, body: str, html: str | None, until: datetime
    ) -> tuple[str, str | None]:
        def redirect(url: str) -> str:
            return self.links.click(message, url, until)

        body = track_text(body, redirect, untracked_links(html))
        if html is not None:
            html = track_html(html, redirect, self.links.open_pixel(message, until))
        return body, html

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
        message: uuid.UUID | None = None,
        tracked_until: datetime | None = None,
        thread: Sequence[str] = (),
    ) -> Message:
        """The email, with an HTML part if given; to a contact, with unsubscribe link and header.

        `message`: the outbox row, whose unsubscribe link and (with `tracked_until`) tracking
        links it gets; `thread`: the Message-IDs of the thread it continues, oldest first."""
        headers: list[tuple[str, str | Header]] = [
            ("From", _address(self.from_header(sender))),
            ("To", _address(to)),
        ]
        if reply_to:
            headers.append(("Reply-To", _address(reply_to)))
        headers += [
            ("Subject", _header(subject)),
            ("Date", formatdate(usegmt=True)),
            ("Message-ID", message_id(effect_key, self.sender)),
        ]
        if thread:
            headers += [("In-Reply-To", thread[-1]), ("References", " ".join(thread))]
        if message is not None and tracked_until is not None:
            body, html = self._tracked(message, body, html, tracked_until)
        if unsubscribe_from is not None:
            link = self.unsubscribe_url(unsubscribe_from, message)
            headers += [
                ("List-Unsubscribe", f"<{link}>"),
                ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
            ]
            body = f"{body}\n\n--\nUnsubscribe: {link}\n"
            if html is not None:
                html = _with_footer(html, f'<p><a href="{escape(link)}">Unsubscribe</a></p>')
        email: Message = _text(body, "plain")
        if html is not None:
            email = MIMEMultipart("alternative", policy=SMTP_POLICY)
            email.attach(_text(body, "plain"))
            email.attach(_text(html, "html"))
        for name, value in headers:
            email[name] = value  # type: ignore[assignment]  # compat32 takes Header objects
        return email

    def from_header(self, sender: str | None) -> str:
        """The sequence's sender; a sender with only a name borrows the server's address."""
        if not sender:
            return self.sender
        name, address = parseaddr(_one_line(sender))
        return formataddr((name, address or self.sender))

    async def send(self, email: Message) -> None:
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
