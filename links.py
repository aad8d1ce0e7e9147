"""Signed links: a token per record (a contact to unsubscribe, a fax document) only this system
can make, and the addresses of this system that recipients and providers are given. The purpose
is part of what is signed, so a token made for one use fits no other. The worker makes them
and the API reads them back."""

import hashlib
import hmac
import uuid
from dataclasses import dataclass

from settings import Settings

FAX_DOCUMENT = "fax-document"


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
