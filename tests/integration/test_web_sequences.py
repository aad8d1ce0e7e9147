"""Managers watch a sequence run, in a real browser (Debian's chromium): its tracks drawn side
by side with each step's live counts; reps are refused the page."""

from datetime import UTC, datetime, timedelta

import httpx
from playwright.async_api import Browser, expect
from temporalio.worker import Worker

from store.db import SessionMaker
from store.models import Role
from tests.browser import screenshot
from tests.integration.conftest import SmtpSink
from tests.integration.helpers import (
    enroll,
    enrollment_status,
    eventually,
    get_json,
    new_contact,
    published_sequence,
)
from tests.integration.mail import emails
from tests.integration.test_web_todo import person, signed_in_page

TWO_TRACKS = {
    "tracks": [
        {
            "id": "mail",
            "name": "Mail <b>track</b>",
            "steps": [
                {"id": "pause", "kind": "delay", "duration": "PT12S"},
                {"id": "hello", "kind": "email", "subject": "Hello", "body": "Hi"},
            ],
        },
        {
            "id": "calls",
            "steps": [
                {
                    "id": "call",
                    "kind": "call",
                    "title": "Intro call",
                    "outcomes": {"no_answer": {"go_to": "call"}},
                },
            ],
        },
    ]
}


async def test_a_manager_watches_the_count_on_a_delay_go_from_one_to_none(
    admin: httpx.AsyncClient,
    worker: Worker,
    sessionmaker: SessionMaker,
    served_api: str,
    browser: Browser,
) -> None:
    manager = await person(sessionmaker, Role.manager, "Maya")
    sequence_id = await published_sequence(admin, TWO_TRACKS)
    contact_id = await new_contact(admin, owner_id=str(manager.id))

    page = await signed_in_page(browser, served_api, manager)
    await page.get_by_role("link", name="Sequences", exact=True).click()
    await page.locator("table a").first.click()
    await expect(page).to_have_url(f"{served_api}/app/sequences/{sequence_id}")

    # Both tracks, side by side; names are text, never markup.
    await expect(page.locator("svg.diagram text.track")).to_have_text(
        ["Mail <b>track</b>", "calls"]
    )
    pause = page.locator("g.step[data-step=pause]")
    await expect(pause).to_have_class("step timers")
    await expect(page.locator("svg.diagram text.arrow-label")).to_contain_text(["no answer"])
    # The page refreshes its counts by itself (every 5 s): the delay holds the enrollment for
    # 12 s, then lets go.
    await expect(pause.locator("tspan.waiting")).to_have_text("0 waiting")
    await enroll(admin, sequence_id, contact_id)
    await expect(pause.locator("tspan.waiting")).to_have_text("1 waiting", timeout=15_000)
    await expect(pause.locator("tspan.waiting")).to_have_text("0 waiting", timeout=30_000)
    await expect(page.locator("g.step[data-step=call] tspan.waiting")).to_have_text("1 waiting")

    await screenshot(page, "sequence")
    # The report as charts: where enrollments are, and each step reached.
    funnel = page.get_by_role("figure", name="Reached, step by step")
    await expect(funnel.locator("g.bar")).to_have_count(3)
    for step in ("pause", "hello", "call"):
        await expect(funnel.locator(f"g.bar[data-label={step}]")).to_have_attribute(
            "data-value", "1"
        )
    statuses = page.get_by_role("figure", name="Where enrollments are")
    await expect(statuses.locator("g.bar[data-label=active]")).to_have_attribute("data-value", "1")
    # Filtered to enrollments of a later day, there are none.
    later = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    await page.get_by_label("Enrolled from (UTC)").fill(later)
    await page.get_by_role("button", name="Show").click()
    await expect(page.locator("p.summary")).to_contain_text("0 enrolled")
    await expect(funnel.locator("g.bar")).to_have_count(0)
    await page.get_by_label("Enrolled from (UTC)").fill("")
    await page.get_by_label("Version enrolled on").select_option("1")
    await page.get_by_role("button", name="Show").click()
    await expect(page.locator("p.summary")).to_contain_text("1 enrolled")
    await page.context.close()


