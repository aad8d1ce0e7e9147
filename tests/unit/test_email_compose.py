"""Composed emails read back as written: encoded where they must be, and safe from injection."""

import uuid
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from temporalio.exceptions import ApplicationError

from activities.email import SmtpSender

SENDER = SmtpSender(
    host="127.0.0.1",
    port=25,
    sender="campaigns@example.com",
    unsubscribe_secret="unit-test-link-secret",
    base_url="https://campaigns.example.com/a/very/long/base/path/" + "x" * 120,
)


def _read(raw: bytes) -> EmailMessage:
    parsed = message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _text_of(message: EmailMessage, subtype: str = "plain") -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def test_a_plain_ascii_email_goes_as_7bit_text_with_a_stable_message_id() -> None:
    raw = SENDER.compose(
        effect_key="k1", to="ada@example.com", subject="Hi", body="Hello"
    ).as_bytes()
    again = SENDER.compose(effect_key="k1", to="ada@example.com", subject="Hi", body="Hello")
    read = _read(raw)
    assert (read["From"], read["To"], read["Subject"]) == (
        "campaigns@example.com",
        "ada@example.com",
        "Hi",
    )
    assert read["Content-Transfer-Encoding"] == "7bit"
    assert _text_of(read).rstrip("\n") == "Hello"
    assert read["Message-ID"] == again["Message-ID"]
    assert b"\n" not in raw.replace(b"\r\n", b""), "lines end in CRLF, as SMTP wants"


def test_non_ascii_subjects_names_and_bodies_read_back_unchanged() -> None:
    email = SENDER.compose(
        effect_key="k2",
        to="zoe@example.com",
        subject="Grüße, Zoë — à bientôt",
        body="Prêt ? ✓",
        sender="Renée Müller <renee@example.com>",
    )
    raw = email.as_bytes()
    assert raw.isascii(), "headers and body are encoded for any SMTP server"
    read = _read(raw)
    assert read["Subject"] == "Grüße, Zoë — à bientôt"
    assert read["From"].addresses[0].display_name == "Renée Müller"
    assert read["From"].addresses[0].addr_spec == "renee@example.com"
    assert _text_of(read).rstrip("\n") == "Prêt ? ✓"


def test_a_line_break_in_a_subject_cannot_add_a_header() -> None:
    raw = SENDER.compose(
        effect_key="k3",
        to="ada@example.com",
        subject="Hi\r\nBcc: everyone@example.com",
        body="b",
    ).as_bytes()
    read = _read(raw)
    assert read["Bcc"] is None
    assert read["Subject"] == "Hi Bcc: everyone@example.com"


@pytest.mark.parametrize(
    "header",
    [
        {"sender": "Acme\r\nBcc: leak@example.com"},
        {"sender": "Acme\nBcc: leak@example.com <sales@example.com>"},
        {"reply_to": "rep@example.com\nBcc: more@example.com"},
        {"to": "ada@example.com\r\nBcc: more@example.com"},
    ],
)
def test_an_address_with_a_line_break_fails_the_step_for_good(header: dict[str, str]) -> None:
    with pytest.raises(ApplicationError) as refused:
        fields = {"to": "ada@example.com", "subject": "s", "body": "b", **header}
        SENDER.compose(effect_key="k4", **fields)  # type: ignore[arg-type]
    assert refused.value.non_retryable
    assert "holds a line break or control character" in str(refused.value)


def test_the_unsubscribe_header_stays_on_one_line_and_the_link_is_in_both_parts() -> None:
    contact = uuid.uuid4()
    email = SENDER.compose(
        effect_key="k4",
        to="ada@example.com",
        subject="Hi",
        body="Text",
        html="<html><body><p>HTML</p></body></html>",
        unsubscribe_from=contact,
    )
    raw = email.as_bytes()
    link = SENDER.unsubscribe_url(contact)
    assert len(link) > 200
    assert f"List-Unsubscribe: <{link}>\r\n".encode() in raw
    read = _read(raw)
    assert read.get_content_type() == "multipart/alternative"
    assert f"Unsubscribe: {link}" in _text_of(read, "plain")
    assert link in _text_of(read, "html")
    assert read["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_lines_too_long_for_smtp_are_wrapped_and_read_back_whole() -> None:
    long_line = "word " * 400
    raw = SENDER.compose(
        effect_key="k5", to="a@example.com", subject="s", body=long_line
    ).as_bytes()
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    assert _text_of(_read(raw)).rstrip("\n") == long_line
