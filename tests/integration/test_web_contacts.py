"""Contacts in the web app, in a real browser (Debian's chromium): search, bulk enrollment with
each contact's result, and a contact's page with its sequences and timeline."""

import httpx
from playwright.async_api import Browser, expect
from temporalio.worker import Worker

from store.db import SessionMaker
from store.models import Role
from tests.browser import screenshot
from tests.integration.helpers import (
    enroll,
    enrollment_status,
    eventually,
    get_json,
    new_contact,
    published_sequence,
    welcome_series,
)
from tests.integration.test_web_todo import person, signed_in_page

WELCOME = {
    "tracks": [
        {
            "id": "main",
            "steps": [
                {"id": "hello", "kind": "email", "subject": "Welcome aboard", "body": "Hi"},
                {"id": "pause", "kind": "delay", "duration": "P3D"},
            ],
        }
    ]
}


async def test_a_rep_finds_contacts_enrolls_them_and_reads_a_timeline(
    admin: httpx.AsyncClient,
    worker: Worker,
    sessionmaker: SessionMaker,
    served_api: str,
    browser: Browser,
) -> None:
    rep = await person(sessionmaker, Role.rep, "Rita")
    shared = await published_sequence(admin, WELCOME)
    await published_sequence(admin, WELCOME)  # not shared with Rita: not offered to her
    shared_with = await admin.post(f"/sequences/{shared}/shares", json={"user_id": str(rep.id)})
    assert shared_with.status_code == 201, shared_with.text
    ada = await new_contact(admin, first_name="Ada", last_name="Lovelace", email="ada@example.com")
    grace = await new_contact(admin, first_name="Ada", last_name="Hopper", email="ah@example.com")
    await new_contact(admin, first_name="Bob", email="bob@example.com")
    await enroll(admin, shared, grace)

    page = await signed_in_page(browser, served_api, rep)
    await page.get_by_role("link", name="Contacts").click()
    await page.get_by_label("Name, email or phone").fill("ada")
    await page.get_by_role("button", name="Search").click()
    rows = page.locator("tbody tr")
    await expect(rows).to_have_count(2)
    await expect(page.locator("tbody")).not_to_contain_text("Bob")
    await expect(page.get_by_label("Sequence").locator("option")).to_have_count(1)
    await page.get_by_label("Choose Ada Lovelace").check()
    await page.get_by_label("Choose Ada Hopper").check()
    await page.get_by_role("button", name="Enroll").click()

    results = page.get_by_role("table", name="Results")
    await expect(results.locator("tr.result.enrolled")).to_contain_text("Ada Lovelace")
    await expect(results.locator("tr.result.already_enrolled")).to_contain_text("Ada Hopper")

    await eventually(
        lambda: get_json(admin, f"/contacts/{ada}/messages"), lambda messages: len(messages) == 1
    )
    await results.get_by_role("link", name="Ada Lovelace").click()
    await expect(page.locator("tr.enrollment")).to_contain_text("active")
    await expect(page.get_by_role("region", name="Timeline")).to_contain_text("Welcome aboard")
    await screenshot(page, "contact")
    await page.context.close()


async def test_a_manager_retries_a_failed_enrollment_and_stops_another_from_the_contact(
    admin: httpx.AsyncClient,
    worker: Worker,
    sessionmaker: SessionMaker,
    served_api: str,
    browser: Browser,
) -> None:
    manager = await person(sessionmaker, Role.manager, "Milo")
    failing = await published_sequence(admin, welcome_series("PT1S"))
    waiting = await published_sequence(admin, WELCOME)
    contact_id = await new_contact(admin, first_name="Nell", email=None)
    failed = await enroll(admin, failing, contact_id)
    await enrollment_status(admin, failed["id"], "failed")
    # The email went nowhere; with an address now, the step can run again.
    fixed = await admin.patch(f"/contacts/{contact_id}", json={"email": "nell@example.com"})
    assert fixed.status_code == 200, fixed.text
    running = await enroll(admin, waiting, contact_id)

    page = await signed_in_page(browser, served_api, manager)
    await page.goto(f"{served_api}/app/contacts/{contact_id}")
    rows = page.locator("tr.enrollment")
    failed_row = rows.filter(has_text="failed")
    await failed_row.get_by_role("button", name="Retry the failed step").click()
    await enrollment_status(admin, failed["id"], "completed")

    active_row = page.locator("tr.enrollment").filter(has_text="active")
    await active_row.get_by_text("Stop", exact=True).click()
    await active_row.get_by_label("Reason").fill("asked us to")
    await active_row.get_by_label("Its open to-dos").select_option("cancel")
    await active_row.get_by_role("button", name="Stop Welcome").click()
    await enrollment_status(admin, running["id"], "stopped")
    await page.reload()
    await expect(page.locator("tr.enrollment").filter(has_text="stopped")).to_have_count(1)
    await page.context.close()
