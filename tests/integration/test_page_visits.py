"""Page visits on the customer's own site, seen by the visit script in a real browser (Debian's
chromium): a visitor a tracked link identified steers the enrollment by the pages they view, by
the token the link added or by the cookie its redirect set; no one else can claim their views."""

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.async_api import Browser
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import Worker

from settings import Settings
from tests.browser import DESKTOP_AGENT
from tests.integration.conftest import SmtpSink
from tests.integration.helpers import (
    enroll,
    enrollment_status,
    eventually,
    get_json,
    new_contact,
    published_sequence,
    timeline,
)
from tests.integration.mail import emails, on_server, tracked_links
from workflows.fan_out import fan_out_id

SITE_HOST = "127.0.0.1"


class SitePages(BaseHTTPRequestHandler):
    """A customer's website: every page embeds the visit script from our API."""

    api: str

    def do_GET(self) -> None:
        title = urlsplit(self.path).path.strip("/") or "home"
        page = (
            f"<!doctype html><html><head><title>{title}</title>"
            f'<script src="{self.api}/t/visit.js" async></script></head>'
            f"<body><h1>{title}</h1></body></html>"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # The test clicks at once: no click is a scanner's for being quick.
    return settings.model_copy(update={"tracked_sites": [SITE_HOST], "tracking_scanner_seconds": 0})


@pytest.fixture
def site(served_api: str) -> Iterator[str]:
    handler = type("Site", (SitePages,), {"api": served_api})
    server = ThreadingHTTPServer((SITE_HOST, 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://{SITE_HOST}:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _series(site: str) -> dict[str, Any]:
    def waits_for(step: str, path: str, then: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": step,
            "kind": "wait_for_event",
            "match": {"event": "page_visited", "url_contains": path},
            "within": "PT60S",
            "if_happened": then,
            "if_not": {"end": "negative"},
        }

    return {
        "tracks": [
            {
                "id": "main",
                "steps": [
                    {
                        "id": "offer",
                        "kind": "email",
                        "subject": "Our plans",
                        "body": f"See {site}/pricing?plan=pro",
                        "html": f'<a href="{site}/pricing?plan=pro">Pricing</a>',
                    },
                    waits_for("saw_pricing", "/pricing", {"go_to": "priced"}),
                    {"id": "priced", "kind": "apply_tag", "tag": "saw-pricing"},
                    waits_for("read_about", "/about", {"go_to": "curious"}),
                    {
                        "id": "curious",
                        "kind": "apply_tag",
                        "tag": "read-about",
                        "then": {"end": "positive"},
                    },
                ],
            }
        ]
    }


async def _visits(admin: httpx.AsyncClient, contact_id: str) -> list[dict[str, Any]]:
    return [e for e in await timeline(admin, contact_id) if e["event"] == "page_visited"]


async def test_a_visitor_from_a_tracked_link_steers_the_enrollment_by_the_pages_they_view(
    admin: httpx.AsyncClient,
    worker: Worker,
    smtp_sink: SmtpSink,
    served_api: str,
    site: str,
    browser: Browser,
) -> None:
    sequence_id = await published_sequence(admin, _series(site))
    contact_id = await new_contact(admin, email="visitor@example.com")
    enrollment = await enroll(admin, sequence_id, contact_id)
    [offer] = await emails(smtp_sink, "visitor@example.com", 1)
    [link] = tracked_links(offer)

    context = await browser.new_context(user_agent=DESKTOP_AGENT)
    page = await context.new_page()
    await page.goto(on_server(served_api, link))
    # The redirect led to the page, whose script took the token out of the address bar.
    await page.wait_for_function("!location.search.includes('cs_contact')")
    assert page.url == f"{site}/pricing?plan=pro"
    [pricing] = await eventually(lambda: _visits(admin, contact_id), lambda got: len(got) == 1)
    assert pricing["data"]["url"] == f"{site}/pricing?plan=pro"
    assert pricing["data"]["user_agent"] == DESKTOP_AGENT and "machine" not in pricing["data"]
    await eventually(
        lambda: get_json(admin, f"/contacts/{contact_id}"), lambda c: "saw-pricing" in c["tags"]
    )

    # Only the redirect's first-party cookie names the visitor now.
    await asyncio.sleep(1)
    await page.evaluate("localStorage.clear()")
    await page.goto(f"{site}/about")
    done = await enrollment_status(admin, enrollment["id"], "completed")
    assert done["outcome"] == "positive"
    assert "read-about" in (await get_json(admin, f"/contacts/{contact_id}"))["tags"]

    # Leaving the pricing page told how long it was shown.
    visits = await eventually(
        lambda: _visits(admin, contact_id),
        lambda got: len(got) == 2 and got[1]["data"]["seconds"] > 0,
    )
    assert visits[0]["data"]["url"] == f"{site}/about"
    assert visits[1]["data"]["seconds"] >= 1
    await context.close()


async def test_no_one_else_can_claim_a_visitors_views(
    admin: httpx.AsyncClient,
    client: Client,
    worker: Worker,
    smtp_sink: SmtpSink,
    served_api: str,
    site: str,
) -> None:
    sequence_id = await published_sequence(admin, _series(site))
    contact_id = await new_contact(admin, email="claimed@example.com")
    await enroll(admin, sequence_id, contact_id)
    [offer] = await emails(smtp_sink, "claimed@example.com", 1)
    async with httpx.AsyncClient(timeout=10, headers={"User-Agent": DESKTOP_AGENT}) as http:
        clicked = await http.get(on_server(served_api, tracked_links(offer)[0]))
        token = parse_qs(urlsplit(clicked.headers["location"]).query)["cs_contact"][0]
        visit = {"url": f"{site}/pricing", "contact": token}
        # Only the token names the visitor in what follows.
        http.cookies.clear()

        def posted(body: dict[str, Any], **headers: str) -> Any:
            return http.post(f"{served_api}/t/visits", json=body, headers=headers)

        elsewhere = await posted({**visit, "url": "https://elsewhere.example/pricing"})
        malformed = await posted({**visit, "url": "http://[127.0.0.1/pricing"})
        from_another_page = await posted(visit, Origin="https://elsewhere.example")
        forged = await posted({**visit, "contact": token[:-1] + ("0" if token[-1] != "0" else "1")})
        robot = await posted(visit, **{"User-Agent": "Mozilla/5.0 HeadlessChrome/150.0"})
        forged_time = await http.post(f"{served_api}/t/visits/nope.0.0", json={"seconds": 5})
    assert [r.status_code for r in (elsewhere, malformed, from_another_page)] == [403, 403, 403]
    assert "TRACKED_SITES" in elsewhere.json()["detail"]
    assert forged.status_code == 200 and forged.json() == {"recorded": False, "view": None}
    assert forged_time.status_code == 404
    # The robot's view is kept, flagged, and told to no enrollment or goal.
    assert robot.json()["recorded"] is True
    [kept] = await _visits(admin, contact_id)
    assert "robot" in kept["data"]["machine"]
    with pytest.raises(RPCError, match="not found"):
        await client.get_workflow_handle(fan_out_id(kept["id"])).describe()

    # The same token in a person's browser is a visit that counts.
    async with httpx.AsyncClient(timeout=10, headers={"User-Agent": DESKTOP_AGENT}) as http:
        counted = await http.post(f"{served_api}/t/visits", json=visit)
    assert counted.json()["recorded"] is True
    await eventually(
        lambda: get_json(admin, f"/contacts/{contact_id}"), lambda c: "saw-pricing" in c["tags"]
    )
