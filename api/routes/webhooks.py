"""Channel providers report back here. Open: each request's signature is the credential."""

import time
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response, status

from api.deps import SessionDep, SettingsDep, TemporalDep
from api.errors import Invalid, NotFound, parse_body, problems
from api.schemas.common import unstorable
from api.schemas.webhooks import EmailEvent, EmailEventApplied
from api.services import mail_parsing, replies, webhooks
from settings import Settings

router = APIRouter(
    prefix="/webhooks",
    tags=["webhooks"],
    responses=problems(
        401,
        404,
        422,
        descriptions={
            401: "Missing or wrong signature",
            404: "The webhook is off until its secret is set, or no message has the id given",
        },
    ),
)

EMPTY_TWIML = "<Response/>"
MAX_FORM_FIELDS = 200

# The body is read raw (the signature covers its exact bytes), so its schema is declared here.
_EMAIL_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": EmailEvent.model_json_schema()}},
    },
    "parameters": [
        {
            "name": "X-Signature-256",
            "in": "header",
            "required": True,
            "schema": {"type": "string"},
            "description": "sha256=<hex HMAC-SHA256 of '<timestamp>.<raw body>' with "
            "WEBHOOK_SECRET>",
        },
        {
            "name": "X-Webhook-Timestamp",
            "in": "header",
            "required": True,
            "schema": {"type": "string", "pattern": "^[0-9]{1,12}$"},
            "description": "When the request was signed, in Unix seconds; at most 300 s off.",
        },
    ],
}
_TWILIO_SIGNATURE: dict[str, Any] = {
    "name": "X-Twilio-Signature",
    "in": "header",
    "required": True,
    "schema": {"type": "string"},
    "description": "Twilio's request signature, checked with TWILIO_AUTH_TOKEN.",
}


def _twilio_openapi(*fields: str) -> dict[str, Any]:
    """A Twilio webhook's OpenAPI: the signature and the form, of which only `fields` are read
    (Twilio sends many more, all text)."""
    schema = {
        "type": "object",
        "properties": {name: {"type": "string"} for name in fields},
        "additionalProperties": {"type": "string"},
    }
    return {
        "parameters": [_TWILIO_SIGNATURE],
        "requestBody": {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": schema}},
        },
    }


async def _signed_body(request: Request, settings: Settings) -> bytes:
    """The raw body of an email webhook, once its signature checks out."""
    if not settings.webhook_secret:
        raise NotFound("email webhooks are off until WEBHOOK_SECRET is set")
    raw = await request.body()
    webhooks.check_body_signature(
        settings.webhook_secret,
        raw,
        request.headers.get("X-Signature-256"),
        request.headers.get("X-Webhook-Timestamp"),
        time.time(),
    )
    return raw


async def _twilio_form(request: Request, settings: Settings) -> dict[str, str]:
    """The form Twilio posted, once its signature checks out."""
    token = settings.twilio_auth_token
    if not token:
        raise NotFound("Twilio webhooks are off until TWILIO_AUTH_TOKEN is set")
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded":
        raise Invalid("send the form as application/x-www-form-urlencoded, as Twilio does")
    raw = await request.body()
    try:
        pairs = parse_qsl(
            raw.decode(),
            keep_blank_values=True,
            strict_parsing=bool(raw),
            max_num_fields=MAX_FORM_FIELDS,
        )
    except ValueError:
        raise Invalid("the body is not a URL-encoded form") from None
    # Twilio signs the URL it was given, which is ours as the public sees it, not as we are
    # reached behind a proxy.
    url = settings.public_base_url.rstrip("/") + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    webhooks.check_twilio_signature(token, url, pairs, request.headers.get("X-Twilio-Signature"))
    for name, value in pairs:
        problem = unstorable(name, "a field name") or unstorable(value, name)
        if problem:
            raise Invalid(problem)
    return dict(pairs)