async def test_a_rep_cannot_open_the_sequences(
    sessionmaker: SessionMaker, served_api: str, browser: Browser
) -> None:
    rep = await person(sessionmaker, Role.rep, "Rita")
    page = await signed_in_page(browser, served_api, rep)
    await expect(page.get_by_role("link", name="Sequences", exact=True)).to_have_count(0)
    response = await page.goto(f"{served_api}/app/sequences")
    assert response is not None and response.status == 403
    await expect(page.get_by_role("alert")).to_contain_text("needs one of the roles")
    await page.context.close()


async def test_a_manager_stops_reactivates_and_removes_enrollments_from_the_list(
    admin: httpx.AsyncClient,
    worker: Worker,
    sessionmaker: SessionMaker,
    served_api: str,
    browser: Browser,
) -> None:
    manager = await person(sessionmaker, Role.manager, "Maya")
    sequence_id = await published_sequence(admin, TWO_TRACKS)
    ada = await new_contact(admin, first_name="Ada", owner_id=str(manager.id))
    bob = await new_contact(admin, first_name="Bob", owner_id=str(manager.id))
    first, second = [await enroll(admin, sequence_id, c) for c in (ada, bob)]
    await eventually(
        lambda: get_json(admin, "/todo?everyone=true"), lambda page: len(page["items"]) == 2
    )

    page = await signed_in_page(browser, served_api, manager)
    await page.goto(f"{served_api}/app/sequences/{sequence_id}")
    await page.get_by_role("link", name="Enrolled contacts").click()
    listed = page.get_by_role("table", name="Enrollments").locator("tr.enrollment")
    await expect(listed).to_have_count(2)
    await screenshot(page, "enrollments")

    # Stop both, cancelling their open calls.
    await page.get_by_label("Choose Ada").check()
    await page.get_by_label("Choose Bob").check()
    await page.get_by_role("radio", name="Stop").check()
    await page.get_by_role("radio", name="cancel", exact=True).check()
    await page.get_by_role("button", name="Apply").click()
    answers = page.get_by_role("table", name="Results").locator("tr.answer.status-202")
    await expect(answers).to_have_count(2)
    for enrollment in (first, second):
        await enrollment_status(admin, enrollment["id"], "stopped")
    assert (await get_json(admin, "/todo?everyone=true"))["items"] == []

    # Reactivate Ada; removing Bob asks to be meant first.
    await page.get_by_role("link", name="Back to the enrolled contacts").click()
    await page.get_by_label("Choose Ada").check()
    await page.get_by_role("radio", name="Reactivate").check()
    await page.get_by_role("button", name="Apply").click()
    await expect(answers).to_have_count(1)
    await enrollment_status(admin, first["id"], "active")
    await page.get_by_role("link", name="Back to the enrolled contacts").click()
    await page.get_by_label("Choose Bob").check()
    await page.get_by_role("radio", name="Remove for good").check()
    await page.get_by_role("button", name="Apply").click()
    await expect(page.get_by_role("alert")).to_contain_text("removing is for good")
    await page.go_back()
    await page.get_by_label("Choose Bob").check()
    await page.get_by_role("radio", name="Remove for good").check()
    await page.get_by_label("I mean it").check()
    await page.get_by_role("button", name="Apply").click()
    await expect(answers).to_have_count(1)
    remaining = await get_json(admin, f"/sequences/{sequence_id}/enrollments")
    assert [e["id"] for e in remaining] == [first["id"]]
    await page.context.close()


