"""Durable behaviour: a worker killed mid-sequence, and effects retried with the same key."""

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlmodel import col
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.contracts import (
    EnrollmentRef,
    ProcessInput,
    SendMessageInput,
    TagAndAnnounceInput,
)
from activities.crm import CrmActivities
from activities.events import EventActivities
from activities.messaging import MessagingActivities
from sequences import AssignTo, Channel
from sequences.actions import NoteStep, OrderItem, OrderStep
from settings import Settings
from store import tasks
from store.db import SessionMaker, transaction
from store.models import (
    AppliedEffect,
    Company,
    Contact,
    ContactTag,
    Enrollment,
    Message,
    Note,
    Order,
    Role,
    Sequence,
    User,
)
from tests.integration.helpers import (
    enrollment_status,
    eventually,
    get_json,
    new_contact,
    published_sequence,
    welcome_series,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def spawn_worker(settings: Settings) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    """Start `worker.py` as its own process, as production runs it; all are killed at the end."""
    processes: list[subprocess.Popen[bytes]] = []
    env = {
        **os.environ,
        "DATABASE_URL": settings.require_database_url(),
        "TEMPORAL_ADDRESS": settings.temporal_target,
        "TEMPORAL_TASK_QUEUE": settings.temporal_task_queue,
        "UNSUBSCRIBE_SECRET": settings.require_link_secret(),
    }

    def spawn() -> subprocess.Popen[bytes]:
        process = subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=env)
        processes.append(process)
        return process

    yield spawn
    for process in processes:
        process.kill()
        process.wait()


async def test_worker_killed_mid_delay_finishes_with_one_message(
    admin: httpx.AsyncClient, spawn_worker: Callable[[], subprocess.Popen[bytes]]
) -> None:
    sequence_id = await published_sequence(admin, welcome_series("PT3S"))
    contact_id = await new_contact(admin)
    first = spawn_worker()
    enrolled = await admin.post(
        f"/sequences/{sequence_id}/enrollments", json={"contact_id": contact_id}
    )
    enrollment_id = enrolled.json()["id"]

    # The worker has run the first step when the projection shows the enrollment sleeping.
    await eventually(
        lambda: get_json(admin, f"/enrollments/{enrollment_id}"),
        lambda body: [e["kind"] for e in body["events"]] == ["enrolled"],
    )
    first.send_signal(signal.SIGKILL)
    first.wait()

    spawn_worker()
    done = await enrollment_status(admin, enrollment_id, "completed")
    assert [e["step_id"] for e in done["events"] if e["kind"] == "step_completed"] == [
        "wait",
        "welcome",
        "tag",
    ]
    messages = await get_json(admin, f"/contacts/{contact_id}/messages")
    assert len(messages) == 1


async def _enrolled_contact(
    sessionmaker: SessionMaker, email: str | None = "ada@example.com"
) -> tuple[Contact, Enrollment]:
    async with transaction(sessionmaker) as session:
        contact = Contact(email=email, first_name="Ada")
        sequence = Sequence(name="s")
        session.add_all([contact, sequence])
        await session.flush()
        enrollment = Enrollment(
            sequence_id=sequence.id,
            version=1,
            enrolled_version=1,
            contact_id=contact.id,
            workflow_id="w",
        )
        session.add(enrollment)
    return contact, enrollment


async def test_a_retried_email_is_recorded_once(sessionmaker: SessionMaker) -> None:
    contact, enrollment = await _enrolled_contact(sessionmaker)
    messaging = MessagingActivities(sessionmaker)
    ref = EnrollmentRef(
        enrollment_id=str(enrollment.id), contact_id=str(contact.id), effect_key="k:main:welcome:0"
    )
    request = SendMessageInput(
        ref=ref, channel=Channel.email, subject="Hi {{ contact.first_name }}", body="Hello"
    )

    first, _, _ = await messaging.enqueue(request)
    second, _, _ = await messaging.enqueue(request)
    next_visit, _, _ = await messaging.enqueue(
        request.model_copy(
            update={"ref": ref.model_copy(update={"effect_key": "k:main:welcome:1"})}
        ),
    )

    assert first == second
    assert next_visit.message_id != first.message_id
    async with sessionmaker() as session:
        subjects = list(
            await session.scalars(
                select(col(Message.subject)).where(col(Message.contact_id) == contact.id)
            )
        )
    assert subjects == ["Hi Ada", "Hi Ada"]


