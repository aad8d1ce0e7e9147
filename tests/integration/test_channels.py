"""SMS, voice, fax and letters leave through their channels; email carries HTML and its sender.

The SMS/voice/fax provider is a real HTTP server on loopback speaking the Twilio-shaped API.
"""

import email.message
import io
import json
import socket
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pypdf
import pytest
import pytest_asyncio
from sqlalchemy import select
from sqlmodel import col
from temporalio.client import Client
from temporalio.worker import Worker

from activities.providers import PhoneProvider
from links import Links
from store.db import SessionMaker
from store.models import Message
from tests.integration.conftest import TEST_LINK_SECRET, TEST_OUTBOUND, SmtpSink
from tests.integration.helpers import (
    enroll,
    enrollment_status,
    eventually,
    get_json,
    new_contact,
    published_sequence,
)
from worker import create_worker

SECRET = TEST_LINK_SECRET  # the API's, so its document links verify


class Provider(BaseHTTPRequestHandler):
    """Plays the provider: records each request, answers 201 with a sid (or a scripted error)."""

    received: list[dict[str, Any]]
    answers: list[tuple[int, dict[str, Any]]]

    def do_POST(self) -> None:
        form = {
            k: v[0]
            for k, v in parse_qs(
                self.rfile.read(int(self.headers["Content-Length"])).decode()
            ).items()
        }
        self.received.append(
            {"path": self.path, "form": form, "key": self.headers.get("I-Twilio-Idempotency-Token")}
        )
        status, body = self.answers.pop(0) if self.answers else (201, {})
        body = body or {"sid": f"SM{len(self.received):032d}", "status": "queued"}
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps(body).encode())

    def log_message(self, *args: Any) -> None:
        pass


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ProviderServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.handler: type[Provider] = type("Handler", (Provider,), {"received": [], "answers": []})
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), self.handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    @property
    def received(self) -> list[dict[str, Any]]:
        return self.handler.received


@pytest.fixture
def provider() -> Iterator[ProviderServer]:
    server = ProviderServer(_free_port())
    yield server
    server.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def phone_worker(
    client: Client,
    sessionmaker: SessionMaker,
    task_queue: str,
    smtp_sink: SmtpSink,
    provider: ProviderServer,
) -> AsyncIterator[Worker]:
    """A worker whose SMS, voice and fax go to the loopback provider (which tests start)."""
    async with httpx.AsyncClient() as http:
        phone = PhoneProvider(
            http=http,
            account_sid="AC123",
            auth_token="token",
            base_url=f"http://127.0.0.1:{provider.port}",
            fax_base_url=f"http://127.0.0.1:{provider.port}",
            sms_from="+15550000001",
            voice_from="+15550000002",
            fax_from="+15550000003",
            timeout=2,
        )
        async with create_worker(
            client,
            sessionmaker,
            task_queue,
            http,
            outbound=TEST_OUTBOUND,
            email=smtp_sink.sender,
            phone=phone,
            links=Links("http://api", SECRET),
        ) as running:
            yield running


def _one_step(step: dict[str, Any], settings: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"settings": settings or {}, "tracks": [{"id": "main", "steps": [step]}]}


async def _messages(sessionmaker: SessionMaker, contact_id: str) -> list[Message]:
    async with sessionmaker() as session:
        found = await session.scalars(
            select(Message).where(col(Message.contact_id) == uuid.UUID(contact_id))
        )
        return list(found)


SMS = {"id": "text", "kind": "sms", "text": "Hi {{ contact.first_name }}, reply YES"}


async def test_an_sms_goes_to_the_provider_once_with_the_effect_key(
    admin: httpx.AsyncClient,
    phone_worker: Worker,
    provider: ProviderServer,
    sessionmaker: SessionMaker,
) -> None:
    provider.start()
    contact_id = await new_contact(admin, phone="+15551234567")
    enrollment = await enroll(admin, await published_sequence(admin, _one_step(SMS)), contact_id)

    await enrollment_status(admin, enrollment["id"], "completed")

    [request] = provider.received
    assert request["path"] == "/2010-04-01/Accounts/AC123/Messages.json"
    assert request["form"]["To"] == "+15551234567"
    assert request["form"]["From"] == "+15550000001"
    assert request["form"]["Body"] == "Hi Ada, reply YES"
    assert request["form"]["StatusCallback"] == "http://api/webhooks/twilio/status"
    [message] = await _messages(sessionmaker, contact_id)
    assert request["key"] == message.effect_key
    assert (message.status, message.provider_id) == ("sent", f"SM{1:032d}")


