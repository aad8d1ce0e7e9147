"""Reps in the web app, in a real browser (Debian's chromium): signing in, a To-Do list of
their own, a result picked on a call that brings the sequence's next step, and the refusals a
person sees as pages."""

import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx
from playwright.async_api import Browser, Page, expect
from temporalio.worker import Worker

from api.services import people
from store import users
from store.db import SessionMaker, transaction
from store.models import Company, Contact, Note, Role, Task, User
from tests.browser import screenshot
from tests.integration.helpers import enroll, eventually, get_json, new_contact, published_sequence
from web.pages.todo import Item, by_when

PASSWORD = "correct horse battery"
CALL_THEN_PROPOSAL = {
    "tracks": [
        {
            "id": "main",
            "steps": [
                {
                    "id": "call",
                    "kind": "call",
                    "title": "Intro call",
                    "instructions": "Ask about their renewal date.",
                },
                {"id": "proposal", "kind": "task", "title": "Send the proposal", "due_in": "PT1S"},
            ],
        }
    ]
}


async def person(sessionmaker: SessionMaker, role: Role, name: str) -> User:
    async with transaction(sessionmaker) as session:
        user = await users.create_user(
            session,
            email=f"{name.lower()}-{uuid.uuid4().hex[:8]}@example.com",
            role=role,
            name=name,
        )
        await people.set_password(session, user, PASSWORD)
    return user


