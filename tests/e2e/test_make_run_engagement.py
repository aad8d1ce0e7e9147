"""The engagement loop through `make run`'s stack, by a person in a real browser (Debian's
chromium): the email shown in the mailbox is an open, its tracked link leads to the stand-in
website, whose visit steers the enrollment, and a reply written in the mailbox ends it, as a
reply would in production; the report says what the step achieved."""

from collections.abc import Iterator
from pathlib import Path
from subprocess import Popen

import httpx
import pytest
from playwright.async_api import Browser

from tests.browser import DESKTOP_AGENT
from tests.e2e.stack import mailbox_until, stack_ports, start_stack, stop_everything
from tests.integration.helpers import eventually

Stack = tuple[Popen[str], dict[str, int], str]


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    ports = stack_ports()
    # The person in this test follows the link at once, as no person could: no click counts
    # as a scanner's for being quick.
    process, key = start_stack(tmp_path / "data", ports, settings={"TRACKING_SCANNER_SECONDS": "0"})
    assert key
    try:
        yield process, ports, key
    finally:
        stop_everything(process, tmp_path / "data")


async def test_a_visit_from_the_mailbox_steers_and_a_reply_from_it_ends_the_enrollment(
    stack: Stack, browser: Browser
) -> None:
    _, ports, key = stack
    mailbox = f"http://127.0.0.1:{ports['mailbox_port']}"
    api = f"http://127.0.0.1:{ports['api_port']}"
    definition = {
        "settings": {"exit_rules": [{"event": "replied", "outcome": "positive"}]},
        "tracks": [
            {
                "id": "main",
                "steps": [
                    {
                        "id": "offer",
                        "kind": "email",
                        "subject": "Our plans",
                        "body": f"See {mailbox}/site/pricing",
                        "html": f'<p>See <a href="{mailbox}/site/pricing">our plans</a>.</p>',
                    },
                    {
                        "id": "saw_pricing",
                        "kind": "wait_for_event",
                        "match": {"event": "page_visited", "url_contains": "/site/pricing"},
                        "within": "PT2M",
                        "if_happened": {"go_to": "priced"},
                        "if_not": {"end": "negative"},
                    },
                    {"id": "priced", "kind": "apply_tag", "tag": "saw-pricing"},
                    {"id": "await_reply", "kind": "delay", "duration": "PT10M"},
                ],
            }
        ],
    }
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=api, headers=headers, trust_env=False) as http:
        contact = (await http.post("/contacts", json={"email": "ada@example.com"})).json()
        sequence = (
            await http.post("/sequences", json={"name": "Plans", "definition": definition})
        ).json()
        await http.post(f"/sequences/{sequence['id']}/publish")
        enrolled = await http.post(
            f"/sequences/{sequence['id']}/enrollments", json={"contact_id": contact["id"]}
        )
        [offer] = await mailbox_until(ports["mailbox_port"], "Our plans")

        context = await browser.new_context(user_agent=DESKTOP_AGENT)
        page = await context.new_page()
        await page.goto(f"{mailbox}/messages/{offer['id']}")
        # The email's link, as its recipient follows it: through the API to the website.
        await page.click(f"a[href^='{api}/t/c/']")
        await page.wait_for_url(f"{mailbox}/site/pricing")
        assert await page.text_content("h1") == "Pricing"

        async def tags() -> list[str]:
            return list((await http.get(f"/contacts/{contact['id']}")).json()["tags"])

        await eventually(tags, lambda got: got == ["saw-pricing"])

        await page.goto(f"{mailbox}/messages/{offer['id']}")
        await page.fill("textarea[name=text]", "Yes please, call me on Monday.")
        await page.click("text=Send the reply")
        assert "recorded as replied" in (await page.text_content(".said") or "")

        async def enrollment() -> dict[str, str]:
            answer: dict[str, str] = (
                await http.get(f"/enrollments/{enrolled.json()['id']}")
            ).json()
            return answer

        ended = await eventually(enrollment, lambda got: got["status"] == "completed")
        assert ended["outcome"] == "positive"
        # Showing the email showed its images (the open pixel), as a mail client does.
        events = (await http.get(f"/contacts/{contact['id']}/events")).json()
        kinds = [e["event"] for e in reversed(events)]
        assert list(dict.fromkeys(kinds)) == [
            "email_opened",
            "link_clicked",
            "page_visited",
            "replied",
        ]
        assert not any(e["data"].get("machine") for e in events)
        [reply] = [e for e in events if e["event"] == "replied"]
        assert reply["data"]["text"] == "Yes please, call me on Monday."
        report = (await http.get(f"/sequences/{sequence['id']}/report")).json()
        achieved = report["steps"]["offer"]["engagement"]
        assert [achieved[k] for k in ("sent", "opened", "clicked", "replied")] == [1, 1, 1, 1]
        assert achieved["links"] == {f"{mailbox}/site/pricing": 1}
        await context.close()
