"""Signing in without a password, in a real browser: a one-time link asked for on the sign-in
page, and an admin's invitation, both delivered to a real SMTP sink."""

import re
import uuid

from playwright.async_api import Browser, Page, expect

from store.db import SessionMaker
from store.models import Role
from tests.integration.conftest import SmtpSink
from tests.integration.mail import emails, on_server, text_of
from tests.integration.test_web_todo import PASSWORD, person, sign_in


def link_in(message_text: str, served_api: str) -> str:
    found = re.search(r"https?://\S+/app/link/\S+", message_text)
    assert found, message_text
    return on_server(served_api, found.group(0))


async def use_link(page: Page, link: str) -> None:
    await page.goto(link)
    await page.get_by_role("button", name="Sign in with this link").click()


async def test_a_one_time_link_signs_in_once(
    sessionmaker: SessionMaker, served_api: str, browser: Browser, smtp_sink: SmtpSink
) -> None:
    rep = await person(sessionmaker, Role.rep, "Rita")
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{served_api}/app/sign-in")
    for address in (rep.email, "nobody@example.com"):
        await page.goto(f"{served_api}/app/sign-in")
        await page.get_by_label("Email me a sign-in link").fill(address)
        await page.get_by_role("button", name="Send the link").click()
        # The same answer whether or not the address has an account.
        await expect(page.get_by_role("status")).to_contain_text("a sign-in link is on its way")
    [message] = await emails(smtp_sink, rep.email, 1)
    assert smtp_sink.to("nobody@example.com") == []
    link = link_in(text_of(message), served_api)

    # Fetching the link, as a mail scanner does, does not spend it.
    assert (await page.request.get(link)).status == 200
    await use_link(page, link)
    await expect(page).to_have_url(f"{served_api}/app/todo")
    await expect(page.locator("header.bar")).to_contain_text("Rita")

    other = await browser.new_context()
    again = await other.new_page()
    await use_link(again, link)
    await expect(again.get_by_role("alert")).to_contain_text("used already or has expired")
    await other.close()
    await context.close()


async def test_an_admin_invites_a_rep_who_chooses_a_password(
    sessionmaker: SessionMaker, served_api: str, browser: Browser, smtp_sink: SmtpSink
) -> None:
    admin = await person(sessionmaker, Role.admin, "Alice")
    rep = await person(sessionmaker, Role.rep, "Rita")
    invited = f"newcomer-{uuid.uuid4().hex[:8]}@example.com"

    context = await browser.new_context()
    page = await context.new_page()
    await sign_in(page, served_api, admin)
    await page.get_by_role("link", name="People").click()
    await page.get_by_label("Email").fill(invited)
    await page.get_by_label("Name").fill("Nora")
    await page.get_by_label("Role").select_option("rep")
    await page.get_by_role("button", name="Invite").click()
    await expect(page.get_by_role("status")).to_contain_text(f"on its way to {invited}")
    await expect(page.locator("table")).to_contain_text("links only")
    await context.close()

    [invitation] = await emails(smtp_sink, invited, 1)
    assert invitation["Subject"] == "Alice invited you to Campaign sequences"
    context = await browser.new_context()
    page = await context.new_page()
    await use_link(page, link_in(text_of(invitation), served_api))
    await expect(page).to_have_url(f"{served_api}/app/password")
    await page.get_by_label("New password").fill(PASSWORD)
    await page.get_by_label("Again").fill(PASSWORD + "!")
    await page.get_by_role("button", name="Set the password").click()
    await expect(page.get_by_role("alert")).to_contain_text("the two passwords differ")
    await page.get_by_label("New password").fill(PASSWORD)
    await page.get_by_label("Again").fill(PASSWORD)
    await page.get_by_role("button", name="Set the password").click()
    await expect(page).to_have_url(f"{served_api}/app/sign-in?next=/app/todo")
    await page.get_by_label("Email", exact=True).fill(invited)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(f"{served_api}/app/todo")
    # A rep has no People page: not in the bar, and refused with a page.
    await expect(page.get_by_role("link", name="People")).to_have_count(0)
    response = await page.goto(f"{served_api}/app/people")
    assert response is not None and response.status == 403
    await expect(page.get_by_role("alert")).to_contain_text("needs one of the roles: admin")
    await context.close()
    assert rep.email not in [m["To"] for m in smtp_sink.received]
