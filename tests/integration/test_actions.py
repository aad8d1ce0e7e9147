"""Communications on every channel and the CRM processes, run on the real server; HTTP posts go
to a real server on loopback."""

import csv
import hashlib
import hmac
import io
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import col
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.contracts import EnrollmentRef, HttpPostInput
from activities.http import HttpActivities
from activities.outbound import OutboundPolicy
from store.db import SessionMaker
from store.models import (
    Appointment,
    FulfillmentEntry,
    HttpDelivery,
    Note,
    Opportunity,
    Order,
    Role,
    User,
)
from tests.integration.conftest import Receiver, SmtpSink
from tests.integration.helpers import (
    declare_field,
    enroll,
    enrollment_status,
    get_json,
    new_contact,
    published_sequence,
)
from worker import create_worker


def _track(*steps: dict[str, Any]) -> dict[str, Any]:
    return {"tracks": [{"id": "main", "steps": list(steps)}]}


async def _run(
    admin: httpx.AsyncClient, *steps: dict[str, Any], **contact: Any
) -> tuple[str, dict[str, Any]]:
    sequence_id = await published_sequence(admin, _track(*steps))
    contact_id = await new_contact(admin, **contact)
    enrollment = await enroll(admin, sequence_id, contact_id)
    return contact_id, await enrollment_status(admin, enrollment["id"], "completed")


def _details(done: dict[str, Any]) -> dict[str, Any]:
    return {e["step_id"]: e["detail"] for e in done["events"] if e["kind"] == "step_completed"}


async def _owner(sessionmaker: SessionMaker, name: str) -> uuid.UUID:
    async with sessionmaker() as session, session.begin():
        user = User(email=f"{name.lower()}-{uuid.uuid4()}@example.com", name=name, role=Role.rep)
        session.add(user)
    return user.id


ADDRESS = {"line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"}


async def test_every_channel_reaches_the_outbox_with_merge_fields(
    admin: httpx.AsyncClient, worker: object, sessionmaker: SessionMaker
) -> None:
    owner = await _owner(sessionmaker, "Olive")
    await declare_field(admin, "plan", "text")
    contact_id, _ = await _run(
        admin,
        {"id": "sms", "kind": "sms", "text": "Hi {{ contact.first_name }}, {{ owner.name }} here"},
        {"id": "voice", "kind": "voice", "script": "Hello {{ contact.full_name }}"},
        {"id": "fax", "kind": "fax", "cover": "Offer", "body": "Plan: {{ contact.fields.plan }}"},
        {"id": "letter", "kind": "letter", "body": "Dear {{ contact.first_name }}"},
        {
            "id": "tell-owner",
            "kind": "email",
            "subject": "{{ contact.full_name }} finished the series",
            "body": "Call them.",
            "send_to": {"who": "owner"},
        },
        phone="+1 555 0100",
        fax="+1 555 0199",
        mailing_address=ADDRESS,
        owner_id=str(owner),
        fields={"plan": "Gold"},
    )
    messages = await get_json(admin, f"/contacts/{contact_id}/messages")
    sent = {(m["channel"], m["to_address"], m["subject"], m["body"]) for m in messages}
    assert ("sms", "+15550100", "", "Hi Ada, Olive here") in sent
    assert ("voice", "+15550100", "", "Hello Ada Lovelace") in sent
    assert ("fax", "+1 555 0199", "Offer", "Plan: Gold") in sent
    assert ("letter", "1 Main St, Springfield, 12345, US", "", "Dear Ada") in sent
    [to_owner] = [m for m in messages if m["channel"] == "email"]
    assert to_owner["to_address"].startswith("olive-")
    assert to_owner["subject"] == "Ada Lovelace finished the series"


