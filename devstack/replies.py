"""`make run`'s stand-in for the contact's mail client: a reply to an email in the mailbox,
handed to the API's inbound webhook signed as an inbound-parse provider signs it, so the whole
reply path runs as in production."""

import time
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import httpx

from links import signed_body_headers


def reply_to(original: EmailMessage, text: str) -> bytes:
    """The recipient's reply: in the original's thread, with its text quoted below."""
    reply = EmailMessage()
    reply["From"] = str(original.get("To", ""))
    reply["To"] = str(original.get("Reply-To") or original.get("From", ""))
    subject = str(original.get("Subject", ""))
    reply["Subject"] = subject if subject.lower().startswith("re:") else f"Re: {subject}"
    reply["Date"] = formatdate()
    reply["Message-ID"] = make_msgid(domain="mailbox.localhost")
    parent = original.get("Message-ID")
    if parent:
        reply["In-Reply-To"] = str(parent)
        reply["References"] = " ".join(filter(None, [str(original.get("References", "")), parent]))
    body = original.get_body(preferencelist=("plain",))
    quoted = body.get_content() if body is not None else ""
    reply.set_content(
        f"{text.strip()}\n\nOn {original.get('Date', 'an earlier day')}, "
        f"{original.get('From', 'you')} wrote:\n"
        + "".join(f"> {line}\n" for line in str(quoted).splitlines())
    )
    return reply.as_bytes()


def hand_in(raw: bytes, url: str, secret: str) -> str:
    """Post the mail to the inbound webhook; what the API made of it, in a sentence."""
    try:
        answer = httpx.post(
            url,
            content=raw,
            headers={
                "Content-Type": "message/rfc822",
                **signed_body_headers(secret, raw, time.time()),
            },
            timeout=15,
            trust_env=False,
        )
    except httpx.HTTPError as error:
        return f"The API could not be reached ({error}); is it running?"
    if answer.is_error:
        detail = (
            answer.json().get("detail")
            if answer.headers.get("content-type", "").endswith("json")
            else answer.text
        )
        return f"The API refused the reply ({answer.status_code}): {detail}"
    applied = answer.json()
    if applied.get("duplicate"):
        return "The API had received this reply already."
    if applied.get("event") is None:
        return "The API took the reply, but it answers no email of a contact."
    return f"Handed in: recorded as {applied['event']} on the contact's timeline."
