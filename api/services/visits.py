"""Page views on the customer's own sites, reported by /t/visit.js, for visitors a tracked link
identified: by the token it added to the page's address (kept by the script) or by the
first-party cookie its redirect set. A visit feeds waits, conditions and goals as
`page_visited`, with the URL; the time on page is added as the visitor leaves.

Only pages of TRACKED_SITES count, and a browser's report must come from the page it names,
so no other site can claim a visitor's views."""

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

import links
from api.errors import Forbidden, Invalid, NotFound
from api.schemas.tracking import PageView
from api.services import contact_events
from api.services.tracking import AGENT_KEPT, Hit, first_lately, robot_reason
from sequences import EventType
from settings import Settings
from store import contacts, events

# The query parameter that carries a visitor's token from a tracked link to the page.
VISITOR_PARAM = "cs_contact"
# How long after a page view its time on page may still be reported.
VIEW_REPORTED_FOR = timedelta(days=1)
NAME_KEPT = 200


def _host(url: str) -> str | None:
    """The host of an http(s) URL, or None for anything else (a malformed one among them)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return (parts.hostname or "").lower() or None if parts.scheme in ("http", "https") else None


def tracked_host(url: str, settings: Settings) -> str | None:
    """The host of `url` if it is one of the tracked sites', else None."""
    host = _host(url)
    return host if host in {site.lower() for site in settings.tracked_sites} else None


def without_visitor(url: str) -> str:
    """The page's address as kept: without the visitor's token, a credential."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != VISITOR_PARAM
    ]
    return urlunsplit(parts._replace(query=urlencode(query)))


def with_visitor(url: str, visitor: str, settings: Settings) -> str:
    """The target of a tracked link, carrying the visitor's token if it is a page of a tracked
    site, whose visit script reads it: no other site is given it."""
    if tracked_host(url, settings) is None:
        return url
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), (VISITOR_PARAM, visitor)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _check_from_page(view: PageView, origin: str | None, settings: Settings) -> None:
    host = tracked_host(view.url, settings)
    if host is None:
        raise Forbidden(
            f"{_host(view.url) or repr(view.url)} is not a tracked site (an http or https page "
            "whose host is in TRACKED_SITES); add its host there to count its visits"
        )
    # A browser names the page's origin: a page elsewhere cannot report views of this one.
    if origin is not None and _host(origin) != host:
        raise Forbidden(f"a page of {origin} cannot report a visit to {host}")


async def record_view(
    session: AsyncSession,
    temporal: Client,
    settings: Settings,
    view: PageView,
    *,
    cookie: str | None,
    origin: str | None,
    hit: Hit,
) -> str | None:
    """Record the view for its visitor, if one is identified; the token to report its time on
    page with, or None when the visitor is unknown (nothing is recorded then)."""
    _check_from_page(view, origin, settings)
    secret = settings.require_link_secret()
    contact = None
    for token in (view.contact, cookie):
        signed = token and links.read_expiring(token, secret, links.VISITOR, hit.at)
        if signed and not signed.expired:
            contact = await contacts.get_contact(session, signed.record_id)
            break
    if contact is None:
        return None
    url = without_visitor(view.url)
    robot = robot_reason(hit)
    data: dict[str, Any] = {"url": url, "seconds": 0}
    if view.referrer:
        data["referrer"] = without_visitor(view.referrer)
    if hit.user_agent:
        data["user_agent"] = hit.user_agent[:AGENT_KEPT]
    if robot:
        data["machine"] = robot
    tell = robot is None and await first_lately(session, "visit", contact.id, url, hit.at)
    recorded = await contact_events.record(
        session,
        temporal,
        settings.temporal_task_queue,
        contact,
        None,
        EventType.page_visited,
        url if len(url) <= NAME_KEPT else None,
        data=data,
        occurred_at=hit.at,
        tell=tell,
    )
    return links.expiring_token(
        recorded.event_id, secret, links.PAGE_VIEW, hit.at + VIEW_REPORTED_FOR
    )


async def record_time_on_page(
    session: AsyncSession, settings: Settings, view: str, seconds: float, now: datetime
) -> None:
    signed = links.read_expiring(view, settings.require_link_secret(), links.PAGE_VIEW, now)
    if signed is None:
        raise NotFound("this page view is not one of ours")
    if signed.expired:
        raise Invalid("a page view's time on page is taken for a day after the view only")
    if not await events.note_time_on_page(session, signed.record_id, seconds):
        raise NotFound("this page view is no longer kept (its contact was removed)")
