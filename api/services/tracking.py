"""Opens and clicks seen by the project's own pixel and redirects, told apart from machines'.

A machine's open or click is kept on the contact's timeline, flagged with why, and counts as
neither a person's open or click: it satisfies no wait or goal and the report shows machine
opens apart. A person's repeats within a few minutes are counted but told to no one again, so
a link followed in a loop cannot flood the enrollments.
"""

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from ipaddress import ip_address, ip_network
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from api.services import contact_events
from sequences import Channel, EventType
from settings import Settings
from store import contacts, engagement, messages, webhooks
from store.models import Message

# User agents of link scanners, crawlers, previewers and scripts, never of a person's mail
# client or browser.
BOT_AGENTS = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|scanner|link ?preview|python-|httpclient|curl/|wget|"
    r"go-http-client|java/|okhttp|headless|phantomjs|barracuda|mimecast|proofpoint|"
    r"forcepoint|symantec|trendmicro|cisco|fortiguard|safelinks|office protocol discovery",
    re.IGNORECASE,
)
# Apple Mail Privacy Protection fetches every image when the mail arrives, from Apple's
# network, as a bare "Mozilla/5.0".
APPLE_PROXY = ip_network("17.0.0.0/8")
PREFETCH_AGENT = "Mozilla/5.0"
# A person's repeat of the same open or click within this is counted, not told again.
REPEAT = timedelta(minutes=5)
AGENT_KEPT = 300


@dataclass(frozen=True)
class Hit:
    """One request for a pixel or a redirect, as it arrived."""

    method: str
    user_agent: str
    client: str | None
    at: datetime


def _from_apple(client: str | None) -> bool:
    try:
        return client is not None and ip_address(client) in APPLE_PROXY
    except ValueError:
        return False


def robot_reason(hit: Hit) -> str | None:
    """Why this request is a robot's by its own description, or None if it may be a person's."""
    if hit.method == "HEAD":
        return "a HEAD request, which fetches no page"
    agent = hit.user_agent.strip()
    if not agent:
        return "no user agent"
    if BOT_AGENTS.search(agent):
        return "a scanner's or robot's user agent"
    return None


def machine_reason(
    hit: Hit, *, opening: bool, sent_at: datetime | None, scanner: float
) -> str | None:
    """Why this hit is a machine's, or None for a person's."""
    if reason := robot_reason(hit):
        return reason
    agent = hit.user_agent.strip()
    if opening and (agent == PREFETCH_AGENT or _from_apple(hit.client)):
        return "a privacy proxy fetching images on arrival"
    # A click before the sending was even recorded is the quickest scanner of all.
    if not opening and (sent_at is None or hit.at - sent_at < timedelta(seconds=scanner)):
        return f"within {scanner:g} s of sending, as mail scanners follow every link"
    return None


async def _tracked_message(session: AsyncSession, message_id: uuid.UUID) -> Message | None:
    message = await messages.get_message(session, message_id)
    return message if message is not None and message.tracked else None


async def record_hit(
    session: AsyncSession,
    temporal: Client,
    settings: Settings,
    message_id: uuid.UUID,
    hit: Hit,
    url: str | None = None,
) -> Message | None:
    """An open (no `url`) or a click on `url` of a tracked message; the message if it is one
    and a person's hit, whose browser the redirect may then identify."""
    message = await _tracked_message(session, message_id)
    if message is None:
        return None
    opening = url is None
    machine = machine_reason(
        hit, opening=opening, sent_at=message.sent_at, scanner=settings.tracking_scanner_seconds
    )
    if opening:
        fact = engagement.Fact.machine_opened if machine else engagement.Fact.opened
        await engagement.mark(session, message.id, fact, hit.at)
    elif machine is None:
        assert url is not None
        await engagement.click(session, message.id, url, hit.at)
    data: dict[str, Any] = {"channel": Channel.email.value, "message_id": str(message.id)}
    if url is not None:
        data["url"] = url
    if hit.user_agent:
        data["user_agent"] = hit.user_agent[:AGENT_KEPT]
    if machine:
        data["machine"] = machine
    tell = machine is None and await first_lately(session, "tracking", message.id, url, hit.at)
    contact = await contacts.get_contact(session, message.contact_id)
    assert contact is not None, "a message's contact is removed with its messages"
    event = EventType.email_opened if opening else EventType.link_clicked
    # As from providers' webhooks: a URL names the event only if short enough to be a name.
    name = url if url is not None and len(url) <= 200 else None
    await contact_events.record(
        session,
        temporal,
        settings.temporal_task_queue,
        contact,
        None,
        event,
        name,
        data=data,
        occurred_at=hit.at,
        tell=tell,
    )
    return None if machine else message


async def first_lately(
    session: AsyncSession, source: str, subject_id: uuid.UUID, url: str | None, at: datetime
) -> bool:
    """Whether this is the first such hit on the subject (a message, a visitor) of its window
    of REPEAT."""
    window = int(at.timestamp() // REPEAT.total_seconds())
    link = hashlib.sha256(url.encode()).hexdigest()[:32] if url else "open"
    return await webhooks.first_receipt(session, source, f"{subject_id}:{window}:{link}")