async def test_a_provider_outage_delays_the_message_then_it_is_delivered_exactly_once(
    admin: httpx.AsyncClient,
    client: Client,
    phone_worker: Worker,
    provider: ProviderServer,
    sessionmaker: SessionMaker,
) -> None:
    # Nothing listens on the provider's port yet: every attempt is refused, and retried.
    contact_id = await new_contact(admin, phone="+15551234567")
    enrollment = await enroll(admin, await published_sequence(admin, _one_step(SMS)), contact_id)
    handle = client.get_workflow_handle(enrollment["workflow_id"])

    async def deliver_attempts() -> int:
        pending = (await handle.describe()).raw_description.pending_activities
        return max((a.attempt for a in pending if a.activity_type.name == "deliver"), default=0)

    await eventually(deliver_attempts, lambda attempts: attempts >= 3, timeout=30)
    [queued] = await _messages(sessionmaker, contact_id)
    assert queued.status == "queued"
    provider.handler.answers.extend([(503, {"message": "down for maintenance"}), (429, {})])
    provider.start()

    await enrollment_status(admin, enrollment["id"], "completed")

    sent = provider.received
    # A 503 and a 429 were retried; the provider took the message exactly once, with one key.
    assert len(sent) == 3
    assert len({r["key"] for r in sent}) == 1
    [message] = await _messages(sessionmaker, contact_id)
    assert message.status == "sent"


async def test_a_rejected_number_fails_the_enrollment_with_the_providers_reason(
    admin: httpx.AsyncClient,
    phone_worker: Worker,
    provider: ProviderServer,
    sessionmaker: SessionMaker,
) -> None:
    provider.handler.answers.append(
        (400, {"code": 21211, "message": "Invalid 'To' Phone Number", "status": 400})
    )
    provider.start()
    contact_id = await new_contact(admin, phone="+15550001234")
    enrollment = await enroll(admin, await published_sequence(admin, _one_step(SMS)), contact_id)

    failed = await enrollment_status(admin, enrollment["id"], "failed")

    assert "21211 Invalid 'To' Phone Number" in failed["failure_reason"]
    [message] = await _messages(sessionmaker, contact_id)
    assert message.status == "failed"
    assert message.status_detail is not None and "21211" in message.status_detail
    assert len(provider.received) == 1


async def test_a_voice_call_speaks_the_script_as_text_never_as_markup(
    admin: httpx.AsyncClient, phone_worker: Worker, provider: ProviderServer
) -> None:
    provider.start()
    step = {"id": "call", "kind": "voice", "script": "Hello</Say><Dial>+1999</Dial>"}
    contact_id = await new_contact(admin, phone="+15551234567")
    enrollment = await enroll(admin, await published_sequence(admin, _one_step(step)), contact_id)

    await enrollment_status(admin, enrollment["id"], "completed")

    [request] = provider.received
    assert request["path"] == "/2010-04-01/Accounts/AC123/Calls.json"
    assert request["form"]["Twiml"] == (
        "<Response><Say>Hello&lt;/Say&gt;&lt;Dial&gt;+1999&lt;/Dial&gt;</Say></Response>"
    )


async def test_a_fax_points_the_provider_at_a_pdf_of_the_message(
    admin: httpx.AsyncClient, phone_worker: Worker, provider: ProviderServer
) -> None:
    provider.start()
    step = {"id": "fax", "kind": "fax", "cover": "Quote", "body": "Dear {{ contact.last_name }}"}
    contact_id = await new_contact(admin, fax="+15557654321")
    enrollment = await enroll(admin, await published_sequence(admin, _one_step(step)), contact_id)
    await enrollment_status(admin, enrollment["id"], "completed")

    [request] = provider.received
    assert request["path"] == "/v1/Faxes"
    assert request["form"]["To"] == "+15557654321"
    document = await admin.get(urlsplit(request["form"]["MediaUrl"]).path)
    assert document.status_code == 200
    assert document.headers["content-type"] == "application/pdf"
    text = pypdf.PdfReader(io.BytesIO(document.content)).pages[0].extract_text()
    assert "Quote" in text and "Dear Lovelace" in text
    forged = await admin.get("/fax-documents/" + uuid.uuid4().hex + ".0000.pdf")
    assert forged.status_code == 404


