"""Rules for requests a sequence sends to other systems: where they may go, and their signature."""

import asyncio
import hashlib
import hmac
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from temporalio.exceptions import ApplicationError


@dataclass(frozen=True)
class OutboundPolicy:
    # Loopback, private, link-local and other non-public addresses are refused unless allowed,
    # so a sequence designer cannot reach into the operator's own network.
    allow_private: bool = False
    signing_secret: str | None = None

    async def check(self, url: str) -> None:
        """Refuse (for good) a URL whose host resolves to an address that is not public."""
        if self.allow_private:
            return
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except socket.gaierror as error:
            raise ApplicationError(f"cannot resolve {host}: {error}") from error
        for info in infos:
            address = ipaddress.ip_address(info[4][0])
            if not address.is_global:
                raise ApplicationError(
                    f"refusing to POST to {host}: it resolves to {address}, which is not a "
                    "public address",
                    non_retryable=True,
                )

    def signature_headers(self, body: bytes) -> dict[str, str]:
        """An HMAC-SHA256 of the body, so the receiver can tell the request came from us."""
        if not self.signing_secret:
            return {}
        digest = hmac.new(self.signing_secret.encode(), body, hashlib.sha256).hexdigest()
        return {"X-Signature-256": f"sha256={digest}"}
