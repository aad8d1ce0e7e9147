"""Telling the contact's other enrollments, and sequence goals, what a sequence just did."""

import uuid

from temporalio import activity
from temporalio.client import Client

from activities.contracts import AnnounceInput
from activities.crm import load_contact
from api.services.contact_events import fan_out
from store import users
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
            contact = await load_contact(session, request.ref)
            user = (
                await users.get_user(session, uuid.UUID(request.enrolled_by))
                if request.enrolled_by
                else None
            )
            told, _ = await fan_out(
                session,
                self._temporal,
                self._task_queue,
                contact,
                user,
                request.event,
                request.name,
                skip=request.announcer,
            )
        return told
