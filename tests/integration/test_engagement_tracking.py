"""The project's own open pixel and click redirects, over a real API server and SMTP sink: what
a person does steers the enrollment, what a scanner does is kept but steers nothing."""

import asyncio
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
import pytest
from temporalio.worker import Worker

from settings import Settings
from tests.integration.conftest import SmtpSink
from tests.integration.helpers import (
    enroll,
    enrollment_status,
    get_json,
    new_contact,
    published_sequence,
    timeline,
)
from tests.integration.mail import emails, hrefs, html_of, on_server, text_of

SCANNER_SECONDS = 2.0
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0"
WELCOME_LINK = "https://example.com/welcome?from=email&id=1"
PRICING_LINK = "https://example.com/pricing"

OFFER_SERIES = {
    "tracks": [
        {
            "id": "main",
            "steps": [
                {
                    "id": "welcome",
                    "kind": "email",
                    "subject": "Welcome",
                    "body": f"Start here: {WELCOME_LINK}",
                    "html": f'<html><body><a href="{WELCOME_LINK.replace("&", "&amp;")}">Start'
                    '</a> <a href="mailto:help@example.com">Help</a> '
                    '<a data-untracked href="https://example.com/terms">Terms</a></body></html>',
                },
                {
                    "id": "offer",
                    "kind": "email",
                    "subject": "An offer",
                    "body": f"See {PRICING_LINK}",
                    "html": f'<html><body><a href="{PRICING_LINK}">Pricing</a></body></html>',
                },
                {
                    "id": "clicked_offer",
                    "kind": "wait_for_event",
                    "match": {"event": "link_clicked", "step": "offer", "url_contains": "/pricing"},
                    "within": "PT12S",
                    "if_happened": {"go_to": "interested"},
                    "if_not": {"go_to": "not_yet"},
                },
                {
                    "id": "interested",
                    "kind": "apply_tag",
                    "tag": "clicked-offer",
                    "then": {"end": "positive"},
                },
                {"id": "not_yet", "kind": "apply_tag", "tag": "no-click"},
            ],
        }
    ]
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"tracking_scanner_seconds": SCANNER_SECONDS})


async def test_a_click_on_the_offer_takes_the_yes_branch_and_scanners_and_other_emails_do_not(
    admin: httpx.AsyncClient, worker: Worker, smtp_sink: SmtpSink, served_api: str
) -> None:
    sequence_id = await published_sequence(admin, OFFER_SERIES)
    clicker = await new_contact(admin, email="clicker@example.com")
    elsewhere = await new_contact(admin, email="elsewhere@example.com")
    first = await enroll(admin, sequence_id, clicker)
    second = await enroll(admin, sequence_id, elsewhere)
    clicker_welcome, clicker_offer = await emails(smtp_sink, "clicker@example.com", 2)
    other_welcome, other_offer = await emails(smtp_sink, "elsewhere@example.com", 2)

    # Links are rewritten in both parts, but mailto:, untracked and unsubscribe links are not.
    welcome_links = hrefs(html_of(clicker_welcome))
    assert welcome_links[1:3] == ["mailto:help@example.com", "https://example.com/terms"]
    assert "/unsubscribe/" in welcome_links[3]
    assert "/t/c/" in welcome_links[0] and WELCOME_LINK not in text_of(clicker_welcome)
    pixel = re.search(r'<img src="([^"]*/t/o/[^"]*)"', html_of(clicker_welcome))
    assert pixel is not None
    [offer_link] = [h for h in hrefs(html_of(other_offer)) if "/t/c/" in h]

    async with httpx.AsyncClient(follow_redirects=False, timeout=10) as http:
        # Scanners, all at once on arrival: a HEAD, a bot's agent, and a quick GET.
        head = await http.head(on_server(served_api, offer_link), headers={"User-Agent": BROWSER})
        bot = await http.get(
            on_server(served_api, offer_link), headers={"User-Agent": "Barracuda Sentinel (EE)"}
        )
        quick = await http.get(on_server(served_api, offer_link), headers={"User-Agent": BROWSER})
        assert [r.status_code for r in (head, bot, quick)] == [302, 302, 302]
        assert quick.headers["location"] == PRICING_LINK

        await asyncio.sleep(SCANNER_SECONDS + 0.5)
        # The second contact clicks in the welcome email: not the offer it waits for.
        [other_start] = [h for h in hrefs(html_of(other_welcome)) if "/t/c/" in h][:1]
        followed = await http.get(
            on_server(served_api, other_start), headers={"User-Agent": BROWSER}
        )
        assert followed.headers["location"] == WELCOME_LINK
        # The first opens the offer (images shown), then clicks its link in the text part.
        offer_pixel = re.search(r'<img src="([^"]*/t/o/[^"]*)"', html_of(clicker_offer))
        assert offer_pixel is not None
        image = await http.get(
            on_server(served_api, offer_pixel.group(1)), headers={"User-Agent": BROWSER}
        )
        assert image.status_code == 200 and image.headers["content-type"] == "image/gif"
        # Apple's privacy proxy fetches the second contact's welcome pixel.
        other_pixel = re.search(r'<img src="([^"]*/t/o/[^"]*)"', html_of(other_welcome))
        assert other_pixel is not None
        await http.get(
            on_server(served_api, other_pixel.group(1)), headers={"User-Agent": "Mozilla/5.0"}
        )
        [text_link] = re.findall(r"http://\S+/t/c/\S+", text_of(clicker_offer))
        clicked = await http.get(on_server(served_api, text_link), headers={"User-Agent": BROWSER})
        assert clicked.headers["location"] == PRICING_LINK
        # The click leaves the first-party identifier the site's visit script will read.
        assert "cs_visitor=" in clicked.headers["set-cookie"]

    done = await enrollment_status(admin, first["id"], "completed")
    assert done["outcome"] == "positive"
    assert "clicked-offer" in (await get_json(admin, f"/contacts/{clicker}"))["tags"]
    timed_out = await enrollment_status(admin, second["id"], "completed")
    assert timed_out["outcome"] != "positive"
    assert "no-click" in (await get_json(admin, f"/contacts/{elsewhere}"))["tags"]

    # Every hit is on the timeline; the machines' say why.
    events = await timeline(admin, elsewhere)
    clicks = [e for e in events if e["event"] == "link_clicked"]
    assert sorted(bool(e["data"].get("machine")) for e in clicks) == [False, True, True, True]
    assert {e["data"]["url"] for e in clicks if e["data"].get("machine")} == {PRICING_LINK}
    [machine_open] = [e for e in events if e["event"] == "email_opened"]
    assert "privacy proxy" in machine_open["data"]["machine"]

    report = await get_json(admin, f"/sequences/{sequence_id}/report")
    welcome, offer = (
        report["steps"]["welcome"]["engagement"],
        report["steps"]["offer"]["engagement"],
    )
    assert {k: welcome[k] for k in ("sent", "opened", "machine_opened", "clicked")} == {
        "sent": 2,
        "opened": 0,
        "machine_opened": 1,
        "clicked": 1,
    }
    assert welcome["links"] == {WELCOME_LINK: 1}
    assert {k: offer[k] for k in ("sent", "opened", "machine_opened", "clicked")} == {
        "sent": 2,
        "opened": 1,
        "machine_opened": 0,
        "clicked": 1,
    }
    assert offer["links"] == {PRICING_LINK: 1}
    assert offer["rates"]["clicked"] == 0.5 and offer["rates"]["click_to_open"] == 1.0
    # The same counts for its version's cohort, and for the days around today (UTC).
    today = datetime.now(UTC).date()
    for scope in ("version=1", f"since={today - timedelta(days=1)}&until={today}"):
        cohort = await get_json(admin, f"/sequences/{sequence_id}/report?{scope}")
        assert cohort["steps"]["offer"]["engagement"] == offer
        assert cohort["steps"]["welcome"]["engagement"] == welcome


