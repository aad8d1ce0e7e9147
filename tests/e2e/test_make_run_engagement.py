"""People through `make run`'s stack, in a real browser (Debian's chromium). A lead: the email
shown in the mailbox is an open, its tracked link leads to the stand-in website, whose visit
steers the enrollment, and a reply written in the mailbox ends it, as a reply would in
production; the report says what the step achieved. The first admin: signs in to the web app
with the password the stack printed once, and again with a one-time link the mailbox shows."""

import re
from collections.abc import Iterator
from subprocess import Popen

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.browser import DESKTOP_AGENT
from tests.e2e.stack import OUTPUTS, mailbox_until, stack_ports, start_stack, stop_everything
from tests.integration.helpers import eventually

Stack = tuple[Popen[str], dict[str, int], str]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One stack for the module's tests: starting one costs most of a test's time."""
    data = tmp_path_factory.mktemp("stack") / "data"
    ports = stack_ports()
    # The person in this test follows the link at once, as no person could: no click counts
    # as a scanner's for being quick.
    process, key = start_stack(data, ports, settings={"TRACKING_SCANNER_SECONDS": "0"})
    assert key
    try:
        yield process, ports, key
    finally:
        stop_everything(process, data)


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


async def test_the_first_admin_signs_in_by_password_and_by_link(
    stack: Stack, browser: Browser
) -> None:
    process, ports, _ = stack
    api = f"http://127.0.0.1:{ports['api_port']}"
    printed = "".join(OUTPUTS[process.pid])
    found = re.search(r"as admin@localhost with the password (\S+) ", printed)
    assert found, printed
    assert f"Sign in to the web app at {api}/app" in printed

    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{api}/app")
    await page.get_by_label("Email", exact=True).fill("admin@localhost")
    await page.get_by_label("Password").fill(found.group(1))
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(f"{api}/app/todo")
    await page.get_by_role("button", name="Sign out").click()

    await page.get_by_label("Email me a sign-in link").fill("admin@localhost")
    await page.get_by_role("button", name="Send the link").click()
    messages = await mailbox_until(ports["mailbox_port"], "Your sign-in link")
    [text] = [m["text"] for m in messages if m["subject"] == "Your sign-in link"]
    link = re.search(r"http://\S+/app/link/\S+", text)
    assert link and link.group(0).startswith(api), text
    await page.goto(link.group(0))
    await page.get_by_role("button", name="Sign in with this link").click()
    await expect(page).to_have_url(f"{api}/app/todo")
    await expect(page.locator("header.bar")).to_contain_text("admin@localhost")
    await context.close()