@router.post(
    "/email",
    status_code=status.HTTP_202_ACCEPTED,
    openapi_extra=_EMAIL_BODY,
)
async def email_event(
    request: Request, session: SessionDep, temporal: TemporalDep, settings: SettingsDep
) -> EmailEventApplied:
    """An email provider reports a delivery, bounce, open, click, reply or unsubscribe."""
    raw = await _signed_body(request, settings)
    return await webhooks.apply_email_event(
        session, temporal, settings.temporal_task_queue, parse_body(EmailEvent, raw, "email event")
    )


INBOUND_FIELDS = ("email", "body-mime")


@router.post(
    "/email/inbound",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "message/rfc822": {"schema": {"type": "string", "format": "binary"}},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            name: {"type": "string", "format": "binary"} for name in INBOUND_FIELDS
                        },
                    }
                },
            },
        },
        "parameters": _EMAIL_BODY["parameters"],
    },
)
async def email_inbound(
    request: Request, session: SessionDep, temporal: TemporalDep, settings: SettingsDep
) -> replies.InboundApplied:
    """An email to us: a reply to a message we sent, an auto-reply, or a bounce report. The raw
    MIME as the body, or as the `email` (or `body-mime`) field of a form, as inbound parse
    services post it; signed like the email webhook."""
    raw = await _signed_body(request, settings)
    content_type = request.headers.get("content-type", "")
    if content_type.partition(";")[0].strip().lower() == "multipart/form-data":
        field = mail_parsing.form_field(content_type, raw, INBOUND_FIELDS)
        if field is None:
            raise Invalid("the form has no email field holding the raw message")
        raw = field
    if not raw.strip():
        raise Invalid("the body is empty: send the raw email (message/rfc822)")
    return await replies.apply_inbound(session, temporal, settings.temporal_task_queue, raw)


@router.post(
    "/twilio/status",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    openapi_extra=_twilio_openapi(
        "MessageSid",
        "MessageStatus",
        "SmsStatus",
        "CallSid",
        "CallStatus",
        "FaxSid",
        "Status",
        "FaxStatus",
        "ErrorCode",
    ),
)
async def twilio_status(
    request: Request, session: SessionDep, temporal: TemporalDep, settings: SettingsDep
) -> None:
    """Twilio's status callback for an SMS, a call or a fax we sent."""
    form = await _twilio_form(request, settings)
    for sid_field, status_fields in (
        ("MessageSid", ("MessageStatus", "SmsStatus")),
        ("CallSid", ("CallStatus",)),
        ("FaxSid", ("Status", "FaxStatus")),
    ):
        sid = form.get(sid_field)
        found = next((form[name] for name in status_fields if form.get(name)), None)
        if sid and found:
            await webhooks.apply_twilio_status(
                session,
                temporal,
                settings.temporal_task_queue,
                sid,
                found.strip().lower(),
                form.get("ErrorCode") or None,
            )
            return
    raise Invalid(
        "a status callback needs MessageSid and MessageStatus, CallSid and CallStatus, "
        "or FaxSid and Status"
    )


@router.post(
    "/twilio/inbound",
    response_class=Response,
    responses={200: {"content": {"application/xml": {}}, "description": "Empty TwiML"}},
    openapi_extra=_twilio_openapi("From", "Body", "MessageSid"),
)
async def twilio_inbound(
    request: Request, session: SessionDep, temporal: TemporalDep, settings: SettingsDep
) -> Response:
    """An SMS to one of our numbers: the sender's reply, or STOP to opt out of SMS."""
    form = await _twilio_form(request, settings)
    sender = form.get("From", "").strip()
    if not sender:
        raise Invalid("an inbound message needs From")
    # A number that is no contact's gets the same empty answer and leaves no trace: strangers
    # texting us are not contacts, and creating one is the CRM's decision, not ours.
    await webhooks.inbound_sms(
        session,
        temporal,
        settings.temporal_task_queue,
        sender,
        form.get("Body", ""),
        form.get("MessageSid"),
        default_region=settings.default_phone_region,
    )
    return Response(EMPTY_TWIML, media_type="application/xml")
