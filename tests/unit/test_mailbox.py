"""`make run`'s mailbox over real loopback sockets: SMTP in, HTML and JSON out, kept on disk."""

import re
import smtplib
import socket
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from devstack.mailbox import Mailbox
from devstack.services import DevstackError

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