async def test_a_manager_compares_versions_and_sees_the_drafts_changes(
    admin: httpx.AsyncClient, sessionmaker: SessionMaker, served_api: str, browser: Browser
) -> None:
    manager = await person(sessionmaker, Role.manager, "Maya")
    sequence_id = await published_sequence(admin, TWO_TRACKS)
    second = {"tracks": [dict(track) for track in TWO_TRACKS["tracks"]]}
    mail = second["tracks"][0]
    mail["steps"] = [
        {"id": "pause", "kind": "delay", "duration": "P1D"},
        {"id": "hello", "kind": "email", "subject": "Hello", "body": "Hi"},
        {"id": "tag", "kind": "apply_tag", "tag": "welcomed"},
    ]
    for definition, publish in ((second, True), (TWO_TRACKS, False)):
        edited = await admin.put(
            f"/sequences/{sequence_id}", json={"name": "Welcome", "definition": definition}
        )
        assert edited.status_code == 200, edited.text
        if publish:
            assert (await admin.post(f"/sequences/{sequence_id}/publish")).status_code == 201

    page = await signed_in_page(browser, served_api, manager)
    await page.goto(f"{served_api}/app/sequences/{sequence_id}")
    await page.get_by_role("link", name="Versions").click()
    compared = page.get_by_role("region", name="Compare")
    await expect(compared).to_contain_text("Version 1 to version 2")
    await expect(compared.locator("li.added")).to_have_text(["mail: tag added"])
    await expect(compared.locator("li.changed")).to_have_text(["mail: pause changed: duration"])
    draft = page.get_by_role("region", name="The draft")
    await expect(draft.locator("li.removed")).to_have_text(["mail: tag removed"])
    await page.context.close()


LONG_WAIT = {
    "tracks": [
        {
            "id": "main",
            "steps": [
                {"id": "hold", "kind": "delay", "duration": "P7D"},
                {"id": "bye", "kind": "apply_tag", "tag": "done"},
            ],
        }
    ]
}


async def test_the_migrate_dialog_lists_the_positions_that_would_be_lost(
    admin: httpx.AsyncClient,
    worker: Worker,
    sessionmaker: SessionMaker,
    served_api: str,
    browser: Browser,
) -> None:
    manager = await person(sessionmaker, Role.manager, "Maya")
    sequence_id = await published_sequence(admin, LONG_WAIT)
    enrollment = await enroll(admin, sequence_id, await new_contact(admin))
    await eventually(
        lambda: get_json(admin, f"/enrollments/{enrollment['id']}"),
        lambda e: e["current_step"] == "hold",
    )

    async def publish(steps: list[dict[str, object]]) -> None:
        definition = {"tracks": [{"id": "main", "steps": steps}]}
        put = await admin.put(
            f"/sequences/{sequence_id}", json={"name": "Wait", "definition": definition}
        )
        assert put.status_code == 200, put.text
        assert (await admin.post(f"/sequences/{sequence_id}/publish")).status_code == 201

    bye: dict[str, object] = {"id": "bye", "kind": "apply_tag", "tag": "done"}
    await publish([bye])  # version 2 has no "hold"

    page = await signed_in_page(browser, served_api, manager)
    await page.goto(f"{served_api}/app/sequences/{sequence_id}")
    await page.get_by_role("link", name="Migrate to version 2").click()
    lost = page.get_by_role("table", name="Positions that would be lost")
    await expect(lost.locator("tr.blocked td")).to_have_text([enrollment["id"], "main/hold"])
    await expect(page.get_by_role("button", name="Migrate")).to_have_count(0)

    await publish([{"id": "hold", "kind": "delay", "duration": "P1D"}, bye])  # version 3 does
    await page.goto(f"{served_api}/app/sequences/{sequence_id}/migrate")
    await page.get_by_role("button", name="Migrate 1 enrollment(s)").click()
    await expect(page.get_by_role("status")).to_contain_text("1 enrollment(s) moved")
    await eventually(
        lambda: get_json(admin, f"/enrollments/{enrollment['id']}"), lambda e: e["version"] == 3
    )
    await page.context.close()