async def test_a_letter_waits_on_the_letters_list_and_is_sent_when_fulfilled(
    admin: httpx.AsyncClient, worker: Worker, sessionmaker: SessionMaker
) -> None:
    step = {"id": "letter", "kind": "letter", "body": "Dear {{ contact.first_name }},\nthanks."}
    address = {"line1": "1 Main St", "city": "Springfield", "postal_code": "12345"}
    contact_id = await new_contact(admin, mailing_address=address)
    enrollment = await enroll(admin, await published_sequence(admin, _one_step(step)), contact_id)
    await enrollment_status(admin, enrollment["id"], "completed")

    [letters] = [
        lst for lst in await get_json(admin, "/fulfillment-lists") if lst["name"] == "Letters"
    ]
    assert letters["waiting"] == 1
    export = await admin.get(f"/fulfillment-lists/{letters['id']}/export")
    assert "Dear Ada,\nthanks." in export.text.replace("\r\n", "\n")
    assert "1 Main St" in export.text
    [message] = await _messages(sessionmaker, contact_id)
    assert message.status == "queued"

    entry_id = export.text.splitlines()[1].split(",")[0]
    fulfilled = await admin.post(f"/fulfillment-lists/{letters['id']}/entries/{entry_id}/fulfill")
    assert fulfilled.status_code == 200, fulfilled.text

    [message] = await _messages(sessionmaker, contact_id)
    assert message.status == "sent" and message.sent_at is not None


def _parts(message: email.message.Message) -> dict[str, str]:
    parts = {}
    for part in message.walk():
        if part.get_content_maintype() == "text":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            parts[part.get_content_subtype()] = payload.decode()
    return parts


async def test_an_email_has_html_and_text_parts_from_the_sequences_sender(
    admin: httpx.AsyncClient, worker: Worker, smtp_sink: SmtpSink
) -> None:
    step = {
        "id": "hello",
        "kind": "email",
        "subject": "Hi {{ contact.first_name }}",
        "body": "Hi {{ contact.first_name }}",
        "html": "<html><body><p>Hi <b>{{ contact.first_name }}</b></p></body></html>",
    }
    settings = {
        "sending": {
            "sender": {
                "name": "Acme Sales",
                "address": "sales@example.com",
                "reply_to": "rep@example.com",
            }
        }
    }
    # A name that tries template syntax and markup: it must arrive as plain characters.
    contact_id = await new_contact(admin, first_name="{{ 7*7 }}<script>x</script>")
    sequence_id = await published_sequence(admin, _one_step(step, settings))
    await enrollment_status(
        admin, (await enroll(admin, sequence_id, contact_id))["id"], "completed"
    )

    [received] = smtp_sink.to("ada@example.com")
    assert received["From"] == "Acme Sales <sales@example.com>"
    assert received["Reply-To"] == "rep@example.com"
    assert received.get_content_type() == "multipart/alternative"
    parts = _parts(received)
    assert parts["plain"].startswith("Hi {{ 7*7 }}<script>x</script>")
    assert "<b>{{ 7*7 }}&lt;script&gt;x&lt;/script&gt;</b>" in parts["html"]
    assert "<script>" not in parts["html"]
    # The unsubscribe link sits inside the body of the HTML part too.
    assert "/unsubscribe/" in parts["html"].split("</p>", 1)[1].split("</body>")[0]


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("{{ ''.__class__.__mro__ }}", "private attributes"),
        ("{{ config.items() }}", "unknown name(s) config"),
        ("{% if contact.first_name %}", "template error"),
    ],
)
async def test_a_template_reaching_for_internals_is_refused_naming_step_and_field(
    admin: httpx.AsyncClient, template: str, reason: str
) -> None:
    step = {"id": "hello", "kind": "email", "subject": "Hi", "body": "x", "html": template}

    created = await admin.post("/sequences", json={"name": "Bad", "definition": _one_step(step)})

    assert created.status_code == 422
    [error] = created.json()["errors"]
    assert (error["where"], error["field"]) == ("step 'hello' (tracks[0].steps[0])", "html")
    assert reason in error["message"]