async def test_do_not_contact_skips_the_channel_and_says_why(
    admin: httpx.AsyncClient, worker: object
) -> None:
    contact_id, done = await _run(
        admin,
        {"id": "text", "kind": "sms", "text": "Sale!"},
        {"id": "mail", "kind": "email", "subject": "Sale", "body": "Sale!"},
        phone="+1 555 0100",
        do_not_contact=["sms"],
    )
    assert _details(done)["text"] == {"skipped": "the contact asked not to be contacted by sms"}
    assert [m["channel"] for m in await get_json(admin, f"/contacts/{contact_id}/messages")] == [
        "email"
    ]


async def test_a_contact_without_a_phone_fails_the_sms_step_with_the_reason(
    admin: httpx.AsyncClient, worker: object
) -> None:
    sequence_id = await published_sequence(
        admin, _track({"id": "text", "kind": "sms", "text": "Hi"})
    )
    contact_id = await new_contact(admin)
    enrollment = await enroll(admin, sequence_id, contact_id)
    failed = await enrollment_status(admin, enrollment["id"], "failed")
    assert failed["failure_reason"] == f"step 'text': contact {contact_id} has no phone number"


async def test_processes_write_the_contacts_records_once(
    admin: httpx.AsyncClient, worker: object, sessionmaker: SessionMaker
) -> None:
    reps = [await _owner(sessionmaker, "Rep A"), await _owner(sessionmaker, "Rep B")]
    await declare_field(admin, "plan", "text")
    steps: list[dict[str, Any]] = [
        {"id": "tag", "kind": "apply_tag", "tag": "lead"},
        {"id": "untag", "kind": "remove_tag", "tag": "cold"},
        {"id": "note", "kind": "note", "body": "Entered the {{ contact.fields.plan }} series"},
        {"id": "owner", "kind": "assign_owner", "round_robin": [str(r) for r in reps]},
        {
            "id": "todo",
            "kind": "create_task",
            "title": "Prepare a quote for {{ contact.first_name }}",
        },
        {
            "id": "meet",
            "kind": "appointment",
            "title": "Demo",
            "starts_in": "P2D",
            "duration": "PT30M",
        },
        {"id": "plan", "kind": "set_field", "field": "plan", "value": "Platinum"},
        {"id": "name", "kind": "set_field", "field": "first_name", "value": "Augusta"},
        {
            "id": "deal",
            "kind": "opportunity",
            "title": "{{ contact.full_name }} upgrade",
            "stage": "qualified",
            "value": "1200.50",
        },
        {"id": "gift", "kind": "fulfillment", "list_name": "Welcome mugs"},
        {
            "id": "buy",
            "kind": "order",
            "items": [{"name": "Seat", "quantity": 3, "unit_price": "10.25"}],
            "payment": "autocharge",
        },
    ]
    sequence_id = await published_sequence(admin, _track(*steps))
    first = await new_contact(admin, fields={"plan": "Gold"}, mailing_address=ADDRESS)
    second = await new_contact(admin, email="second@example.com")
    await admin.post(f"/contacts/{first}/tags", json={"tag": "cold"})
    done = await enrollment_status(
        admin, (await enroll(admin, sequence_id, first))["id"], "completed"
    )
    await enrollment_status(admin, (await enroll(admin, sequence_id, second))["id"], "completed")

    contact = await get_json(admin, f"/contacts/{first}")
    assert contact["tags"] == ["lead"]
    assert contact["first_name"] == "Augusta"
    assert contact["fields"] == {"plan": "Platinum"}
    owners = [contact["owner_id"], (await get_json(admin, f"/contacts/{second}"))["owner_id"]]
    assert sorted(owners) == sorted(str(r) for r in reps), (
        "round robin dealt one contact to each rep"
    )
    [task] = await get_json(admin, f"/contacts/{first}/tasks")
    assert (task["title"], task["status"]) == ("Prepare a quote for Ada", "open")
    assert _details(done)["buy"] == {"total": "30.75", "payment": "autocharge"}

    cid = uuid.UUID(first)
    async with sessionmaker() as session:
        [note] = (await session.scalars(select(Note).where(col(Note.contact_id) == cid))).all()
        assert note.body.endswith("UTC: Entered the Gold series")
    [read] = await get_json(admin, f"/contacts/{first}/notes")
    assert (read["id"], read["body"], read["kind"]) == (str(note.id), note.body, "system")
    async with sessionmaker() as session:
        [appointment] = (
            await session.scalars(select(Appointment).where(col(Appointment.contact_id) == cid))
        ).all()
        assert appointment.ends_at - appointment.starts_at == timedelta(minutes=30)
        [deal] = (
            await session.scalars(select(Opportunity).where(col(Opportunity.contact_id) == cid))
        ).all()
        assert (deal.title, deal.stage, str(deal.value)) == (
            "Augusta Lovelace upgrade",
            "qualified",
            "1200.50",
        )
        [entry] = (
            await session.scalars(
                select(FulfillmentEntry).where(col(FulfillmentEntry.contact_id) == cid)
            )
        ).all()
        assert entry.mailing_address["city"] == "Springfield"
        [order] = (await session.scalars(select(Order).where(col(Order.contact_id) == cid))).all()
        assert (str(order.total), order.payment, order.items[0]["quantity"]) == (
            "30.75",
            "autocharge",
            3,
        )


