"""Designers build sequences on the canvas, in a real browser (Debian's chromium): a palette
adds steps, a side panel generated from the language's schema edits them, the API's own
messages show on the step and field at fault, cards are dragged between tracks, and the draft
is saved and published; reps are refused the canvas."""

import asyncio
import html
import json
import re

import httpx
from playwright.async_api import Browser, Locator, Page, expect
from temporalio.worker import Worker

from api.services import people
from store.db import SessionMaker, transaction
from store.models import Role
from tests.browser import screenshot
from tests.integration.helpers import get_json, new_contact, published_sequence
from tests.integration.test_web_todo import person, signed_in_page
from web.auth import SESSION_COOKIE


def card(page: Page, step_id: str) -> Locator:
    return page.locator(f"#editor g.step[data-step='{step_id}']")


async def drag(page: Page, moved: Locator, onto: Locator, below: bool = True) -> None:
    """Press on a card, carry it over another and let go just below (or above) its middle."""
    await moved.scroll_into_view_if_needed()
    start, end = await moved.bounding_box(), await onto.bounding_box()
    assert start is not None and end is not None
    await page.mouse.move(start["x"] + 40, start["y"] + 20)
    await page.mouse.down()
    offset = end["height"] * (0.75 if below else 0.25)
    await page.mouse.move(end["x"] + 40, end["y"] + offset, steps=12)
    await page.mouse.up()


async def test_a_designer_builds_publishes_and_watches_a_two_track_sequence(
    admin: httpx.AsyncClient,
    worker: Worker,
    sessionmaker: SessionMaker,
    served_api: str,
    browser: Browser,
) -> None:
    designer = await person(sessionmaker, Role.manager, "Dana")
    contact_id = await new_contact(admin, first_name="Cora", email="cora@example.com")
    page = await signed_in_page(browser, served_api, designer)
    await page.get_by_role("link", name="Sequences", exact=True).click()
    await page.get_by_role("link", name="New sequence").click()
    await page.get_by_label("Name").fill("Canvas welcome")
    await page.get_by_role("button", name="Create and open the canvas").click()
    await expect(page.locator("#editor svg.diagram")).to_be_visible()
    sequence_id = page.url.split("/")[-2]

    # The delay it starts with, edited in the panel: a wrong duration is the API's message,
    # on the field and on the card, while typing; fixed, both clear.
    await card(page, "delay-1").click()
    panel = page.get_by_role("region", name="Edit")
    await expect(panel.get_by_role("heading")).to_have_text("delay step")
    duration = panel.get_by_label("duration", exact=True)
    await duration.fill("3 seconds")
    await expect(panel.locator("#problem-duration")).to_contain_text(
        "is not an ISO 8601 duration; write it like PT30M"
    )
    await expect(card(page, "delay-1")).to_have_class("step timers invalid selected")
    await expect(page.get_by_role("region", name="Problems")).to_contain_text(
        "step 'delay-1' (tracks[0].steps[0]) · duration"
    )
    await duration.fill("PT15S")
    await expect(panel.locator("#problem-duration")).to_be_empty()
    await expect(card(page, "delay-1")).to_have_class("step timers selected")

    # An email after it, from the palette: unfinished (no body) until the panel fills it in.
    await page.get_by_role("button", name="email", exact=True).click()
    await expect(card(page, "email-1")).to_have_class("step communications invalid selected")
    await expect(panel.get_by_role("heading")).to_have_text("email step")
    await panel.get_by_label("subject").fill("Welcome, {{ contact.first_name }}")
    await panel.get_by_label("body", exact=True).fill("Glad you are here.")
    await expect(card(page, "email-1")).to_have_class("step communications selected")

    # A second track with a call; the track starts empty, which the language refuses.
    await page.get_by_role("button", name="+ track").click()
    await expect(page.get_by_role("region", name="Problems")).to_contain_text(
        "track 'track-2' (tracks[1]) · steps"
    )
    await page.get_by_label("Add to").select_option(label="track-2")
    await page.get_by_role("button", name="call", exact=True).click()
    await expect(card(page, "call-1")).to_have_attribute("data-at", "1.0")
    await panel.get_by_label("title").fill("Welcome call")
    await expect(page.locator("#view .status")).to_contain_text("No problems")

    # Dragged, the email moves to the call's track, below it; moved back with the keyboard's
    # buttons, it is the first track's again.
    await drag(page, card(page, "email-1"), card(page, "call-1"))
    await expect(card(page, "email-1")).to_have_attribute("data-at", "1.1")
    await panel.get_by_label("to track").select_option(label="track-1")
    await panel.get_by_role("button", name="Move", exact=True).click()
    await expect(card(page, "email-1")).to_have_attribute("data-at", "0.1")
    await expect(page.locator("#view .status")).to_contain_text("Unsaved changes")
    await screenshot(page, "canvas")

    await page.get_by_role("button", name="Publish").click()
    await expect(page.locator("#view .status")).to_contain_text("Published as version 1.")
    await expect(page.locator("#view .status")).not_to_contain_text("Unsaved changes")
    published = await get_json(admin, f"/sequences/{sequence_id}/versions/1")
    tracks = published["definition"]["tracks"]
    assert [[s["id"] for s in t["steps"]] for t in tracks] == [["delay-1", "email-1"], ["call-1"]]
    assert tracks[0]["steps"][0]["duration"] == "PT15S"

    # Enrolled from the contact's page, the contact waits on the delay, then passes it.
    await page.goto(f"{served_api}/app/contacts/{contact_id}")
    await page.locator("select[name=sequence_id]").select_option(label="Canvas welcome")
    await page.get_by_role("button", name="Enroll").click()
    await expect(page.get_by_role("table", name="Results")).to_contain_text("enrolled")
    await page.goto(f"{served_api}/app/sequences/{sequence_id}")
    waiting = page.locator("g.step[data-step='delay-1'] tspan.waiting")
    await expect(waiting).to_have_text("1 waiting", timeout=10_000)
    await expect(waiting).to_have_text("0 waiting", timeout=30_000)
    await page.context.close()


