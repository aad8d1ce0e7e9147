"""Addresses of this system that providers are given: status callbacks and fax documents."""

import uuid
from dataclasses import dataclass

from activities import unsubscribe
from settings import Settings

FAX_DOCUMENT = "fax-document"


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
        token = unsubscribe.token_for(message_id, self.secret, FAX_DOCUMENT)
        return f"{self.base_url}/fax-documents/{token}.pdf"
