"""`make run`'s mailbox over real loopback sockets: SMTP in, HTML and JSON out, kept on disk."""

import json
import re
import smtplib
import socket
import threading
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import make_msgid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import httpx
import pytest

from devstack.mailbox import Mailbox, Replies
from devstack.services import DevstackError
from links import body_signature

SCRIPT = "<script>alert(1)</script>"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(directory: Path) -> Mailbox:
    mailbox = Mailbox(directory, smtp_port=_free_port(), page_port=_free_port())
    mailbox.start()
    return mailbox


@pytest.fixture
def mailbox(tmp_path: Path) -> Iterator[Mailbox]:
    mailbox = _start(tmp_path / "mailbox")
    yield mailbox
    mailbox.stop()


def _page(mailbox: Mailbox) -> httpx.Client:
    # No proxy from the environment may sit between the test and loopback.
    return httpx.Client(base_url=f"http://127.0.0.1:{mailbox.page_port}", trust_env=False)


def _send(mailbox: Mailbox, *, to: str, subject: str, text: str, html: str) -> None:
    email = EmailMessage()
    email["From"] = "campaigns@example.com"
    email["To"] = to
    email["Subject"] = subject
    email["Message-ID"] = make_msgid(domain="example.com")
    email.set_content(text)
    email.add_alternative(html, subtype="html")
    with smtplib.SMTP("127.0.0.1", mailbox.smtp_port, local_hostname="localhost") as smtp:
        smtp.send_message(email)


def test_a_sent_email_shows_on_the_index_the_json_and_its_own_page(mailbox: Mailbox) -> None:
    _send(
        mailbox,
        to="ada@example.com",
        subject="Welcome <b>Ada</b>",
        text="Hi Ada",
        html=f"<p>Hi <em>Ada</em></p>{SCRIPT}",
    )
    with _page(mailbox) as page:
        listed = page.get("/messages.json")
        index = page.get("/")
        [message] = listed.json()
        shown = page.get(f"/messages/{message['id']}")

    assert listed.headers["content-type"] == "application/json"
    assert message["to"] == "ada@example.com"
    assert message["from"] == "campaigns@example.com"
    assert message["subject"] == "Welcome <b>Ada</b>"
    assert message["text"].strip() == "Hi Ada"
    assert SCRIPT in message["html"]

    assert index.status_code == 200
    assert index.headers["content-type"] == "text/html; charset=utf-8"
    assert "ada@example.com" in index.text
    assert "Welcome &lt;b&gt;Ada&lt;/b&gt;" in index.text
    assert "<b>" not in index.text
    assert "<script" not in index.text

    assert shown.status_code == 200
    assert "Hi Ada" in shown.text
    assert "Welcome &lt;b&gt;Ada&lt;/b&gt;" in shown.text
    # The page has no script of its own, so any <script at all would be the mail's, live.
    assert "<script" not in shown.text
    # The HTML part is there only inside a sandboxed srcdoc iframe and as escaped source.
    frame = re.search(r'<iframe sandbox="" srcdoc="([^"]*)"></iframe>', shown.text)
    assert frame is not None
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in frame.group(1)
    assert "&lt;em&gt;Ada&lt;/em&gt;" in shown.text.replace(frame.group(0), "")
    assert "default-src 'none'" in shown.headers["content-security-policy"]


def test_messages_are_listed_newest_first_and_survive_a_restart(tmp_path: Path) -> None:
    first = _start(tmp_path / "mailbox")
    try:
        for n in (1, 2):
            _send(first, to=f"n{n}@example.com", subject=f"Number {n}", text="x", html="<p>x</p>")
    finally:
        first.stop()
    assert sorted(p.suffix for p in (tmp_path / "mailbox").iterdir()) == [".eml", ".eml"]

    again = _start(tmp_path / "mailbox")
    try:
        with _page(again) as page:
            listed = page.get("/messages.json").json()
            index = page.get("/").text
    finally:
        again.stop()
    assert [m["subject"] for m in listed] == ["Number 2", "Number 1"]
    assert index.index("Number 2") < index.index("Number 1")


def test_unknown_paths_other_files_and_foreign_hosts_are_refused(
    mailbox: Mailbox, tmp_path: Path
) -> None:
    (tmp_path / "secret.eml").write_text("Subject: not yours\n\nx")
    with _page(mailbox) as page:
        assert page.get("/messages/00000000000000000000-00000000").status_code == 404
        assert page.get("/messages/..%2Fsecret").status_code == 404
        assert page.get("/messages/../secret.eml").status_code == 404
        assert page.get("/nothing").status_code == 404
        # A page on another site reaching 127.0.0.1 through a rebound DNS name sends its name.
        assert page.get("/messages.json", headers={"Host": "evil.example"}).status_code == 403
        assert page.get("/messages.json", headers={"Host": "localhost:1"}).status_code == 200


def test_a_port_in_use_is_a_one_line_error(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        mailbox = Mailbox(tmp_path, smtp_port=taken, page_port=_free_port())
        with pytest.raises(DevstackError) as raised:
            mailbox.start()
    assert str(raised.value) == (
        f"port {taken} (mailbox SMTP) is already in use; stop what holds it or set MAILBOX_SMTP_PORT"
    )


class _Inbound(BaseHTTPRequestHandler):
    """The API's inbound webhook, as far as the mailbox can tell: it keeps what it is given."""

    received: ClassVar[list[tuple[dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((dict(self.headers), body))
        answer = json.dumps({"event": "replied", "duplicate": False}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


def test_a_reply_from_a_message_page_is_handed_in_signed_and_in_its_thread(
    tmp_path: Path,
) -> None:
    inbound = ThreadingHTTPServer(("127.0.0.1", 0), _Inbound)
    threading.Thread(target=inbound.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{inbound.server_address[1]}/webhooks/email/inbound"
    mailbox = Mailbox(
        tmp_path,
        smtp_port=_free_port(),
        page_port=_free_port(),
        replies=Replies(url, "the-webhook-secret"),
    )
    mailbox.start()
    try:
        _send(mailbox, to="ada@example.com", subject="Plans", text="See our plans", html="<p>x</p>")
        [message] = mailbox.store.messages()
        with _page(mailbox) as page:
            own = f"http://127.0.0.1:{mailbox.page_port}"
            form = {"text": "Yes please"}
            foreign = page.post(
                f"/messages/{message.id}/reply",
                data=form,
                headers={"Origin": "http://evil.example"},
            )
            assert foreign.status_code == 403 and _Inbound.received == []
            answer = page.post(f"/messages/{message.id}/reply", data=form, headers={"Origin": own})
    finally:
        mailbox.stop()
        inbound.shutdown()
        inbound.server_close()
    assert answer.status_code == 200 and "recorded as replied" in answer.text
    [(headers, raw)] = _Inbound.received
    signature = body_signature("the-webhook-secret", headers["X-Webhook-Timestamp"], raw)
    assert headers["X-Signature-256"] == signature
    reply = BytesParser(policy=policy.default).parsebytes(raw)
    assert (reply["From"], reply["To"], reply["Subject"]) == (
        "ada@example.com",
        "campaigns@example.com",
        "Re: Plans",
    )
    assert reply["In-Reply-To"] == message.header("Message-ID") != ""
    text = reply.get_body(("plain",))
    assert text is not None and str(text.get_content()).startswith("Yes please\n\nOn ")
