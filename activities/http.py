"""HTTP post steps: name/value pairs sent to another system, the response recorded."""

import uuid
from urllib.parse import urlencode

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.contracts import HttpPostInput, HttpPostResult
from activities.crm import load_contact
from activities.merging import merge_values
from activities.outbound import OutboundPolicy, Target
from sequences.merge import render
from store import http_deliveries
from store.db import SessionMaker, transaction
from store.models import HttpDelivery


class HttpActivities:
    def __init__(
        self, sessionmaker: SessionMaker, http: httpx.AsyncClient, policy: OutboundPolicy
    ) -> None:
        self._sessionmaker = sessionmaker
        self._http = http
        self._policy = policy

    @activity.defn
    async def http_post(self, request: HttpPostInput) -> HttpPostResult:
        """POST the step's fields once per effect key; 4xx fails the step, 5xx and errors retry."""
        ref = request.ref
        target = await self._policy.resolve(request.url)
        async with self._sessionmaker() as session:
            done = await http_deliveries.delivery(session, ref.effect_key)
            # Only an accepted post is done: one refused (4xx) failed the step, and the
            # operator's retry, after fixing the cause, must post again.
            if done is not None and done.status_code is not None and done.status_code < 400:
                return HttpPostResult(status_code=done.status_code)
            contact = await load_contact(session, ref)
            values = await merge_values(session, contact)
        form = {name: render(template, values) for name, template in request.fields.items()}
        body = urlencode(form).encode()
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Idempotency-Key": ref.effect_key,
            **self._policy.signature_headers(body),
        }
        try:
            response = await post_pinned(self._http, target, content=body, headers=headers)
        except httpx.HTTPError as error:
            raise ApplicationError(f"POST {request.url} failed: {error!r}") from error
        await self._record(request, contact.id, response)
        if response.status_code >= 500:
            raise ApplicationError(f"POST {request.url} answered {response.status_code}; retrying")
        if response.status_code >= 400:
            raise ApplicationError(
                f"POST {request.url} answered {response.status_code}: {response.text[:200]}",
                non_retryable=True,
            )
        return HttpPostResult(status_code=response.status_code)

    async def _record(
        self, request: HttpPostInput, contact_id: uuid.UUID, response: httpx.Response
    ) -> None:
        answered = HttpDelivery(
            effect_key=request.ref.effect_key,
            contact_id=contact_id,
            enrollment_id=uuid.UUID(request.ref.enrollment_id),
            url=request.url,
            status_code=response.status_code,
            response_excerpt=response.text[:2000],
        )
        async with transaction(self._sessionmaker) as session:
            await http_deliveries.record_answer(session, answered)


async def post_pinned(
    http: httpx.AsyncClient, target: Target, *, content: bytes, headers: dict[str, str]
) -> httpx.Response:
    """POST to the target's vetted addresses in turn, as connecting by name would have."""

    async def post(url: httpx.URL) -> httpx.Response:
        # Redirects are not followed: a redirect could lead past the address check.
        return await http.post(
            url,
            content=content,
            headers={**headers, **target.headers},
            extensions=target.extensions,
            follow_redirects=False,
        )

    for url in target.urls[:-1]:
        try:
            return await post(url)
        except (httpx.ConnectError, httpx.ConnectTimeout):
            # Nothing was sent yet, so the next address cannot receive the POST a second time.
            continue
    return await post(target.urls[-1])
