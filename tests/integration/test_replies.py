"""Replies and bounces read back from a real IMAP server (Dovecot) and the inbound webhook: a
reply to the exact email stops the enrollment, an out-of-office does not, a bounce report marks
its message and triggers its exit rule, and a follow-up continues the thread."""

import email.message
import tempfile
import time
from collections.abc import Iterator
from email.utils import make_msgid
from pathlib import Path

import httpx
import pytest
from temporalio.worker import Worker

import links
from activities.mailbox import Mailbox
from settings import Settings
from store.db import SessionMaker, transaction
from store.models import Company
from tests.integration.conftest import SmtpSink
from tests.integration.helpers import (
    enroll,
    enrollment_status,
    get_json,
    new_contact,
    published_sequence,
    timeline,
)
from tests.integration.imap_server import PASSWORD, USER, ImapServer, dovecot_missing
from tests.integration.mail import emails

WEBHOOK_SECRET = "test-webhook-secret"

FOLLOW_UPS = {
    "settings": {
        "exit_rules": [
            {"event": "replied", "outcome": "positive"},
            {"event": "bounced", "step": "first", "outcome": "negative"},
        ]
    },
    "tracks": [
        {
            "id": "main",
            "steps": [
                {"id": "first", "kind": "email", "subject": "Quick question", "body": "Hello?"},
                {"id": "second", "kind": "email", "thread_of": "first", "body": "Following up."},
                {"id": "pause", "kind": "delay", "duration": "PT60S"},
                {"id": "done", "kind": "apply_tag", "tag": "no-reply"},
            ],
        }
    ],
}


@pytest.fixture(scope="module")
def imap_server() -> Iterator[ImapServer]:
    missing = dovecot_missing()
    if missing:
        pytest.skip(f"NO IMAP SERVER, the reply tests cannot run: {missing}")
    with tempfile.TemporaryDirectory(prefix="campaign-test-imap-") as directory:
        server = ImapServer.free(Path(directory))
        server.start()
        yield server
        server.stop()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhook_secret": WEBHOOK_SECRET})


def _reply(to: email.message.Message, sender: str, text: str, **headers: str) -> bytes:
    reply = email.message.EmailMessage()
    reply["From"] = sender
    reply["To"] = to["From"]
    reply["Subject"] = f"Re: {to['Subject']}"
    reply["Message-ID"] = make_msgid(domain="example.org")
    reply["In-Reply-To"] = to["Message-ID"]
    reply["References"] = " ".join(filter(None, [to.get("References"), to["Message-ID"]]))
    for name, value in headers.items():
        reply[name.replace("_", "-")] = value
    quoted = "\n".join(f"> {line}" for line in "Following up.".splitlines())
    reply.set_content(f"{text}\n\nOn Tue, the sequence wrote:\n{quoted}\n")
    return reply.as_bytes()


def _bounce(original: email.message.Message, recipient: str) -> bytes:
    """A delivery-status report (RFC 3464) as mail servers send them, quoting the original's
    headers."""
    headers = "".join(f"{name}: {value}\r\n" for name, value in original.items())
    return (
        "From: MAILER-DAEMON@example.org\r\n"
        f"To: {original['From']}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: {make_msgid(domain='example.org')}\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.org\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 no such mailbox\r\n\r\n"
        f"--b\r\nContent-Type: text/rfc822-headers\r\n\r\n{headers}\r\n--b--\r\n"
    ).encode()


async def _post_inbound(
    http: httpx.AsyncClient, api: str, raw: bytes, signature: str | None = None
) -> httpx.Response:
    """The raw mail to the inbound webhook, signed as the mailbox poller signs it."""
    stamp = str(int(time.time()))
    return await http.post(
        f"{api}/webhooks/email/inbound",
        content=raw,
        headers={
            "Content-Type": "message/rfc822",
            "X-Webhook-Timestamp": stamp,
            "X-Signature-256": signature or links.body_signature(WEBHOOK_SECRET, stamp, raw),
        },
    )


def _mailbox(server: ImapServer, api: str) -> Mailbox:
    return Mailbox(
        host="127.0.0.1",
        port=server.port,
        username=USER,
        password=PASSWORD,
        folder="INBOX",
        tls=False,
        webhook_url=f"{api}/webhooks/email/inbound",
        webhook_secret=WEBHOOK_SECRET,
    )