async def test_http_post_sends_the_fields_and_records_the_response(
    admin: httpx.AsyncClient,
    worker: object,
    sessionmaker: SessionMaker,
    http_receiver: tuple[str, type[Receiver]],
) -> None:
    url, handler = http_receiver
    step = {
        "id": "crm",
        "kind": "http_post",
        "url": url,
        "fields": {"email": "{{ contact.email }}", "source": "sequence"},
    }
    contact_id, done = await _run(admin, step)

    [request] = handler.received
    assert request["form"] == {"email": ["ada@example.com"], "source": ["sequence"]}
    assert request["key"].endswith(":main:crm:0")
    expected = hmac.new(b"test-secret", request["raw"], hashlib.sha256).hexdigest()
    assert request["signature"] == f"sha256={expected}"
    assert _details(done)["crm"] == {"status_code": 200}
    async with sessionmaker() as session:
        [delivery] = (
            await session.scalars(
                select(HttpDelivery).where(col(HttpDelivery.contact_id) == uuid.UUID(contact_id))
            )
        ).all()
    assert (delivery.status_code, delivery.response_excerpt) == (200, '{"ok": true}')


async def test_a_run_retried_for_its_last_step_does_the_steps_before_it_once(
    admin: httpx.AsyncClient,
    worker: object,
    sessionmaker: SessionMaker,
    smtp_sink: SmtpSink,
    http_receiver: tuple[str, type[Receiver]],
) -> None:
    # The three steps run as one call; the post's 503 fails the call, and it runs again whole.
    url, handler = http_receiver
    handler.first_statuses = [503]
    contact_id, done = await _run(
        admin,
        {"id": "welcome", "kind": "email", "subject": "Welcome", "body": "Hello"},
        {"id": "tag", "kind": "apply_tag", "tag": "welcomed"},
        {"id": "crm", "kind": "http_post", "url": url},
    )

    assert [post["key"] for post in handler.received] == [handler.received[0]["key"]] * 2
    assert [m["Subject"] for m in smtp_sink.to("ada@example.com")] == ["Welcome"]
    assert (await get_json(admin, f"/contacts/{contact_id}"))["tags"] == ["welcomed"]
    completed = [e["step_id"] for e in done["events"] if e["kind"] == "step_completed"]
    assert completed == ["welcome", "tag", "crm"]
    async with sessionmaker() as session:
        deliveries = (
            await session.scalars(
                select(col(HttpDelivery.status_code)).where(
                    col(HttpDelivery.contact_id) == uuid.UUID(contact_id)
                )
            )
        ).all()
    assert deliveries == [200]


