"""Unsubscribe links: a token per contact that only this system can make."""

import hashlib
import hmac
import uuid


def token_for(contact_id: uuid.UUID, secret: str) -> str:
    digest = hmac.new(secret.encode(), contact_id.bytes, hashlib.sha256).hexdigest()[:32]
    return f"{contact_id.hex}.{digest}"


def contact_of(token: str, secret: str) -> uuid.UUID | None:
    """The contact a token was made for, or None for a token that was not made here."""
    raw, _, _ = token.partition(".")
    try:
        contact_id = uuid.UUID(hex=raw)
    except ValueError:
        return None
    return contact_id if hmac.compare_digest(token_for(contact_id, secret), token) else None
