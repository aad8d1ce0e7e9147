"""Reading an inbound email: a person's reply, an auto-reply, or a delivery-status report.

Pure: bytes in, what they say out. Matching it to what we sent is replies.py's job.
"""

import email
import email.policy
import re
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from email.utils import getaddresses, parseaddr
from enum import StrEnum
from html import unescape

# What is kept of a reply's text, and of any header read.
TEXT_KEPT = 5000
HEADER_KEPT = 1000
# Message-IDs in a References header that are looked up at most.
REFERENCES_READ = 50

_MESSAGE_ID = re.compile(r"<([^<>\s]{1,250})>")
# Subjects mail servers and clients give their automatic answers.
_AUTO_SUBJECT = re.compile(
    r"^\s*(auto(matic)?[ -]?(reply|response|answer)|auto:|out of (the )?office|"
    r"away from (the )?office|on vacation|vacation reply|abwesenheit|absence|réponse automatique)",
    re.IGNORECASE,
)
# Where a reply's own words end and the quoted history begins.
_QUOTE_STARTS = (
    re.compile(r"^On .{1,300}wrote:\s*$", re.IGNORECASE),
    re.compile(r"^-{2,}\s*Original Message\s*-{2,}", re.IGNORECASE),
    re.compile(r"^_{10,}\s*$"),
    re.compile(r"^From:\s.+", re.IGNORECASE),
    re.compile(r"^Le .{1,300}a écrit\s*:\s*$", re.IGNORECASE),
    re.compile(r"^Am .{1,300}schrieb .{0,300}:\s*$", re.IGNORECASE),
)
_TAG = re.compile(r"<[^>]+>")


class InboundKind(StrEnum):
    reply = "reply"
    auto_reply = "auto_reply"
    bounce = "bounce"


@dataclass(frozen=True)
class Bounce:
    recipient: str
    status: str
    reason: str
    original_message_id: str | None


@dataclass(frozen=True)
class InboundMail:
    kind: InboundKind
    message_id: str | None
    sender: str
    subject: str
    # The Message-IDs it answers, the most direct first (In-Reply-To, then References newest first).
    answers: list[str] = field(default_factory=list)
    text: str = ""
    bounce: Bounce | None = None
    auto_reason: str | None = None


def parse(raw: bytes) -> InboundMail:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    sender = parseaddr(_header(message, "From"))[1].strip().lower()
    subject = _header(message, "Subject")
    answers = _ids(_header(message, "In-Reply-To"))
    answers += [i for i in reversed(_ids(_header(message, "References"))) if i not in answers]
    common = {
        "message_id": next(iter(_ids(_header(message, "Message-ID"))), None),
        "sender": sender,
        "subject": subject,
        "answers": answers[:REFERENCES_READ],
    }
    bounce = _delivery_status(message)
    if bounce is not None:
        return InboundMail(InboundKind.bounce, bounce=bounce, **common)  # type: ignore[arg-type]
    text = reply_text(_body_text(message))
    auto = _auto_reason(message, subject)
    kind = InboundKind.auto_reply if auto else InboundKind.reply
    return InboundMail(kind, text=text, auto_reason=auto, **common)  # type: ignore[arg-type]


def _header(message: Message, name: str) -> str:
    try:
        value = message.get(name)
    except (ValueError, IndexError, TypeError):  # a header too malformed to parse at all
        return ""
    return " ".join(str(value or "").split())[:HEADER_KEPT]


def _ids(value: str) -> list[str]:
    return _MESSAGE_ID.findall(value)


def _auto_reason(message: Message, subject: str) -> str | None:
    """Why this mail is an automatic answer (RFC 3834 and the markers servers use), if it is."""
    submitted = _header(message, "Auto-Submitted").lower()
    if submitted and submitted != "no":
        return f"Auto-Submitted: {submitted}"
    for marker in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress"):
        if _header(message, marker):
            return f"{marker} header"
    if _header(message, "Precedence").lower() in ("auto_reply", "bulk", "junk", "list"):
        return f"Precedence: {_header(message, 'Precedence').lower()}"
    if _AUTO_SUBJECT.search(subject):
        return "an out-of-office subject"
    return None


def _body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # an unknown charset or a broken encoding
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    if not isinstance(content, str):
        return ""
    if part.get_content_type() == "text/html":
        content = unescape(_TAG.sub(" ", re.sub(r"(?i)<br\s*/?>|</p>", "\n", content)))
    return content[: TEXT_KEPT * 4]


def reply_text(body: str) -> str:
    """The reply's own words: the quoted history and what follows it cut off."""
    kept: list[str] = []
    for line in body.replace("\r\n", "\n").split("\n"):
        stripped = line.strip()
        if stripped.startswith(">") or any(start.match(stripped) for start in _QUOTE_STARTS):
            break
        kept.append(line.rstrip())
    return "\n".join(kept).strip()[:TEXT_KEPT]


def _delivery_status(message: EmailMessage) -> Bounce | None:
    """A failed delivery's report (RFC 3464): who could not be reached, and why."""
    if message.get_content_type() != "multipart/report":
        return None
    if str(message.get_param("report-type", "")).lower() != "delivery-status":
        return None
    fields: dict[str, str] = {}
    original: str | None = None
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "message/delivery-status":
            for block in part.get_payload():
                if isinstance(block, Message):
                    fields.update({k.lower(): " ".join(str(v).split()) for k, v in block.items()})
        elif kind in ("message/rfc822", "text/rfc822-headers") and original is None:
            original = _original_id(part)
    if fields.get("action", "").lower() not in ("failed", ""):
        return None  # "delayed" or "delivered": nothing bounced
    recipient = fields.get("final-recipient") or fields.get("original-recipient") or ""
    addresses = getaddresses([recipient.partition(";")[2] or recipient])
    address = addresses[0][1] if addresses else ""
    return Bounce(
        recipient=address.lower(),
        status=fields.get("status", ""),
        reason=fields.get("diagnostic-code", "").partition(";")[2].strip()
        or fields.get("diagnostic-code", ""),
        original_message_id=original or next(iter(_ids(_header(message, "In-Reply-To"))), None),
    )


def _original_id(part: Message) -> str | None:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        headers = payload[0]
    else:
        raw = part.get_payload(decode=True)
        if not isinstance(raw, bytes):
            return None
        headers = email.message_from_bytes(raw, policy=email.policy.default)
    return next(iter(_ids(_header(headers, "Message-ID"))), None)


def form_field(content_type: str, body: bytes, names: tuple[str, ...]) -> bytes | None:
    """One field of a multipart/form-data body (as inbound parse services post the raw mail),
    read with the mail parser: a form is MIME too."""
    form = email.message_from_bytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body, policy=email.policy.default
    )
    if not form.is_multipart():
        return None
    for part in form.iter_parts():
        if part.get_param("name", header="content-disposition") in names:
            payload = part.get_payload(decode=True)
            return payload if isinstance(payload, bytes) else None
    return None