async def test_a_forged_or_altered_tracking_link_gets_404_and_records_nothing(
    admin: httpx.AsyncClient, worker: Worker, smtp_sink: SmtpSink, served_api: str
) -> None:
    sequence_id = await published_sequence(admin, OFFER_SERIES)
    contact_id = await new_contact(admin, email="forger@example.com")
    await enroll(admin, sequence_id, contact_id)
    welcome, _ = await emails(smtp_sink, "forger@example.com", 2)
    link = on_server(served_api, hrefs(html_of(welcome))[0])
    token = urlsplit(link).path.rsplit("/", 1)[1]
    forged_token = token[:-1] + ("0" if token[-1] != "0" else "1")
    pixel = re.search(r'<img src="([^"]*/t/o/[^"]*)"', html_of(welcome))
    assert pixel is not None
    async with httpx.AsyncClient(follow_redirects=False, timeout=10) as http:
        await asyncio.sleep(SCANNER_SECONDS + 0.5)
        answers = [
            # Another target under the same signature: the redirect must not go there.
            await http.get(link.split("?")[0] + "?u=https%3A%2F%2Fevil.example%2F"),
            await http.get(link.replace(token, forged_token)),
            await http.get(f"{served_api}/t/c/not-a-token?u=https%3A%2F%2Fevil.example%2F"),
            await http.get(on_server(served_api, pixel.group(1)).replace(".gif", "0.gif")),
        ]
    assert [a.status_code for a in answers] == [404, 404, 404, 404]
    assert all("location" not in a.headers for a in answers)
    assert all(a.json()["status"] == 404 for a in answers)
    assert await timeline(admin, contact_id) == []
    messages = await get_json(admin, f"/contacts/{contact_id}/messages")
    assert all(m["clicked_at"] is None and m["opened_at"] is None for m in messages)


async def test_a_sequence_with_tracking_off_sends_its_links_as_written(
    admin: httpx.AsyncClient, worker: Worker, smtp_sink: SmtpSink
) -> None:
    untracked = {**OFFER_SERIES, "settings": {"sending": {"tracking": False}}}
    sequence_id = await published_sequence(admin, untracked)
    await enroll(admin, sequence_id, await new_contact(admin, email="private@example.com"))
    welcome, _ = await emails(smtp_sink, "private@example.com", 2)
    assert hrefs(html_of(welcome))[0] == WELCOME_LINK
    assert "/t/o/" not in html_of(welcome) and WELCOME_LINK in text_of(welcome)
