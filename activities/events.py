"""Telling the contact's enrollments, and sequence goals, what the contact or a sequence did."""

import asyncio
import uuid
from datetime import timedelta

import psycopg
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from activities.contracts import (
    ApplyTagResult,
    FanOutInput,
    FanOutResult,
    TagAndAnnounceInput,
)
from activities.crm import tag_once
from enrolling.fan_out import fan_out, tell
from sequences import EventType
from store import contacts, driver, events
from store.db import SessionMaker, autocommit, transaction
from store.events import TransactionOutcome
from workflows.state import ContactEventSignal

# The API commits a moment after it starts a fan-out; look that often, for about this long,
# before handing the wait to the activity's retries.
COMMIT_POLL = timedelta(milliseconds=10)
COMMIT_POLLS = 300


class EventActivities:
    def __init__(self, sessionmaker: SessionMaker, temporal: Client, task_queue: str) -> None:
        self._sessionmaker = sessionmaker
        self._temporal = temporal
        self._task_queue = task_queue

    async def tag_and_announce(self, request: TagAndAnnounceInput) -> ApplyTagResult:
        """Apply a tag once per effect key and, when it is new, announce it: one transaction,
        so a retry after a failed announcement applies and announces it again."""
        usual = await self._tag_and_tell(request)
        if usual is not None:
            return usual
        async with transaction(self._sessionmaker) as session:
            applied = await tag_once(session, request)
            if applied:
                # Its own workflow hears of it from the result, without a signal.
                await fan_out(
                    session,
                    self._temporal,
                    self._task_queue,
                    uuid.UUID(request.ref.contact_id),
                    EventType.tag_applied,
                    request.tag,
                    enroll_as=uuid.UUID(request.enrolled_by) if request.enrolled_by else None,
                    skip=request.announcer,
                )
        return ApplyTagResult(tag=request.tag, applied=applied)

    async def _tag_and_tell(self, request: TagAndAnnounceInput) -> ApplyTagResult | None:
        """The usual case in one round trip and a commit: a tag that exists, a contact without
        it, and no goal that may enroll on it. None, with nothing done, for the other cases,
        which the session path handles."""
        async with driver.transaction(self._sessionmaker) as connection:
            claim = await contacts.claim_tag_and_hear(
                connection,
                request.ref.effect_key,
                uuid.UUID(request.ref.enrollment_id),
                uuid.UUID(request.ref.contact_id),
                request.tag,
                goals_on=EventType.tag_applied,
            )
            if claim.claimed and (not claim.tagged or (claim.any_goal and request.enrolled_by)):
                raise psycopg.Rollback()
            if claim.tagged:
                signal = ContactEventSignal(event=EventType.tag_applied, name=request.tag)
                await tell(self._temporal, claim.running, signal, skip=request.announcer)
            return ApplyTagResult(tag=request.tag, applied=claim.tagged)
        return None

    @activity.defn
    async def committed(self, transaction_id: int) -> bool:
        """Whether the transaction that recorded an event committed, once it has ended."""
        async with autocommit(self._sessionmaker) as connection:
            for _ in range(COMMIT_POLLS):
                outcome = await events.transaction_outcome(connection, transaction_id)
                if outcome != TransactionOutcome.open:
                    return outcome == TransactionOutcome.committed
                await asyncio.sleep(COMMIT_POLL.total_seconds())
        raise ApplicationError(f"transaction {transaction_id} is still open", type="StillOpen")

    @activity.defn
    async def fan_out_event(self, request: FanOutInput) -> FanOutResult:
        """Tell the contact's running enrollments, and enroll it where a goal matches. A retry
        may tell them twice; event waits and exit rules act on it once, and a goal finds the
        contact already enrolled."""
        async with transaction(self._sessionmaker) as session:
            told, enrolled = await fan_out(
                session,
                self._temporal,
                self._task_queue,
                uuid.UUID(request.contact_id),
                request.event,
                request.name,
                enroll_as=uuid.UUID(request.enrolled_by) if request.enrolled_by else None,
                message_id=request.message_id,
                url=request.url,
            )
        return FanOutResult(committed=True, told=told, enrolled=[str(e) for e in enrolled])
