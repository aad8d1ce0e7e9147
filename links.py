"""Signed links: a token per record (a contact to unsubscribe, a fax document, a message's open
pixel and links) only this system can make, and the addresses of this system that recipients and
providers are given. The purpose is part of what is signed, so a token made for one use fits no
other. The worker makes them and the API reads them back."""

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple
from urllib.parse import quote

from settings import Settings

FAX_DOCUMENT = "fax-document"
UNSUBSCRIBE_MESSAGE = "unsubscribe-message"
OPEN_PIXEL = "open"
CLICK = "click"
VISITOR = "visitor"
PAGE_VIEW = "page-view"
# How long a tracking link records what it is used for (a click still leads on after).
TRACKED_FOR = timedelta(days=365)


def token_for(record_id: uuid.UUID, secret: str, purpose: str = "") -> str:
    signed = purpose.encode() + record_id.bytes
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()[:32]
    return f"{record_id.hex}.{digest}"


def record_of(token: str, secret: str, purpose: str = "") -> uuid.UUID | None:
    """The record a token was made for, or None for a token that was not made here."""
    raw, _, _ = token.partition(".")
    try:
        record_id = uuid.UUID(hex=raw)
    except ValueError:
        return None
    valid = hmac.compare_digest(token_for(record_id, secret, purpose), token)
    return record_id if valid else None


def contact_of(token: str, secret: str) -> uuid.UUID | None:
    return record_of(token, secret)


class Signed(NamedTuple):
    record_id: uuid.UUID
    expired: bool


def expiring_token(
    record_id: uuid.UUID, secret: str, purpose: str, expires: datetime, subject: str = ""
) -> str:
    """A token that says until when it holds; `subject` (a link's target) is signed with it but
    travels apart from it."""
    until = format(int(expires.timestamp()), "x")
    signed = f"{purpose}\0{until}\0{subject}".encode() + record_id.bytes
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()[:32]
    return f"{record_id.hex}.{until}.{digest}"


def read_expiring(
    token: str, secret: str, purpose: str, now: datetime, subject: str = ""
) -> Signed | None:
    """The record an expiring token was made for and whether it has run out; None for a token
    this system did not make, or one altered since."""
    raw, _, rest = token.partition(".")
    until, _, _ = rest.partition(".")
    try:
        record_id = uuid.UUID(hex=raw)
        expires = datetime.fromtimestamp(int(until, 16), now.tzinfo)
    except (ValueError, OverflowError, OSError):
        return None
    expected = expiring_token(record_id, secret, purpose, expires, subject)
    if not hmac.compare_digest(expected.encode(), token.encode()):
        return None
    return Signed(record_id, now >= expires)


@dataclass(frozen=True)
class Links:
    base_url: str
    secret: str

    @classmethod
    def from_settings(cls, settings: Settings) -> "Links":
        return cls(settings.public_base_url.rstrip("/"), settings.require_link_secret())

    def status_callback(self) -> str:
        return f"{self.base_url}/webhooks/twilio/status"

    def fax_document(self, message_id: uuid.UUID) -> str:
        token = token_for(message_id, self.secret, FAX_DOCUMENT)
        return f"{self.base_url}/fax-documents/{token}.pdf"

    def unsubscribe(self, message_id: uuid.UUID) -> str:
        """One message's unsubscribe link: the opt-out is counted against the step that sent it."""
        return (
            f"{self.base_url}/unsubscribe/{token_for(message_id, self.secret, UNSUBSCRIBE_MESSAGE)}"
        )

    def open_pixel(self, message_id: uuid.UUID, expires: datetime) -> str:
        token = expiring_token(message_id, self.secret, OPEN_PIXEL, expires)
        return f"{self.base_url}/t/o/{token}.gif"

    def click(self, message_id: uuid.UUID, url: str, expires: datetime) -> str:
        """A redirect to `url` that only leads there: the target is signed with the message."""
        token = expiring_token(message_id, self.secret, CLICK, expires, url)
        return f"{self.base_url}/t/c/{token}?u={quote(url, safe='')}"


def body_signature(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`, as signed webhooks carry it."""
    signed = timestamp.encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signed_body_headers(secret: str, body: bytes, now: float) -> dict[str, str]:
    """The headers that sign a webhook body as the email webhooks check it."""
    timestamp = str(int(now))
    return {
        "X-Webhook-Timestamp": timestamp,
        "X-Signature-256": body_signature(secret, timestamp, body),
    }
