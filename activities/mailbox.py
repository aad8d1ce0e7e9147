"""Polling an IMAP mailbox for replies and bounces, handed to the API's inbound webhook.

The mailbox is the queue: a mail is marked \\Seen only once the webhook answered 2xx (which
means committed), so a poll that dies midway leaves the rest for the next one, and the
webhook drops a mail it was given before by its Message-ID. A mail the webhook refuses for
good (4xx) is flagged with why, and kept out of later polls.
"""

import asyncio
import imaplib
import logging
import ssl
import time
from dataclasses import dataclass

import httpx

import links
from settings import Settings

log = logging.getLogger(__name__)

REFUSED_FLAG = "$CampaignRefused"
# The webhook takes bodies up to 1 MiB; a larger mail is handed over as its headers alone,
# which are what a reply is matched by.
LARGEST = 1024 * 1024 - 1024
BATCH = 50


@dataclass(frozen=True)
class Mailbox:
    host: str
    port: int
    username: str
    password: str
    folder: str
    tls: bool
    webhook_url: str
    webhook_secret: str

    @classmethod
    def from_settings(cls, settings: Settings) -> "Mailbox | None":
        if not settings.imap_host:
            return None
        if not settings.webhook_secret:
            raise RuntimeError(
                "IMAP_HOST is set but WEBHOOK_SECRET is not: replies are handed to the inbound "
                "email webhook, which is off without it"
            )
        return cls(
            host=settings.imap_host,
            port=settings.imap_port,
            username=settings.imap_username or "",
            password=settings.imap_password or "",
            folder=settings.imap_folder,
            tls=settings.imap_tls,
            webhook_url=settings.inbound_webhook_url
            or f"http://{settings.api_host}:{settings.api_port}/webhooks/email/inbound",
            webhook_secret=settings.webhook_secret,
        )

    def _signed(self, body: bytes) -> dict[str, str]:
        return {
            "Content-Type": "message/rfc822",
            **links.signed_body_headers(self.webhook_secret, body, time.time()),
        }

    def _connect(self) -> imaplib.IMAP4:
        if self.tls:
            imap: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                self.host, self.port, ssl_context=ssl.create_default_context(), timeout=30
            )
        else:
            imap = imaplib.IMAP4(self.host, self.port, timeout=30)
        imap.login(self.username, self.password)
        imap.select(self.folder)
        return imap

    def _unseen(self, imap: imaplib.IMAP4) -> list[str]:
        _, found = imap.uid("SEARCH", "UNSEEN", "UNKEYWORD", REFUSED_FLAG)
        return (found[0] or b"").decode().split()[:BATCH]

    def _fetch(self, imap: imaplib.IMAP4, uid: str) -> bytes | None:
        _, sized = imap.uid("FETCH", uid, "(RFC822.SIZE)")
        size_line = sized[0] if sized and isinstance(sized[0], bytes) else b""
        size = int(size_line.rsplit(b"RFC822.SIZE", 1)[-1].strip(b" )") or 0)
        part = "BODY.PEEK[HEADER]" if size > LARGEST else "BODY.PEEK[]"
        _, fetched = imap.uid("FETCH", uid, f"({part})")
        for item in fetched:
            if isinstance(item, tuple) and isinstance(item[1], bytes):
                return item[1]
        return None

    async def poll_once(self, http: httpx.AsyncClient) -> int:
        """Hand over every unseen mail; how many the webhook took."""
        imap = await asyncio.to_thread(self._connect)
        taken = 0
        try:
            for uid in await asyncio.to_thread(self._unseen, imap):
                raw = await asyncio.to_thread(self._fetch, imap, uid)
                if raw is None:
                    continue
                answer = await http.post(self.webhook_url, content=raw, headers=self._signed(raw))
                if answer.is_success:
                    await asyncio.to_thread(imap.uid, "STORE", uid, "+FLAGS", "(\\Seen)")
                    taken += 1
                elif answer.is_client_error:
                    log.warning("inbound mail %s refused: %s", uid, answer.text[:500])
                    await asyncio.to_thread(imap.uid, "STORE", uid, "+FLAGS", f"({REFUSED_FLAG})")
                else:
                    answer.raise_for_status()
        finally:
            await asyncio.to_thread(imap.logout)
        return taken

    async def poll(self, http: httpx.AsyncClient, every: float) -> None:
        """Poll until cancelled; a failed poll is logged and tried again at the next."""
        while True:
            try:
                taken = await self.poll_once(http)
                if taken:
                    log.info("handed %d inbound mails to the webhook", taken)
            except (OSError, imaplib.IMAP4.error, httpx.HTTPError) as error:
                log.warning("polling the mailbox %s failed: %s", self.host, error)
            await asyncio.sleep(every)
