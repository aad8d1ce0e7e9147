"""Rules for requests a sequence sends to other systems: where they may go, and their signature."""

import asyncio
import hashlib
import hmac
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from temporalio.exceptions import ApplicationError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# (host, port) -> the addresses the host resolves to, best first.
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]

# The well-known NAT64 prefix: a gateway turns these into the IPv4 address in the last 32 bits.
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# IPv4-compatible IPv6 (deprecated since 2006): `[::127.0.0.1]` is `::7f00:1`, which Python
# calls global; nothing public is reached this way.
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


@dataclass(frozen=True)
class Target:
    """A URL pinned to the addresses vetted for it, so the request cannot be re-resolved."""

    host: str
    addresses: tuple[IPAddress, ...]
    urls: tuple[httpx.URL, ...]  # one per address, in the same order
    headers: dict[str, str]
    extensions: dict[str, Any]


@dataclass(frozen=True)
class OutboundPolicy:
    # Loopback, private, link-local and other non-public addresses are refused unless allowed,
    # so a sequence designer cannot reach into the operator's own network.
    allow_private: bool = False
    signing_secret: str | None = None
    resolver: Resolver = field(default=system_resolver, repr=False, compare=False)

    async def resolve(self, url: str) -> Target:
        """Resolve the URL's host once and vet every address; refuse (for good) a non-public one.

        Connecting by name would resolve again, and a name that answered a public address here
        could answer a private one then (DNS rebinding); the target connects to the vetted
        addresses only. Allowed private addresses are pinned too, so there is one way to send.
        """
        parsed = httpx.URL(url)
        host, ascii_host = parsed.host, parsed.raw_host.decode("ascii")
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        try:
            answers = await self.resolver(ascii_host, port)
        except OSError as error:
            raise ApplicationError(f"cannot resolve {host}: {error}") from error
        addresses = tuple(dict.fromkeys(ipaddress.ip_address(answer) for answer in answers))
        if not addresses:
            raise ApplicationError(f"cannot resolve {host}: no addresses")
        if not self.allow_private:
            for address in addresses:
                if not _is_public(address):
                    raise ApplicationError(
                        f"refusing to POST to {host}: it resolves to {address}, which is not a "
                        "public address",
                        non_retryable=True,
                    )
        headers = {"Host": parsed.netloc.decode("ascii")}
        if parsed.scheme == "https":
            # Pooled connections are keyed by address, not name: without this, another host on
            # the same address could reuse a TLS connection whose certificate named this one.
            headers["Connection"] = "close"
        return Target(
            host=host,
            addresses=addresses,
            urls=tuple(parsed.copy_with(host=str(address)) for address in addresses),
            headers=headers,
            extensions={"sni_hostname": ascii_host},
        )

    def signature_headers(self, body: bytes) -> dict[str, str]:
        """An HMAC-SHA256 of the body, so the receiver can tell the request came from us."""
        if not self.signing_secret:
            return {}
        digest = hmac.new(self.signing_secret.encode(), body, hashlib.sha256).hexdigest()
        return {"X-Signature-256": f"sha256={digest}"}


def _is_public(address: IPAddress) -> bool:
    """Only globally routable unicast: Python counts multicast (224.0.0.0/4, ff00::/8) global."""
    if not address.is_global or address.is_multicast:
        return False
    # An IPv6 address that carries an IPv4 one is only as public as the IPv4 address it reaches.
    if isinstance(address, ipaddress.IPv6Address):
        if address in IPV4_COMPATIBLE:
            return False
        if address in NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF).is_global
        if address.sixtofour is not None:
            return address.sixtofour.is_global
    return True
