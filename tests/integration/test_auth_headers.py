"""Every malformed Authorization header gets a 401 in the one error shape, sent over a raw
socket, since HTTP clients refuse to send some of these forms at all."""

import asyncio
import json
from urllib.parse import urlsplit

import pytest

MALFORMED = [
    b"Bearer ",
    b"Bearer",
    b"Bearer\t",
    b"bearer  ",
    b"Basic YWRtaW46YWRtaW4=",
    b"Bearer csk_not-a-key",
    b"Bearer a b",
    b"Token abc",
    b"",
    b"\xff\xfe",
]


async def _get(base_url: str, authorization: bytes) -> tuple[int, dict[str, object]]:
    where = urlsplit(base_url)
    reader, writer = await asyncio.open_connection(where.hostname, where.port)
    writer.write(
        b"GET /contacts HTTP/1.1\r\nHost: api\r\nAuthorization: "
        + authorization
        + b"\r\nConnection: close\r\n\r\n"
    )
    await writer.drain()
    raw = await reader.read()
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body)


@pytest.mark.parametrize("authorization", MALFORMED)
async def test_a_malformed_authorization_header_is_a_401(
    served_api: str, authorization: bytes
) -> None:
    status, body = await _get(served_api, authorization)
    assert status == 401, body
    assert body["status"] == 401
    assert "API key" in str(body["detail"])