PERSONAL = {
    "tracks": [
        {
            "id": "main",
            "steps": [
                {
                    "id": "hello",
                    "kind": "email",
                    "subject": "Hello {{ contact.first_name }}",
                    "body": "Hi {{ contact.first_name }}, <b>welcome</b>.",
                    "html": "<p>Hi <b>{{ contact.first_name }}</b></p>",
                },
                {"id": "text", "kind": "sms", "text": "Hi {{ contact.first_name }}!"},
            ],
        }
    ]
}


async def test_a_communication_step_is_previewed_for_a_contact_and_sent_as_a_test(
    admin: httpx.AsyncClient,
    sessionmaker: SessionMaker,
    served_api: str,
    browser: Browser,
    smtp_sink: SmtpSink,
) -> None:
    manager = await person(sessionmaker, Role.manager, "Maya")
    sequence_id = await published_sequence(admin, PERSONAL)
    await new_contact(admin, first_name="Ada", email="ada@example.com")

    page = await signed_in_page(browser, served_api, manager)
    await page.goto(f"{served_api}/app/sequences/{sequence_id}/preview")
    await page.get_by_label("Step").select_option("hello")
    await page.get_by_label("For the contact with email").fill("ada@example.com")
    await page.get_by_role("button", name="Preview").click()
    shown = page.get_by_role("region", name="Preview")
    await expect(shown.locator("pre.subject")).to_have_text("Hello Ada")
    # The text part is text: its markup is shown, not run.
    await expect(shown.locator("pre.body")).to_have_text("Hi Ada, <b>welcome</b>.")
    frame = page.frame_locator("iframe.html-preview")
    await expect(frame.locator("b")).to_have_text("Ada")

    await shown.get_by_label("Send a test to").fill("designer@example.com")
    await shown.get_by_role("button", name="Send test").click()
    await expect(page.get_by_role("status")).to_contain_text("designer@example.com")
    [test] = await emails(smtp_sink, "designer@example.com", 1)
    assert test["Subject"] == "[Test] Hello Ada"

    await page.get_by_label("Step").select_option("text")
    await page.get_by_role("button", name="Preview").click()
    await expect(shown.locator("pre.text")).to_have_text("Hi Ada!")
    await shown.get_by_label("Send a test to").fill("designer@example.com")
    await shown.get_by_role("button", name="Send test").click()
    await expect(page.get_by_role("alert")).to_contain_text("only emails can be sent as a test")
    await page.context.close()


async def test_a_manager_shares_a_sequence_with_a_rep_and_archives_it(
    admin: httpx.AsyncClient, sessionmaker: SessionMaker, served_api: str, browser: Browser
) -> None:
    manager = await person(sessionmaker, Role.manager, "Mona")
    rep = await person(sessionmaker, Role.rep, "Reed")
    sequence_id = await published_sequence(admin, TWO_TRACKS)
    page = await signed_in_page(browser, served_api, manager)
    await page.goto(f"{served_api}/app/sequences/{sequence_id}")
    await page.get_by_role("link", name="Sharing").click()
    await page.get_by_label("Rep").select_option(label="Reed")
    await page.get_by_role("button", name="Share", exact=True).click()
    shared = page.get_by_role("table", name="Shared with")
    await expect(shared).to_contain_text(rep.email)
    shares = await get_json(admin, f"/sequences/{sequence_id}/shares")
    assert [s["user_id"] for s in shares] == [str(rep.id)]

    await shared.get_by_role("button", name="Stop sharing with Reed").click()
    await expect(shared).to_contain_text("No rep yet.")
    assert await get_json(admin, f"/sequences/{sequence_id}/shares") == []

    await page.goto(f"{served_api}/app/sequences/{sequence_id}")
    await page.get_by_role("button", name="Archive: no new enrollments").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("archived")
    assert (await get_json(admin, f"/sequences/{sequence_id}"))["status"] == "archived"
    await page.context.close()
