"""Reading what the SMTP sink received: the emails to an address, their parts and links."""

import email.message
import re
from urllib.parse import urlsplit

from tests.integration.conftest import SmtpSink
from tests.integration.helpers import eventually


async def emails(sink: SmtpSink, address: str, count: int) -> list[email.message.Message]:
    """The emails to `address`, once there are at least `count`."""

    async def received() -> list[email.message.Message]:
        return sink.to(address)

    return await eventually(received, lambda got: len(got) >= count)


def part(message: email.message.Message, content_type: str) -> str:
    for each in message.walk():
        if each.get_content_type() == content_type:
            payload = each.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode()
    raise AssertionError(f"no {content_type} part")


def html_of(message: email.message.Message) -> str:
    return part(message, "text/html")


def text_of(message: email.message.Message) -> str:
    return part(message, "text/plain")


def hrefs(html: str) -> list[str]:
    return [h.replace("&amp;", "&") for h in re.findall(r'href="([^"]*)"', html)]


def tracked_links(message: email.message.Message) -> list[str]:
    return [h for h in hrefs(html_of(message)) if "/t/c/" in h]


def on_server(server: str, link: str) -> str:
    """The link as our server answers it: emails name PUBLIC_BASE_URL's host."""
    parts = urlsplit(link)
    return f"{server}{parts.path}?{parts.query}" if parts.query else f"{server}{parts.path}"