async def sign_in(page: Page, served_api: str, user: User, password: str = PASSWORD) -> None:
    await page.goto(f"{served_api}/app/todo")
    await expect(page).to_have_url(f"{served_api}/app/sign-in?next=/app/todo")
    await page.get_by_label("Email", exact=True).fill(user.email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()


async def signed_in_page(browser: Browser, served_api: str, user: User) -> Page:
    """A page of a new browser context, signed in as the user (close its context after)."""
    context = await browser.new_context()
    page = await context.new_page()
    await sign_in(page, served_api, user)
    return page


async def test_a_rep_signs_in_works_a_call_and_sees_the_next_step_arrive(
    admin: httpx.AsyncClient,
    worker: Worker,
    sessionmaker: SessionMaker,
    served_api: str,
    browser: Browser,
) -> None:
    rep = await person(sessionmaker, Role.rep, "Rita")
    colleague = await person(sessionmaker, Role.rep, "Carl")
    sequence_id = await published_sequence(admin, CALL_THEN_PROPOSAL)
    mine = await new_contact(
        admin, first_name="Ada", email="ada@example.com", phone="+15550100", owner_id=str(rep.id)
    )
    theirs = await new_contact(admin, first_name="Bob", owner_id=str(colleague.id))
    async with transaction(sessionmaker) as session:
        company = Company(name="Acme")
        session.add(company)
        await session.flush()
        ada = await session.get(Contact, uuid.UUID(mine))
        assert ada is not None
        ada.company_id = company.id
        session.add(Note(contact_id=ada.id, kind="call", body="Met at the trade fair"))
    for contact_id in (mine, theirs):
        await enroll(admin, sequence_id, contact_id)
    await eventually(
        lambda: get_json(admin, "/todo?everyone=true"), lambda page: len(page["items"]) == 2
    )

    context = await browser.new_context()
    page = await context.new_page()
    await sign_in(page, served_api, rep, password="not the password")
    await expect(page.get_by_role("alert")).to_contain_text("do not match")
    await page.get_by_label("Email", exact=True).fill(rep.email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(f"{served_api}/app/todo")

    # Only Rita's own call, with its contact's card and the step's instructions.
    calls = page.locator("article.todo")
    await expect(calls).to_have_count(1)
    call = calls.first
    await expect(call).to_contain_text("Intro call")
    await expect(call).to_contain_text("Ada")
    await expect(call).to_contain_text("Ask about their renewal date.")
    await expect(call.get_by_role("link", name="+15550100")).to_have_attribute(
        "href", "tel:+15550100"
    )
    await expect(page.locator("body")).not_to_contain_text("Bob")
    await expect(call).to_contain_text("Acme")
    await expect(call).to_contain_text("owner Rita")
    await call.get_by_text("Recent messages and notes").click()
    await expect(call).to_contain_text("Met at the trade fair")

    await screenshot(page, "todo")
    # On a phone's width nothing needs scrolling sideways.
    await page.set_viewport_size({"width": 390, "height": 844})
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    await page.set_viewport_size({"width": 1280, "height": 720})
    await call.get_by_label("Notes").fill("Voicemail, will try Thursday")
    await call.get_by_role("button", name="no answer").click()
    await expect(page).to_have_url(f"{served_api}/app/todo")

    async def proposal_shown() -> bool:
        await page.reload()
        return await page.locator("article.todo", has_text="Send the proposal").count() == 1

    await eventually(proposal_shown, lambda shown: shown)
    await expect(page.locator("article.todo")).to_have_count(1)
    [done] = [t for t in await get_json(admin, f"/contacts/{mine}/tasks") if t["kind"] == "call"]
    assert (done["result"], done["notes"], done["completed_by"]) == (
        "no_answer",
        "Voicemail, will try Thursday",
        str(rep.id),
    )

    # Snoozed for a day, the proposal leaves what is due now for the upcoming list.
    proposal = page.locator("article.todo", has_text="Send the proposal")
    due_now = page.locator("section.overdue, section.today").locator("article.todo")
    await expect(due_now).to_have_count(1)
    await proposal.get_by_text("Later, or someone else").click()
    await proposal.get_by_role("button", name="a day").click()
    await expect(due_now).to_have_count(0)
    await expect(page.locator("section.upcoming article.todo")).to_contain_text("Send the proposal")
    # Reps hand nothing on: that is for managers and admins.
    await expect(page.get_by_role("button", name="Reassign")).to_have_count(0)
    await context.close()


async def test_a_manager_hands_a_to_do_on_and_a_rep_skips_it(
    admin: httpx.AsyncClient,
    worker: Worker,
    sessionmaker: SessionMaker,
    served_api: str,
    browser: Browser,
) -> None:
    manager = await person(sessionmaker, Role.manager, "Maya")
    rep = await person(sessionmaker, Role.rep, "Rita")
    sequence_id = await published_sequence(admin, CALL_THEN_PROPOSAL)
    contact_id = await new_contact(admin, first_name="Ada", owner_id=str(manager.id))
    await enroll(admin, sequence_id, contact_id)
    await eventually(
        lambda: get_json(admin, "/todo?everyone=true"), lambda page: len(page["items"]) == 1
    )

    page = await signed_in_page(browser, served_api, manager)
    await page.get_by_role("link", name="Everyone's").click()
    call = page.locator("article.todo", has_text="Intro call")
    await expect(call).to_contain_text("for Maya")
    await call.get_by_text("Later, or someone else").click()
    await call.get_by_label("Hand to").select_option(label="Rita")
    await call.get_by_role("button", name="Reassign").click()
    await expect(call).to_contain_text("for Rita")
    await page.context.close()

    page = await signed_in_page(browser, served_api, rep)
    call = page.locator("article.todo", has_text="Intro call")
    await call.get_by_label("Notes").fill("Already talked at the fair")
    await call.get_by_role("button", name="Skip").click()
    await expect(page.locator("article.todo")).to_have_count(0)
    # The sequence went on: the proposal is for the contact's owner, the manager.
    [proposal] = (
        await eventually(lambda: get_json(admin, "/todo?everyone=true"), lambda p: p["items"])
    )["items"]
    assert (proposal["title"], proposal["assigned_to"]) == ("Send the proposal", str(manager.id))
    [skipped] = [
        t for t in await get_json(admin, f"/contacts/{contact_id}/tasks") if t["kind"] == "call"
    ]
    assert (skipped["status"], skipped["result"], skipped["notes"]) == (
        "skipped",
        None,
        "Already talked at the fair",
    )
    await page.context.close()


async def test_a_rep_is_refused_another_reps_to_do_and_forms_without_the_session_token(
    admin: httpx.AsyncClient,
    worker: Worker,
    sessionmaker: SessionMaker,
    served_api: str,
    browser: Browser,
) -> None:
    rep = await person(sessionmaker, Role.rep, "Rita")
    colleague = await person(sessionmaker, Role.rep, "Carl")
    sequence_id = await published_sequence(admin, CALL_THEN_PROPOSAL)
    theirs = await new_contact(admin, first_name="Bob", owner_id=str(colleague.id))
    await enroll(admin, sequence_id, theirs)
    [their_call] = (
        await eventually(lambda: get_json(admin, "/todo?everyone=true"), lambda p: p["items"])
    )["items"]

    page = await signed_in_page(browser, served_api, rep)
    await expect(page).to_have_url(f"{served_api}/app/todo")
    csrf = await page.locator("form.who input[name=csrf]").get_attribute("value")
    assert csrf

    outcome = f"{served_api}/app/tasks/{their_call['id']}/outcome"
    refused = await page.request.post(outcome, form={"csrf": csrf, "result": "no_answer"})
    assert refused.status == 403
    assert "assigned to someone else" in await refused.text()
    forged = await page.request.post(outcome, form={"csrf": "forged", "result": "no_answer"})
    assert forged.status == 403 and "form has expired" in await forged.text()
    assert (await get_json(admin, f"/tasks/{their_call['id']}"))["status"] == "open"

    # Signed out, the session's cookie no longer opens anything.
    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url(f"{served_api}/app/sign-in")
    await page.goto(f"{served_api}/app/todo")
    await expect(page).to_have_url(f"{served_api}/app/sign-in?next=/app/todo")
    await page.context.close()


async def test_a_rep_in_another_timezone_sees_their_own_day_and_reschedules_in_it(
    admin: httpx.AsyncClient, sessionmaker: SessionMaker, served_api: str, browser: Browser
) -> None:
    rep = await person(sessionmaker, Role.rep, "Tess")
    contact_id = uuid.UUID(await new_contact(admin, first_name="Ivy"))
    async with transaction(sessionmaker) as session:
        task = Task(
            contact_id=contact_id,
            kind="task",
            title="Send the brochure",
            assigned_to=rep.id,
            due_at=datetime(2030, 1, 1, 12, 0, tzinfo=UTC),
            allowed_results=["done"],
        )
        session.add(task)
    page = await signed_in_page(browser, served_api, rep)
    todo = page.locator("article.todo")
    await expect(todo.locator("time")).to_have_text("due Tue 01 Jan 12:00 UTC")

    await page.get_by_role("link", name="You").click()
    await page.get_by_label("Timezone", exact=True).select_option("Pacific/Kiritimati")
    await page.get_by_role("button", name="Keep").click()
    await page.get_by_role("link", name="To-Do").click()
    # Kiritimati is 14 hours ahead: noon UTC is two in the morning of the next day there.
    await expect(todo.locator("time")).to_have_text("due Wed 02 Jan 02:00 +14")
    await todo.get_by_text("Later, or someone else").click()
    await expect(todo.get_by_label("Due (Pacific/Kiritimati)")).to_be_visible()
    await todo.get_by_label("Due (Pacific/Kiritimati)").fill("2030-01-03T09:00")
    await todo.get_by_role("button", name="Reschedule").click()
    await expect(todo.locator("time")).to_have_text("due Thu 03 Jan 09:00 +14")
    async with sessionmaker() as session:
        kept = await session.get(Task, task.id)
        assert kept is not None and kept.due_at == datetime(2030, 1, 2, 19, 0, tzinfo=UTC)
    await page.context.close()


def test_today_is_the_persons_own_day() -> None:
    kiritimati = ZoneInfo("Pacific/Kiritimati")
    # 20:00 UTC on 1 January is 10:00 on 2 January in Kiritimati.
    now = datetime(2030, 1, 1, 20, 0, tzinfo=UTC)

    def item(due: datetime) -> Item:
        return Item(
            Task(contact_id=uuid.uuid4(), kind="task", title="t", due_at=due), Contact(), None
        )

    late_in_utc_day = item(datetime(2030, 1, 1, 23, 0, tzinfo=UTC))  # 13:00 on the 2nd there
    next_utc_day = item(datetime(2030, 1, 2, 8, 0, tzinfo=UTC))  # 22:00 on the 2nd there
    in_utc = by_when([late_in_utc_day, next_utc_day], now)
    assert (in_utc.today, in_utc.upcoming) == ([late_in_utc_day], [next_utc_day])
    there = by_when([late_in_utc_day, next_utc_day], now.astimezone(kiritimati))
    assert there.today == [late_in_utc_day, next_utc_day]


async def test_a_rep_works_the_list_from_the_keyboard(
    admin: httpx.AsyncClient,
    worker: Worker,
    sessionmaker: SessionMaker,
    served_api: str,
    browser: Browser,
) -> None:
    rep = await person(sessionmaker, Role.rep, "Kit")
    sequence_id = await published_sequence(admin, CALL_THEN_PROPOSAL)
    contact_id = await new_contact(admin, first_name="Ida", owner_id=str(rep.id))
    await enroll(admin, sequence_id, contact_id)
    page = await signed_in_page(browser, served_api, rep)
    call = page.get_by_role("article", name="call: Intro call")
    await expect(call).to_be_visible()

    await page.keyboard.press("?")
    await expect(page.get_by_role("complementary", name="Keys")).to_be_visible()
    await page.keyboard.press("j")
    await expect(call).to_be_focused()
    await page.keyboard.press("n")
    await page.keyboard.type("Left a message")  # typed into the notes, not taken as keys
    await expect(call.get_by_label("Notes")).to_have_value("Left a message")
    await call.focus()
    await page.keyboard.press("2")  # the second result: left voicemail

    async def call_done() -> list[dict[str, object]]:
        return [t for t in await get_json(admin, f"/contacts/{contact_id}/tasks") if t["result"]]

    [done] = await eventually(call_done, lambda found: len(found) == 1)
    assert (done["result"], done["notes"]) == ("left_voicemail", "Left a message")
    await page.context.close()
