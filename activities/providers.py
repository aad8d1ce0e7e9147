"""SMS, voice calls and faxes through an HTTP provider with a Twilio-compatible API.

One `send` call hands one message to the provider and returns the provider's id for it. Failures
come out as two exceptions the deliver activity maps onto Temporal: `ProviderRejected` (the
request can never succeed as it is: the message fails) and `ProviderUnavailable` (try again
later, possibly after `retry_after` seconds). This module knows nothing of Temporal.
"""

import math
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape

import httpx

from settings import Settings

IDEMPOTENCY_HEADER = "I-Twilio-Idempotency-Token"

# Client errors that say "not now" rather than "never": timeout, conflict, too early, rate limit.
RETRYABLE_STATUSES = frozenset({408, 409, 425, 429})

_LABELS = {"sms": "SMS", "voice": "voice", "fax": "fax"}
_FROM_SETTINGS = {"sms": "SMS_FROM", "voice": "VOICE_FROM", "fax": "FAX_FROM"}


class ProviderRejected(Exception):
    """Permanent: sending this message again as it is would fail again."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: int | str | None = None,
        provider_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.provider_message = provider_message


class ProviderUnavailable(Exception):
    """Retryable: the provider could not take the message now; `retry_after` is its hint, in s."""

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True)
class PhoneProvider:
    http: httpx.AsyncClient
    account_sid: str
    auth_token: str = field(repr=False)
    base_url: str = "https://api.twilio.com"
    fax_base_url: str = "https://fax.twilio.com"
    sms_from: str | None = None
    voice_from: str | None = None
    fax_from: str | None = None
    timeout: float = 15.0

    @classmethod
    def from_settings(
        cls, settings: Settings, http: httpx.AsyncClient, *, timeout: float = 15.0
    ) -> "PhoneProvider | None":
        """The provider, or None when no account is configured (messages then stay queued)."""
        if not settings.twilio_account_sid or not settings.twilio_auth_token:
            return None
        return cls(
            http=http,
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token,
            base_url=settings.twilio_base_url,
            fax_base_url=settings.twilio_fax_base_url,
            sms_from=settings.sms_from or None,
            voice_from=settings.voice_from or None,
            fax_from=settings.fax_from or None,
            timeout=timeout,
        )

    async def send(
        self,
        channel: str,
        to: str,
        body: str,
        idempotency_key: str,
        status_callback: str | None = None,
        media_url: str | None = None,
    ) -> str:
        """Send one SMS, call or fax and return the provider's id (its `sid`) for it.

        For a call, `body` is the script read out; a fax ignores `body` and sends the document
        at `media_url`. Retrying with the same `idempotency_key` does not send twice.
        """
        label = _LABELS.get(channel)
        if label is None:
            raise ProviderRejected(f"no phone provider channel {channel!r} (sms, voice or fax)")
        url, form = self._request(channel, to, body, media_url)
        if status_callback is not None:
            form["StatusCallback"] = status_callback
        try:
            # Not following redirects: the credentials are meant for the configured host only.
            response = await self.http.post(
                url,
                data=form,
                auth=(self.account_sid, self.auth_token),
                headers={IDEMPOTENCY_HEADER: idempotency_key, "Accept": "application/json"},
                timeout=self.timeout,
                follow_redirects=False,
            )
        except httpx.TimeoutException as error:
            raise ProviderUnavailable(
                f"the {label} provider did not answer within {self.timeout:g}s "
                f"when sending to {to} ({type(error).__name__})"
            ) from error
        except httpx.TransportError as error:
            raise ProviderUnavailable(
                f"could not reach the {label} provider at {url} to send to {to}: "
                f"{type(error).__name__}: {error}"
            ) from error
        return _sid_from(response, label, to)

    def _request(
        self, channel: str, to: str, body: str, media_url: str | None
    ) -> tuple[str, dict[str, str]]:
        account = (
            f"{self.base_url.rstrip('/')}/2010-04-01/Accounts/{quote(self.account_sid, safe='')}"
        )
        if channel == "sms":
            return f"{account}/Messages.json", {
                "To": to,
                "From": self._from(channel, self.sms_from),
                "Body": body,
            }
        if channel == "voice":
            # Escaped so that a script cannot close <Say> and add verbs of its own (e.g. <Dial>).
            return f"{account}/Calls.json", {
                "To": to,
                "From": self._from(channel, self.voice_from),
                "Twiml": f"<Response><Say>{escape(body)}</Say></Response>",
            }
        if not media_url:
            raise ProviderRejected(f"the fax to {to} has no document to send (media URL missing)")
        return f"{self.fax_base_url.rstrip('/')}/v1/Faxes", {
            "To": to,
            "From": self._from(channel, self.fax_from),
            "MediaUrl": media_url,
        }

    @staticmethod
    def _from(channel: str, number: str | None) -> str:
        if not number:
            setting = _FROM_SETTINGS[channel]
            raise ProviderRejected(
                f"{setting} is not set: no number to send {_LABELS[channel]} messages from"
            )
        return number


def _sid_from(response: httpx.Response, label: str, to: str) -> str:
    status = response.status_code
    if 200 <= status < 300:
        sid = _json(response).get("sid")
        if not isinstance(sid, str) or not sid:
            # Accepted yet unusable: a retry would get the same answer, and may already have sent.
            raise ProviderRejected(
                f"the {label} provider accepted the message to {to} (HTTP {status}) "
                f"but its answer has no sid: {_excerpt(response)}",
                status=status,
            )
        return sid
    if status in RETRYABLE_STATUSES or status >= 500:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        hint = f"; retry after {retry_after:g}s" if retry_after is not None else ""
        raise ProviderUnavailable(
            f"the {label} provider could not take the message to {to} now "
            f"(HTTP {status}: {_reason(response)}){hint}",
            status=status,
            retry_after=retry_after,
        )
    error = _json(response)
    code, message = error.get("code"), error.get("message")
    if isinstance(message, str) and message:
        detail = f"{code} {message}" if isinstance(code, int | str) else message
        raise ProviderRejected(
            f"the {label} provider refused {to}: {detail}",
            status=status,
            code=code if isinstance(code, int | str) else None,
            provider_message=message,
        )
    raise ProviderRejected(
        f"the {label} provider refused {to}: HTTP {status}: {_excerpt(response)}", status=status
    )


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date); None if unusable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    if not math.isfinite(seconds):
        return None
    return max(seconds, 0.0)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        answer = response.json()
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


def _reason(response: httpx.Response) -> str:
    error = _json(response)
    message = error.get("message")
    if isinstance(message, str) and message:
        code = error.get("code")
        return f"{code} {message}" if isinstance(code, int | str) else message
    return _excerpt(response) or response.reason_phrase


def _excerpt(response: httpx.Response) -> str:
    return " ".join(response.text.split())[:200]
