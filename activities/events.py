"""Telling the contact's other enrollments, and sequence goals, what a sequence just did."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity
from temporalio.client import Client

from activities.contracts import AnnounceInput, ApplyTagResult, TagAndAnnounceInput
from activities.crm import load_contact, tag_once
from api.services.contact_events import fan_out
from sequences import EventType
from store.db import SessionMaker, transaction


class EventActivities:
    def __init__(self, sessionmaker: SessionMaker, temporal: Client, task_queue: str) -> None:
        self._sessionmaker = sessionmaker
        self._temporal = temporal
        self._task_queue = task_queue

    @activity.defn
    async def announce(self, request: AnnounceInput) -> int:
        """Deliver an event (a tag a sequence applied) like one reported through the API.

        A retry may deliver it twice; event waits and exit rules act on it once, and a goal
        finds the contact already enrolled.
        """
        async with transaction(self._sessionmaker) as session:
            await load_contact(session, request.ref)
            return await self._fan_out(session, request)

    @activity.defn
    async def tag_and_announce(self, request: TagAndAnnounceInput) -> ApplyTagResult:
        """Apply a tag once per effect key and, when it is new, announce it: one transaction,
        so a retry after a failed announcement applies and announces it again."""
        async with transaction(self._sessionmaker) as session:
            applied = await tag_once(session, request)
            if applied:
                await self._fan_out(
                    session,
                    AnnounceInput(
                        ref=request.ref,
                        event=EventType.tag_applied,
                        name=request.tag,
                        enrolled_by=request.enrolled_by,
                        announcer=request.announcer,
                    ),
                )
        return ApplyTagResult(tag=request.tag, applied=applied)

    async def _fan_out(self, session: AsyncSession, request: AnnounceInput) -> int:
        told, _ = await fan_out(
            session,
            self._temporal,
            self._task_queue,
            uuid.UUID(request.ref.contact_id),
            request.event,
            request.name,
            enroll_as=uuid.UUID(request.enrolled_by) if request.enrolled_by else None,
            skip=request.announcer,
        )
        return told