async def test_a_reply_in_the_mailbox_stops_the_enrollment_and_an_out_of_office_does_not(
    admin: httpx.AsyncClient,
    worker: Worker,
    smtp_sink: SmtpSink,
    served_api: str,
    imap_server: ImapServer,
) -> None:
    sequence_id = await published_sequence(admin, FOLLOW_UPS)
    replier = await new_contact(admin, email="replier@example.com")
    away = await new_contact(admin, email="away@example.com")
    replying = await enroll(admin, sequence_id, replier)
    waiting = await enroll(admin, sequence_id, away)
    first, second = await emails(smtp_sink, "replier@example.com", 2)
    _, away_second = await emails(smtp_sink, "away@example.com", 2)

    # The follow-up continues the first email's thread.
    assert second["In-Reply-To"] == first["Message-ID"]
    assert second["References"] == first["Message-ID"]
    assert second["Subject"] == "Re: Quick question"

    imap_server.deliver(_reply(second, "Replier <REPLIER@example.com>", "Yes, let's talk."))
    imap_server.deliver(
        _reply(
            away_second,
            "away@example.com",
            "I am out of the office until Monday.",
            Auto_Submitted="auto-replied",
        )
    )
    async with httpx.AsyncClient(timeout=10) as http:
        assert await _mailbox(imap_server, served_api).poll_once(http) == 2
        # Everything was taken: a second poll finds nothing new.
        assert await _mailbox(imap_server, served_api).poll_once(http) == 0
    assert all("\\\\Seen" in flags for flags in imap_server.flags()[-2:])

    ended = await enrollment_status(admin, replying["id"], "completed")
    assert ended["outcome"] == "positive"
    assert [e["kind"] for e in ended["events"]][-2:] == ["exited", "completed"]
    [replied] = [e for e in await timeline(admin, replier) if e["event"] == "replied"]
    assert replied["data"]["text"] == "Yes, let's talk."
    assert replied["data"]["from"] == "replier@example.com"
    messages = await get_json(admin, f"/contacts/{replier}/messages")
    assert [m["replied_at"] is not None for m in messages] == [False, True]

    [auto] = [e for e in await timeline(admin, away) if e["event"] == "auto_replied"]
    assert auto["data"]["auto_reply"] == "Auto-Submitted: auto-replied"
    still = await get_json(admin, f"/enrollments/{waiting['id']}")
    assert still["status"] == "active"

    report = await get_json(admin, f"/sequences/{sequence_id}/report")
    assert report["steps"]["second"]["engagement"]["replied"] == 1
    assert report["steps"]["first"]["engagement"]["replied"] == 0


async def test_a_bounce_report_marks_its_message_bounced_and_triggers_its_exit_rule(
    admin: httpx.AsyncClient, worker: Worker, smtp_sink: SmtpSink, served_api: str
) -> None:
    sequence_id = await published_sequence(admin, FOLLOW_UPS)
    contact_id = await new_contact(admin, email="gone@example.com")
    enrollment = await enroll(admin, sequence_id, contact_id)
    first, _ = await emails(smtp_sink, "gone@example.com", 2)
    raw = _bounce(first, "gone@example.com")
    async with httpx.AsyncClient(timeout=10) as http:
        posted = await _post_inbound(http, served_api, raw)
        assert posted.status_code == 200, posted.text
        assert posted.json()["kind"] == "bounce" and posted.json()["event"] == "bounced"
        again = await _post_inbound(http, served_api, raw)
        assert again.json()["duplicate"] is True
        forged = await _post_inbound(http, served_api, raw, signature="sha256=00")
        assert forged.status_code == 401

    ended = await enrollment_status(admin, enrollment["id"], "completed")
    assert ended["outcome"] == "negative"
    [bounced, _] = await get_json(admin, f"/contacts/{contact_id}/messages")
    assert bounced["status"] == "bounced"
    assert bounced["status_detail"] == "gone@example.com: 5.1.1 550 5.1.1 no such mailbox"
    report = await get_json(admin, f"/sequences/{sequence_id}/report")
    assert report["steps"]["first"]["engagement"]["bounced"] == 1
    assert report["steps"]["first"]["engagement"]["delivered"] == 0


async def test_a_reply_ends_colleagues_enrollments_where_the_rule_covers_the_company(
    admin: httpx.AsyncClient,
    worker: Worker,
    smtp_sink: SmtpSink,
    served_api: str,
    sessionmaker: SessionMaker,
) -> None:
    async with transaction(sessionmaker) as session:
        company = Company(name="Acme")
        session.add(company)
    account = {
        **FOLLOW_UPS,
        "settings": {
            "exit_rules": [{"event": "replied", "outcome": "positive", "whole_company": True}]
        },
    }
    account_based = await published_sequence(admin, account)
    personal = await published_sequence(admin, FOLLOW_UPS)
    replier, colleague = [
        await new_contact(admin, email=f"{name}@acme.example", company_id=str(company.id))
        for name in ("buyer", "colleague")
    ]
    await enroll(admin, account_based, replier)
    covered = await enroll(admin, account_based, colleague)
    uncovered = await enroll(admin, personal, colleague)
    _, second = await emails(smtp_sink, "buyer@acme.example", 2)
    await emails(smtp_sink, "colleague@acme.example", 4)

    raw = _reply(second, "buyer@acme.example", "Let's talk.")
    async with httpx.AsyncClient(timeout=10) as http:
        posted = await _post_inbound(http, served_api, raw)
    assert posted.json()["event"] == "replied"
    ended = await enrollment_status(admin, covered["id"], "completed")
    assert ended["outcome"] == "positive"
    # The personal sequence ends on the contact's own reply only.
    assert (await get_json(admin, f"/enrollments/{uncovered['id']}"))["status"] == "active"
