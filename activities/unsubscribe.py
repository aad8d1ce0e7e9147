"""Signed links: a token per record (a contact to unsubscribe, a fax document) only this system
can make. The purpose is part of what is signed, so a token made for one use fits no other."""

import hashlib
import hmac
import uuid


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
