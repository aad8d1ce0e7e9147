"""The SMS, voice and fax client against a real HTTP server on loopback playing the provider."""

import base64
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import pytest_asyncio

from activities.providers import (
    IDEMPOTENCY_HEADER,
    PhoneProvider,
    ProviderRejected,
    ProviderUnavailable,
)
from settings import Settings

pytestmark = pytest.mark.integration

SID = "AC0123456789abcdef0123456789abcdef"
TOKEN = "secret-token"


@pytest.fixture(autouse=True)
def empty_tables() -> None:
    """No database here: replaces the package's autouse fixture, which would start PostgreSQL."""


@dataclass
class Answer:
    status: int = 201
    body: Any = field(default_factory=lambda: {"sid": "SM0001"})
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Recorded:
    path: str
    form: dict[str, list[str]]
    authorization: str | None
    idempotency_key: str | None


class FakeProvider:
    """What the server received, and the answers it gives in order (201 with a sid when out)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.received: list[Recorded] = []
        self.script: list[Answer] = []

    def answer(self, *answers: Answer) -> None:
        self.script.extend(answers)


class ProviderHandler(BaseHTTPRequestHandler):
    fake: FakeProvider

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        self.fake.received.append(
            Recorded(
                path=self.path,
                form=parse_qs(raw.decode()),
                authorization=self.headers.get("Authorization"),
                idempotency_key=self.headers.get(IDEMPOTENCY_HEADER),
            )
        )
        answer = self.fake.script.pop(0) if self.fake.script else Answer()
        time.sleep(answer.delay)
        payload = answer.body if isinstance(answer.body, str) else json.dumps(answer.body)
        try:
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload.encode())))
            self.end_headers()
            self.wfile.write(payload.encode())
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up first (the timeout test); nothing left to answer.
            pass

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def fake_provider() -> Iterator[FakeProvider]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), ProviderHandler)
    fake = FakeProvider(f"http://127.0.0.1:{server.server_address[1]}")
    server.RequestHandlerClass = type("Handler", (ProviderHandler,), {"fake": fake})
    # A short poll interval: shutdown() waits for it, once per test.
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()


@pytest_asyncio.fixture(loop_scope="session")
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def provider_for(
    http: httpx.AsyncClient, url: str, *, timeout: float = 5.0, sms_from: str | None = "+15550001"
) -> PhoneProvider:
    return PhoneProvider(
        http=http,
        account_sid=SID,
        auth_token=TOKEN,
        base_url=url,
        fax_base_url=f"{url}/fax",
        sms_from=sms_from,
        voice_from="+15550002",
        fax_from="+15550003",
        timeout=timeout,
    )


async def test_an_sms_is_posted_with_auth_and_the_effect_key_and_returns_the_sid(
    fake_provider: FakeProvider, http: httpx.AsyncClient
) -> None:
    fake_provider.answer(Answer(201, {"sid": "SM42", "status": "queued"}))
    provider = provider_for(http, fake_provider.url)

    sid = await provider.send(
        "sms",
        "+15551234",
        "Hello & welcome",
        "effect-1",
        status_callback="https://app.example/hooks/sms",
    )

    assert sid == "SM42"
    [request] = fake_provider.received
    assert request.path == f"/2010-04-01/Accounts/{SID}/Messages.json"
    assert request.form == {
        "To": ["+15551234"],
        "From": ["+15550001"],
        "Body": ["Hello & welcome"],
        "StatusCallback": ["https://app.example/hooks/sms"],
    }
    assert request.authorization == "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert request.idempotency_key == "effect-1"


async def test_a_call_reads_the_script_as_text_even_when_it_holds_markup(
    fake_provider: FakeProvider, http: httpx.AsyncClient
) -> None:
    fake_provider.answer(Answer(201, {"sid": "CA7"}))
    provider = provider_for(http, fake_provider.url)

    sid = await provider.send("voice", "+15551234", "Hi </Say><Dial>+1999</Dial>", "effect-2")

    assert sid == "CA7"
    [request] = fake_provider.received
    assert request.path == f"/2010-04-01/Accounts/{SID}/Calls.json"
    assert request.form["From"] == ["+15550002"]
    assert "StatusCallback" not in request.form
    assert request.form["Twiml"] == [
        "<Response><Say>Hi &lt;/Say&gt;&lt;Dial&gt;+1999&lt;/Dial&gt;</Say></Response>"
    ]


async def test_a_fax_posts_the_document_url_to_the_fax_api(
    fake_provider: FakeProvider, http: httpx.AsyncClient
) -> None:
    fake_provider.answer(Answer(201, {"sid": "FX9"}))
    provider = provider_for(http, fake_provider.url)

    sid = await provider.send(
        "fax", "+15551234", "", "effect-3", media_url="https://app.example/doc.pdf"
    )

    assert sid == "FX9"
    [request] = fake_provider.received
    assert request.path == "/fax/v1/Faxes"
    assert request.form == {
        "To": ["+15551234"],
        "From": ["+15550003"],
        "MediaUrl": ["https://app.example/doc.pdf"],
    }
    assert request.idempotency_key == "effect-3"


async def test_a_fax_without_a_document_is_rejected_before_any_request(
    fake_provider: FakeProvider, http: httpx.AsyncClient
) -> None:
    provider = provider_for(http, fake_provider.url)

    with pytest.raises(ProviderRejected, match="no document"):
        await provider.send("fax", "+15551234", "", "effect-4")

    assert fake_provider.received == []


async def test_a_provider_error_is_permanent_and_carries_its_code_and_message(
    fake_provider: FakeProvider, http: httpx.AsyncClient
) -> None:
    fake_provider.answer(
        Answer(
            400,
            {
                "code": 21211,
                "message": "Invalid 'To' Phone Number",
                "more_info": "https://www.twilio.com/docs/errors/21211",
                "status": 400,
            },
        )
    )
    provider = provider_for(http, fake_provider.url)

    with pytest.raises(ProviderRejected) as rejected:
        await provider.send("sms", "+1555", "Hi", "effect-5")

    assert str(rejected.value) == (
        "the SMS provider refused +1555: 21211 Invalid 'To' Phone Number"
    )
    assert rejected.value.code == 21211
    assert rejected.value.status == 400


async def test_an_error_without_a_json_body_is_reported_with_its_status_and_text(
    fake_provider: FakeProvider, http: httpx.AsyncClient
) -> None:
    fake_provider.answer(Answer(404, "no such account"))
    provider = provider_for(http, fake_provider.url)

    with pytest.raises(ProviderRejected, match="HTTP 404: no such account"):
        await provider.send("sms", "+15551234", "Hi", "effect-6")


async def test_a_rate_limit_is_retryable_after_the_providers_delay(
    fake_provider: FakeProvider, http: httpx.AsyncClient
) -> None:
    fake_provider.answer(
        Answer(429, {"code": 20429, "message": "Too Many Requests"}, {"Retry-After": "7"})
    )
    provider = provider_for(http, fake_provider.url)

    with pytest.raises(ProviderUnavailable) as unavailable:
        await provider.send("sms", "+15551234", "Hi", "effect-7")

    assert unavailable.value.retry_after == 7.0
    assert unavailable.value.status == 429
    assert "retry after 7s" in str(unavailable.value)


@pytest.mark.parametrize("status", [408, 409, 425, 500, 503])
async def test_transient_statuses_are_retryable(
    fake_provider: FakeProvider, http: httpx.AsyncClient, status: int
) -> None:
    fake_provider.answer(Answer(status, ""))
    provider = provider_for(http, fake_provider.url)

    with pytest.raises(ProviderUnavailable) as unavailable:
        await provider.send("sms", "+15551234", "Hi", "effect-8")

    assert unavailable.value.status == status
    assert unavailable.value.retry_after is None


async def test_a_provider_slower_than_the_timeout_is_retryable(
    fake_provider: FakeProvider, http: httpx.AsyncClient
) -> None:
    fake_provider.answer(Answer(delay=1.0))
    provider = provider_for(http, fake_provider.url, timeout=0.2)

    with pytest.raises(ProviderUnavailable, match=r"did not answer within 0\.2s"):
        await provider.send("sms", "+15551234", "Hi", "effect-9")


async def test_an_unreachable_provider_is_retryable(http: httpx.AsyncClient) -> None:
    # Bound but not listening: connections are refused, and no one else can take the port.
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        provider = provider_for(http, f"http://127.0.0.1:{closed.getsockname()[1]}")

        with pytest.raises(ProviderUnavailable, match="could not reach the SMS provider"):
            await provider.send("sms", "+15551234", "Hi", "effect-10")


async def test_a_missing_sender_number_is_a_permanent_error_naming_the_setting(
    fake_provider: FakeProvider, http: httpx.AsyncClient
) -> None:
    provider = provider_for(http, fake_provider.url, sms_from=None)

    with pytest.raises(ProviderRejected, match="SMS_FROM"):
        await provider.send("sms", "+15551234", "Hi", "effect-11")

    assert fake_provider.received == []


async def test_from_settings_needs_both_account_and_token(http: httpx.AsyncClient) -> None:
    # Given explicitly: neither a .env file nor the environment may supply an account here.
    no_account = Settings(twilio_account_sid=None, twilio_auth_token=None)
    assert PhoneProvider.from_settings(no_account, http) is None
    no_token = Settings(twilio_account_sid=SID, twilio_auth_token=None)
    assert PhoneProvider.from_settings(no_token, http) is None

    configured = Settings(
        twilio_account_sid=SID,
        twilio_auth_token=TOKEN,
        twilio_base_url="https://api.example",
        sms_from="+1",
    )
    provider = PhoneProvider.from_settings(configured, http)

    assert provider is not None
    assert (provider.account_sid, provider.auth_token, provider.sms_from) == (SID, TOKEN, "+1")
    assert provider.base_url == "https://api.example"
    assert TOKEN not in repr(provider)