async def test_a_draft_with_problems_is_not_saved_and_someone_elses_save_is_not_overwritten(
    admin: httpx.AsyncClient, sessionmaker: SessionMaker, served_api: str, browser: Browser
) -> None:
    designer = await person(sessionmaker, Role.manager, "Dora")
    definition = {
        "tracks": [{"id": "main", "steps": [{"id": "tag", "kind": "apply_tag", "tag": "a"}]}]
    }
    sequence_id = await published_sequence(admin, definition)
    page = await signed_in_page(browser, served_api, designer)
    await page.goto(f"{served_api}/app/sequences/{sequence_id}/edit")
    await card(page, "tag").click()
    panel = page.get_by_role("region", name="Edit")
    await panel.get_by_label("tag", exact=True).fill("")
    await expect(card(page, "tag")).to_have_class("step processes invalid selected")
    await page.get_by_role("button", name="Save draft").click()
    await expect(page.locator("#view .status")).to_contain_text(
        "not saved: fix the problems shown first"
    )
    kept = await get_json(admin, f"/sequences/{sequence_id}")
    assert kept["definition"]["tracks"][0]["steps"][0]["tag"] == "a"

    # Someone saves the draft meanwhile (through the API): this page's save is refused.
    changed = {
        "tracks": [{"id": "main", "steps": [{"id": "tag", "kind": "apply_tag", "tag": "b"}]}]
    }
    response = await admin.put(
        f"/sequences/{sequence_id}", json={"name": "Theirs", "definition": changed}
    )
    assert response.status_code == 200
    await panel.get_by_label("tag", exact=True).fill("mine")
    await page.get_by_role("button", name="Save draft").click()
    await expect(page.locator("#view .status")).to_contain_text("someone saved this sequence")
    saved = await get_json(admin, f"/sequences/{sequence_id}")
    assert saved["definition"]["tracks"][0]["steps"][0]["tag"] == "b"
    await page.context.close()


async def test_a_rep_cannot_open_the_canvas(
    admin: httpx.AsyncClient, sessionmaker: SessionMaker, served_api: str, browser: Browser
) -> None:
    rep = await person(sessionmaker, Role.rep, "Remy")
    definition = {
        "tracks": [{"id": "main", "steps": [{"id": "tag", "kind": "apply_tag", "tag": "a"}]}]
    }
    sequence_id = await published_sequence(admin, definition)
    page = await signed_in_page(browser, served_api, rep)
    for path in (f"/app/sequences/{sequence_id}/edit", "/app/sequences/new"):
        response = await page.goto(f"{served_api}{path}")
        assert response is not None and response.status == 403
        await expect(page.get_by_role("alert")).to_contain_text("needs one of the roles")
    await page.context.close()


async def test_of_two_saves_sent_at_once_from_the_same_draft_one_is_kept_and_the_other_refused(
    admin: httpx.AsyncClient, sessionmaker: SessionMaker, served_api: str
) -> None:
    definition = {
        "tracks": [{"id": "main", "steps": [{"id": "tag", "kind": "apply_tag", "tag": "a"}]}]
    }
    sequence_id = await published_sequence(admin, definition)
    designers = []
    for name in ("Ann", "Ben"):
        user = await person(sessionmaker, Role.manager, name)
        async with transaction(sessionmaker) as session:
            opened = await people.open_session(session, user)
        client = httpx.AsyncClient(base_url=served_api, cookies={SESSION_COOKIE: opened.token})
        page = await client.get(f"/app/sequences/{sequence_id}/edit")
        base = re.search(r'name="base" value="([^"]+)"', page.text)
        assert base is not None
        designers.append((client, opened.csrf_token, html.unescape(base.group(1)), name))

    async def save(client: httpx.AsyncClient, csrf: str, base: str, tag: str) -> str:
        draft = {
            "tracks": [{"id": "main", "steps": [{"id": "tag", "kind": "apply_tag", "tag": tag}]}]
        }
        answer = await client.post(
            f"/app/sequences/{sequence_id}/edit",
            data={
                "csrf": csrf,
                "base": base,
                "name": "Welcome",
                "action": "save",
                "definition": json.dumps(draft),
            },
            headers={"HX-Request": "true"},
        )
        assert answer.status_code == 200, answer.text[:300]
        return answer.text

    answers = await asyncio.gather(
        *(save(client, csrf, base, name) for client, csrf, base, name in designers)
    )
    kept = ["Draft saved." in answer for answer in answers]
    refused = ["someone saved this sequence" in answer for answer in answers]
    assert sorted(kept) == [False, True] and sorted(refused) == [False, True]
    winner = designers[kept.index(True)][3]
    saved = await get_json(admin, f"/sequences/{sequence_id}")
    assert saved["definition"]["tracks"][0]["steps"][0]["tag"] == winner
    for client, *_ in designers:
        await client.aclose()
