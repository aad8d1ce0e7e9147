"""Where an http_post may go: names are resolved once, vetted, and the request pinned to them."""

import ipaddress
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.exceptions import ApplicationError

from activities.http import post_pinned
from activities.outbound import OutboundPolicy, Resolver

HOST = "hook.example.test"
PUBLIC = "93.184.215.14"


def answering(*rounds: Sequence[str]) -> tuple[Resolver, list[str]]:
    """A resolver giving each round of answers in turn (the last one from then on)."""
    asked: list[str] = []

    async def resolve(host: str, port: int) -> Sequence[str]:
        asked.append(host)
        return rounds[min(len(asked), len(rounds)) - 1]

    return resolve, asked


class Receiver(BaseHTTPRequestHandler):
    received: list[dict[str, str]]

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.received.append({k.lower(): v for k, v in self.headers.items()})
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def serving(
    address: str, port: int = 0, tls: ssl.SSLContext | None = None
) -> Iterator[tuple[int, list[dict[str, str]]]]:
    """A real HTTP(S) server on a loopback address; yields its port and the headers it got."""
    handler: type[Receiver] = type("Handler", (Receiver,), {"received": []})
    server = ThreadingHTTPServer((address, port), handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], handler.received
    finally:
        server.shutdown()
        server.server_close()


async def post(policy: OutboundPolicy, url: str, client: httpx.AsyncClient) -> httpx.Response:
    target = await policy.resolve(url)
    return await post_pinned(client, target, content=b"a=1", headers={"Idempotency-Key": "k"})


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.1",
        "169.254.169.254",
        "::1",
        "fd00:ec2::254",
        "::ffff:10.0.0.1",  # IPv4-mapped
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "2002:a00:1::",  # 6to4 of 10.0.0.1
        "::7f00:1",  # IPv4-compatible 127.0.0.1, what [::127.0.0.1] resolves to
        "::808:808",  # IPv4-compatible, even of a public address: deprecated, never routed
        "224.0.0.1",  # multicast
        "239.255.255.250",
        "ff0e::1",
    ],
)
async def test_a_name_resolving_to_a_non_public_address_is_refused_for_good(address: str) -> None:
    resolver, _ = answering([address])
    with pytest.raises(ApplicationError) as refused:
        await OutboundPolicy(resolver=resolver).resolve(f"https://{HOST}/hook")
    shown = ipaddress.ip_address(address)
    assert str(refused.value) == (
        f"refusing to POST to {HOST}: it resolves to {shown}, which is not a public address"
    )
    assert refused.value.non_retryable


async def test_one_non_public_address_among_public_ones_is_enough_to_refuse() -> None:
    resolver, _ = answering([PUBLIC, "10.0.0.1"])
    with pytest.raises(ApplicationError, match=r"resolves to 10\.0\.0\.1, which"):
        await OutboundPolicy(resolver=resolver).resolve(f"http://{HOST}/hook")


async def test_a_name_that_does_not_resolve_fails_and_may_be_retried() -> None:
    async def unknown(host: str, port: int) -> Sequence[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(ApplicationError, match=f"cannot resolve {HOST}") as failed:
        await OutboundPolicy(resolver=unknown).resolve(f"http://{HOST}/hook")
    assert not failed.value.non_retryable


async def test_the_target_is_pinned_to_the_vetted_address_and_keeps_the_name() -> None:
    resolver, asked = answering([PUBLIC], ["127.0.0.1"])  # a rebinding name
    target = await OutboundPolicy(resolver=resolver).resolve(f"https://{HOST}:8443/hook?x=1")
    assert asked == [HOST], "resolved once"
    assert target.urls == (httpx.URL(f"https://{PUBLIC}:8443/hook?x=1"),)
    assert target.headers["Host"] == f"{HOST}:8443"
    assert target.extensions == {"sni_hostname": HOST}


async def test_ipv6_addresses_are_bracketed_and_the_default_port_left_out() -> None:
    resolver, _ = answering(["2606:2800:21f:cb07:6820:80da:af6b:8b2c", PUBLIC])
    target = await OutboundPolicy(resolver=resolver).resolve(f"http://{HOST}/hook")
    assert [str(url) for url in target.urls] == [
        "http://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/hook",
        f"http://{PUBLIC}/hook",
    ]
    assert target.headers == {"Host": HOST}


async def test_the_post_goes_to_the_vetted_address_not_to_a_fresh_lookup() -> None:
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200)

    resolver, _ = answering([PUBLIC], ["127.0.0.1"])
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
        await post(OutboundPolicy(resolver=resolver), f"https://{HOST}/hook", client)
    [request] = sent
    assert (request.url.host, request.headers["Host"]) == (PUBLIC, HOST)
    assert request.extensions["sni_hostname"] == HOST
    assert request.headers["Idempotency-Key"] == "k"


async def test_a_name_rebound_after_the_check_still_reaches_the_vetted_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Real sockets and the system resolver path: the first lookup of the name answers
    # 127.0.0.1, every later one 127.0.0.2, where a second server waits for a rebound request.
    system = socket.getaddrinfo
    lookups: list[str] = []

    def rebinding(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host  # anyio passes bytes
        if name != HOST:
            return system(host, *args, **kwargs)
        lookups.append(name)
        return system("127.0.0.1" if len(lookups) == 1 else "127.0.0.2", *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    with serving("127.0.0.1") as (port, vetted), serving("127.0.0.2", port) as (_, rebound):
        async with httpx.AsyncClient(timeout=5) as client:
            response = await post(
                OutboundPolicy(allow_private=True), f"http://{HOST}:{port}/hook", client
            )
    assert response.status_code == 200
    assert [headers["host"] for headers in vetted] == [f"{HOST}:{port}"]
    assert rebound == []
    assert lookups == [HOST]


async def test_the_next_vetted_address_is_tried_only_when_the_connection_fails() -> None:
    with serving("127.0.0.1") as (port, first), serving("127.0.0.3", port) as (_, third):
        resolver, _ = answering(["127.0.0.2", "127.0.0.1", "127.0.0.3"])  # nobody on .2
        async with httpx.AsyncClient(timeout=5) as client:
            response = await post(
                OutboundPolicy(allow_private=True, resolver=resolver),
                f"http://{HOST}:{port}/hook",
                client,
            )
    assert response.status_code == 200
    assert (len(first), len(third)) == (1, 0)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for the hook's name only, not for any address."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    openssl = "openssl req -x509 -nodes -days 1 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1"
    subprocess.run(
        [
            *openssl.split(),
            *("-subj", f"/CN={HOST}", "-addext", f"subjectAltName=DNS:{HOST}"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


async def test_https_to_a_pinned_address_verifies_the_certificate_of_the_name(
    certificate: tuple[Path, Path],
) -> None:
    cert, key = certificate
    names: list[str | None] = []
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    tls.sni_callback = lambda _socket, name, _context: names.append(name)
    resolver, _ = answering(["127.0.0.1"])
    with serving("127.0.0.1", tls=tls) as (port, received):
        async with httpx.AsyncClient(verify=ssl.create_default_context(cafile=cert)) as client:
            response = await post(
                OutboundPolicy(allow_private=True, resolver=resolver),
                f"https://{HOST}:{port}/hook",
                client,
            )
    assert response.status_code == 200
    assert names == [HOST]
    [headers] = received
    assert headers["host"] == f"{HOST}:{port}"
    # Pooled connections are keyed by address, so one named for this host is not kept for another.
    assert headers["connection"] == "close"