async def test_http_post_answered_with_4xx_fails_the_step_without_retrying(
    admin: httpx.AsyncClient, worker: object, http_receiver: tuple[str, type[Receiver]]
) -> None:
    url, handler = http_receiver
    handler.status = 422
    sequence_id = await published_sequence(
        admin, _track({"id": "crm", "kind": "http_post", "url": url})
    )
    enrollment = await enroll(admin, sequence_id, await new_contact(admin))
    failed = await enrollment_status(admin, enrollment["id"], "failed")
    assert failed["failure_reason"] == f"step 'crm': POST {url} answered 422: {{\"ok\": false}}"
    assert len(handler.received) == 1


async def test_http_post_refuses_private_addresses_unless_allowed(
    sessionmaker: SessionMaker, http_receiver: tuple[str, type[Receiver]]
) -> None:
    url, handler = http_receiver
    async with httpx.AsyncClient() as web:
        guarded = HttpActivities(sessionmaker, web, OutboundPolicy())
        ref = EnrollmentRef(
            enrollment_id=str(uuid.uuid4()), contact_id=str(uuid.uuid4()), effect_key="k"
        )
        for target in (
            url,
            url.replace("127.0.0.1", "localhost"),
            "http://10.1.2.3/hook",
            "http://169.254.169.254/",
        ):
            with pytest.raises(ApplicationError, match="which is not a public address") as refused:
                await ActivityEnvironment().run(
                    guarded.http_post, HttpPostInput(ref=ref, url=target, fields={})
                )
            assert refused.value.non_retryable
    assert handler.received == [], "nothing was sent"


async def test_an_ssrf_attempt_fails_the_enrollment_with_a_clear_reason(
    admin: httpx.AsyncClient, client: Client, sessionmaker: SessionMaker, task_queue: str
) -> None:
    step = {"id": "steal", "kind": "http_post", "url": "http://169.254.169.254/latest/meta-data"}
    sequence_id = await published_sequence(admin, _track(step))
    # The production policy: private and link-local addresses refused.
    async with (
        httpx.AsyncClient() as web,
        create_worker(client, sessionmaker, task_queue, web, outbound=OutboundPolicy()),
    ):
        enrollment = await enroll(admin, sequence_id, await new_contact(admin))
        failed = await enrollment_status(admin, enrollment["id"], "failed")

    assert failed["failure_reason"] == (
        "step 'steal': refusing to POST to 169.254.169.254: it resolves to 169.254.169.254, "
        "which is not a public address"
    )


async def test_fulfillment_lists_export_as_csv_and_entries_get_marked_sent(
    admin: httpx.AsyncClient, worker: object
) -> None:
    contact_id, _ = await _run(
        admin,
        {"id": "gift", "kind": "fulfillment", "list_name": "Welcome mugs"},
        mailing_address=ADDRESS,
    )
    [mugs] = await get_json(admin, "/fulfillment-lists")
    assert (mugs["name"], mugs["entries"], mugs["waiting"]) == ("Welcome mugs", 1, 1)

    export = await admin.get(f"/fulfillment-lists/{mugs['id']}/export")
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    assert export.headers["content-disposition"] == 'attachment; filename="Welcome mugs.csv"'
    [row] = list(csv.DictReader(io.StringIO(export.text)))
    assert (
        row["contact_id"],
        row["name"],
        row["line1"],
        row["city"],
        row["postal_code"],
        row["fulfilled_at"],
    ) == (contact_id, "Ada Lovelace", "1 Main St", "Springfield", "12345", "")

    sent = await admin.post(f"/fulfillment-lists/{mugs['id']}/entries/{row['entry_id']}/fulfill")
    assert sent.status_code == 200, sent.text
    again = await admin.post(f"/fulfillment-lists/{mugs['id']}/entries/{row['entry_id']}/fulfill")
    assert again.status_code == 409
    assert (await get_json(admin, "/fulfillment-lists"))[0]["waiting"] == 0
    [after] = list(
        csv.DictReader(
            io.StringIO((await admin.get(f"/fulfillment-lists/{mugs['id']}/export")).text)
        )
    )
    assert after["fulfilled_at"] != ""