async def test_retried_tag_activity_applies_once(
    sessionmaker: SessionMaker, client: Client, task_queue: str
) -> None:
    contact, enrollment = await _enrolled_contact(sessionmaker)
    activities = EventActivities(sessionmaker, client, task_queue)
    ref = EnrollmentRef(
        enrollment_id=str(enrollment.id), contact_id=str(contact.id), effect_key="k:main:tag:0"
    )
    request = TagAndAnnounceInput(ref=ref, tag="vip", enrolled_by=None, announcer="w")
    env = ActivityEnvironment()

    first = await env.run(activities.tag_and_announce, request)
    second = await env.run(activities.tag_and_announce, request)

    assert (first.applied, second.applied) == (True, False)
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(ContactTag)) == 1
        assert await session.scalar(select(func.count()).select_from(AppliedEffect)) == 1


async def test_email_to_contact_without_address_fails_permanently(
    sessionmaker: SessionMaker,
) -> None:
    contact, enrollment = await _enrolled_contact(sessionmaker, email=None)
    ref = EnrollmentRef(
        enrollment_id=str(enrollment.id), contact_id=str(contact.id), effect_key="k"
    )
    with pytest.raises(ApplicationError, match="has no email address") as raised:
        await MessagingActivities(sessionmaker).enqueue(
            SendMessageInput(ref=ref, channel=Channel.email, subject="s", body="b")
        )
    assert raised.value.non_retryable


async def test_retried_process_steps_write_each_record_once(sessionmaker: SessionMaker) -> None:
    contact, enrollment = await _enrolled_contact(sessionmaker)
    activities = CrmActivities(sessionmaker)
    env = ActivityEnvironment()
    steps: list[NoteStep | OrderStep] = [
        NoteStep(id="note", body="Hello"),
        OrderStep(id="order", items=[OrderItem(name="Seat", quantity=2, unit_price=Decimal("5"))]),
    ]
    for step in steps:
        request = ProcessInput(
            ref=EnrollmentRef(
                enrollment_id=str(enrollment.id),
                contact_id=str(contact.id),
                effect_key=f"k:{step.id}:0",
            ),
            step=step,
            sequence_id=str(enrollment.sequence_id),
            enrolled_by=None,
            now=datetime.now(UTC),
        )
        first = await env.run(activities.run_process, request)
        again = await env.run(activities.run_process, request)
        assert "already_done" not in first
        assert again == {"already_done": True}
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Note)) == 1
        assert await session.scalar(select(func.count()).select_from(Order)) == 1


async def test_to_dos_go_to_the_person_the_step_names(sessionmaker: SessionMaker) -> None:
    async with transaction(sessionmaker) as session:
        rep, boss, enroller, named = (
            User(email=f"{n}@example.com", role=Role.rep)
            for n in ("rep", "boss", "enroller", "named")
        )
        session.add_all([rep, boss, enroller, named])
        await session.flush()
        company = Company(name="Acme", owner_id=boss.id)
        session.add(company)
        await session.flush()
        owned = Contact(email="a@example.com", owner_id=rep.id, company_id=company.id)
        orphan = Contact(email="b@example.com")
        session.add_all([owned, orphan])
        await session.flush()

        async def who(contact: Contact, **assign: Any) -> uuid.UUID | None:
            return await tasks.resolve_assignee(session, contact, AssignTo(**assign), enroller.id)

        assert await who(owned) == rep.id
        assert await who(owned, who="company_owner") == boss.id
        assert await who(owned, who="initiating_user") == enroller.id
        assert await who(owned, who="user", user_id=named.id) == named.id
        # Nobody in the role: the to-do goes to whoever enrolled the contact.
        assert await who(orphan) == enroller.id
        assert await who(orphan, who="company_owner") == enroller.id
