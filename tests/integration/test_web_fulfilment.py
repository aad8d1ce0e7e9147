"""Whoever posts the letters and sends the kits works the fulfilment lists in the browser
(Debian's chromium): what waits, the list as a CSV file, each entry marked sent."""

import csv
import io
import uuid

import httpx
from playwright.async_api import Browser, expect

from store.db import SessionMaker, transaction
from store.models import FulfillmentEntry, FulfillmentList, Role
from tests.integration.helpers import get_json, new_contact
from tests.integration.test_web_todo import person, signed_in_page

ADDRESS = {"line1": "1 Main St", "city": "Springfield", "postal_code": "12345"}


async def test_a_manager_downloads_a_list_and_marks_an_entry_sent(
    admin: httpx.AsyncClient, sessionmaker: SessionMaker, served_api: str, browser: Browser
) -> None:
    manager = await person(sessionmaker, Role.manager, "Fran")
    contact_id = uuid.UUID(await new_contact(admin, first_name="Ada", last_name="Lovelace"))
    async with transaction(sessionmaker) as session:
        mugs = FulfillmentList(name="Welcome mugs")
        session.add(mugs)
        await session.flush()
        session.add(
            FulfillmentEntry(
                list_id=mugs.id, contact_id=contact_id, item="mug", mailing_address=ADDRESS
            )
        )

    page = await signed_in_page(browser, served_api, manager)
    await page.get_by_role("link", name="Fulfilment").click()
    lists = page.get_by_role("table", name="Lists")
    await expect(lists.get_by_role("row", name="Welcome mugs 1 1")).to_have_count(1)
    await lists.get_by_role("link", name="Welcome mugs").click()

    async with page.expect_download() as downloading:
        await page.get_by_role("link", name="Download as CSV").click()
    download = await downloading.value
    path = await download.path()
    [row] = list(csv.DictReader(io.StringIO(path.read_text())))
    assert (row["name"], row["line1"], row["item"], row["fulfilled_at"]) == (
        "Ada Lovelace",
        "1 Main St",
        "mug",
        "",
    )

    await page.get_by_role("button", name="Mark Ada Lovelace sent").click()
    await expect(page.locator("tr.entry.sent")).to_have_count(1)
    [listed] = await get_json(admin, "/fulfillment-lists")
    assert listed["waiting"] == 0
    await page.context.close()


async def test_a_rep_cannot_open_the_fulfilment_lists(
    sessionmaker: SessionMaker, served_api: str, browser: Browser
) -> None:
    rep = await person(sessionmaker, Role.rep, "Rory")
    page = await signed_in_page(browser, served_api, rep)
    await expect(page.get_by_role("link", name="Fulfilment")).to_have_count(0)
    response = await page.goto(f"{served_api}/app/fulfillment")
    assert response is not None and response.status == 403
    await page.context.close()
