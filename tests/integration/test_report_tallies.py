"""The tallies the database keeps, for each cohort (version enrolled on, UTC day) and for all
days together, are what counting every enrollment, event and message gives."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import delete, text, update
from sqlmodel import col
from temporalio.testing import ActivityEnvironment

from activities.contracts import EnrollmentEventRecord, ProjectionBatch, ProjectionUpdate
from activities.projection import ProjectionActivities
from store import engagement, reports
from store.db import SessionMaker, transaction
from store.migrate import MIGRATIONS
from store.models import (
    Contact,
    Enrollment,
    Message,
    MessageStatus,
    Sequence,
    SequenceStatus,
    Task,
)

AT = datetime(2026, 12, 1, tzinfo=UTC)


class Enrollments:
    """Writes one sequence's enrollments the way the workflows do: through the projection."""

    def __init__(self, sessionmaker: SessionMaker, sequence_id: uuid.UUID) -> None:
        self.sessionmaker = sessionmaker
        self.sequence_id = sequence_id
        self.projection = ProjectionActivities(sessionmaker)
        self.revisions: dict[str, int] = {}
        self.contacts: dict[str, uuid.UUID] = {}
        self.versions: dict[str, int] = {}
        self.enrolled_at: dict[str, datetime] = {}

    async def new(self, version: int = 1, at: datetime = AT) -> str:
        async with transaction(self.sessionmaker) as session:
            contact = Contact(email=f"{uuid.uuid4()}@example.com")
            session.add(contact)
        enrollment_id = str(uuid.uuid4())
        self.contacts[enrollment_id] = contact.id
        self.revisions[enrollment_id] = 0
        self.versions[enrollment_id] = version
        self.enrolled_at[enrollment_id] = at
        await self.move(enrollment_id, "enrolled", None, "first")
        return enrollment_id

    async def move(
        self,
        enrollment_id: str,
        kind: str,
        step_id: str | None,
        current_step: str | None,
        status: str = "active",
        outcome: str | None = None,
    ) -> None:
        """Record an event, and where the enrollment stands after it."""
        self.revisions[enrollment_id] += 1
        revision = self.revisions[enrollment_id]
        update = ProjectionUpdate(
            enrollment_id=enrollment_id,
            sequence_id=str(self.sequence_id),
            version=self.versions[enrollment_id],
            contact_id=str(self.contacts[enrollment_id]),
            workflow_id=f"enrollment:{enrollment_id}",
            enrolled_by=None,
            revision=revision,
            status=status,
            current_step=current_step,
            outcome=outcome,
            failure_reason=None,
            ended_at=AT if status == "completed" else None,
            at=self.enrolled_at[enrollment_id] + timedelta(seconds=revision),
            event=EnrollmentEventRecord(
                effect_key=f"{enrollment_id}:event:{revision}",
                kind=kind,
                occurred_at=self.enrolled_at[enrollment_id] + timedelta(seconds=revision),
                step_id=step_id,
            ),
        )
        await ActivityEnvironment().run(
            self.projection.record_progress_batch, ProjectionBatch(updates=[update])
        )

    async def message(
        self,
        enrollment_id: str,
        step_id: str,
        channel: str = "email",
        status: MessageStatus = MessageStatus.sent,
    ) -> uuid.UUID:
        async with transaction(self.sessionmaker) as session:
            message = Message(
                effect_key=f"{enrollment_id}:main:{step_id}:{uuid.uuid4()}",
                enrollment_id=uuid.UUID(enrollment_id),
                contact_id=self.contacts[enrollment_id],
                channel=channel,
                to_address="someone@example.com",
                status=status,
            )
            session.add(message)
        return message.id

    async def task(self, enrollment_id: str, step_id: str, result: str | None) -> uuid.UUID:
        async with transaction(self.sessionmaker) as session:
            task = Task(
                effect_key=f"{enrollment_id}:{step_id}:{uuid.uuid4()}",
                contact_id=self.contacts[enrollment_id],
                enrollment_id=uuid.UUID(enrollment_id),
                step_id=step_id,
                kind="call",
                title="Call",
                due_at=AT,
                result=result,
            )
            session.add(task)
        return task.id

    async def migrate(self, enrollment_id: str, version: int, current_step: str) -> None:
        """Move an enrollment to a later version, as a migration does."""
        self.versions[enrollment_id] = version
        await self.move(enrollment_id, "migrated", None, current_step)

    async def report(self, **scope: Any) -> dict[str, Any]:
        """The report of `scope` (version, since, until), after checking every tally against
        the facts."""
        async with self.sessionmaker() as session:
            for tallied, counted in (
                (_TALLIED_POSITIONS, _COUNTED_POSITIONS),
                (_TALLIED_STEPS, _COUNTED_STEPS),
            ):
                params = {"sequence_id": self.sequence_id}
                tallies = set(await session.execute(text(tallied), params))
                assert tallies == set(await session.execute(text(counted), params))
            return await reports.sequence_report(session, self.sequence_id, **scope)


# Each cohort's tallies and all days' (-infinity, which Python has no date for), summed over
# shards; and the same counted from the rows they tally.
_TALLIED_POSITIONS = """
    SELECT enrolled_on::text, version, status, outcome, current_step, sum(enrollments)
    FROM report_position WHERE sequence_id = :sequence_id
    GROUP BY 1, 2, 3, 4, 5 HAVING sum(enrollments) <> 0"""
_COUNTED_POSITIONS = """
    SELECT d.day::text, e.enrolled_version, e.status::text, coalesce(e.outcome, ''),
           coalesce(e.current_step, ''), count(*)
    FROM enrollment e CROSS JOIN LATERAL report_days(e.created_at) d
    WHERE e.sequence_id = :sequence_id GROUP BY 1, 2, 3, 4, 5"""
_TALLIED_STEPS = """
    SELECT enrolled_on::text, version, step_id, measure, label, sum(count)
    FROM report_step WHERE sequence_id = :sequence_id
    GROUP BY 1, 2, 3, 4, 5 HAVING sum(count) <> 0"""
_COUNTED_STEPS = """
    SELECT d.day::text, e.enrolled_version, f.step_id, f.measure, f.label, sum(f.count)
    FROM report_step_facts f JOIN enrollment e ON e.id = f.enrollment_id
    CROSS JOIN LATERAL report_days(e.created_at) d
    WHERE e.sequence_id = :sequence_id GROUP BY 1, 2, 3, 4, 5"""


async def _sequence(sessionmaker: SessionMaker) -> uuid.UUID:
    async with transaction(sessionmaker) as session:
        sequence = Sequence(name="Tallied", status=SequenceStatus.published, latest_version=1)
        session.add(sequence)
    return sequence.id


async def test_tallies_follow_moves_loops_results_and_removals(sessionmaker: SessionMaker) -> None:
    enrollments = Enrollments(sessionmaker, await _sequence(sessionmaker))
    a, b, c = [await enrollments.new() for _ in range(3)]
    for enrollment_id in (a, b, c):
        await enrollments.move(enrollment_id, "step_completed", "first", "call")
        await enrollments.message(enrollment_id, "first")
    call = await enrollments.task(a, "call", None)
    await enrollments.task(b, "call", "no_answer")
    await enrollments.move(b, "step_completed", "call", "first")  # a loop back to the start
    await enrollments.move(b, "step_completed", "first", "call")  # "first" again: counted once
    await enrollments.message(b, "first")
    await enrollments.move(c, "stopped", None, "call", status="stopped")
    report = await enrollments.report()
    assert (report["enrolled"], report["active"], report["stopped"]) == (3, 2, 1)
    assert report["steps"]["first"].pop("engagement")["sent"] == 4
    assert report["steps"]["first"] == {
        "reached": 3,
        "waiting": 0,
        "completed": 3,
        "messages": {"email": 4},
        "queued": {},
        "task_results": {},
    }
    assert report["steps"]["call"] == {
        "reached": 4,
        "waiting": 2,
        "completed": 1,
        "messages": {},
        "queued": {},
        "task_results": {"no_answer": 1},
    }

    async with transaction(sessionmaker) as session:
        await session.execute(update(Task).where(col(Task.id) == call).values(result="positive"))
    await enrollments.move(a, "step_completed", "call", None, "completed", "positive")
    report = await enrollments.report()
    assert report["outcomes"]["positive"] == 1
    assert report["steps"]["call"]["task_results"] == {"no_answer": 1, "positive": 1}

    async with transaction(sessionmaker) as session:
        await session.execute(delete(Enrollment).where(col(Enrollment.id) == uuid.UUID(b)))
    report = await enrollments.report()
    assert (report["enrolled"], report["completed"], report["stopped"]) == (2, 1, 1)
    assert report["steps"]["first"]["messages"] == {"email": 2}
    assert report["steps"]["call"]["task_results"] == {"positive": 1}


async def test_engagement_tallies_follow_what_recipients_did_and_removals(
    sessionmaker: SessionMaker,
) -> None:
    enrollments = Enrollments(sessionmaker, await _sequence(sessionmaker))
    a, b, c = [await enrollments.new() for _ in range(3)]
    sent = {e: await enrollments.message(e, "offer") for e in (a, b, c)}
    async with transaction(sessionmaker) as session:
        for enrollment_id in (a, b):
            await engagement.mark(session, sent[enrollment_id], engagement.Fact.opened, AT)
            # Marked twice: a message is opened once however often it is.
            await engagement.mark(session, sent[enrollment_id], engagement.Fact.opened, AT)
            await engagement.click(session, sent[enrollment_id], "https://example.com/p", AT)
        await engagement.click(session, sent[a], "https://example.com/p", AT)
        await engagement.click(session, sent[a], "https://example.com/q", AT)
        await engagement.mark(session, sent[c], engagement.Fact.machine_opened, AT)
        await engagement.mark(session, sent[b], engagement.Fact.replied, AT)
        await session.execute(
            update(Message).where(col(Message.id) == sent[c]).values(status=MessageStatus.bounced)
        )
    facts = (await enrollments.report())["steps"]["offer"]["engagement"]
    assert facts == {
        "sent": 3,
        "delivered": 2,
        "bounced": 1,
        "opened": 2,
        "machine_opened": 1,
        "clicked": 2,
        "replied": 1,
        "unsubscribed": 0,
        "links": {"https://example.com/p": 2, "https://example.com/q": 1},
        "rates": {
            "delivered": 0.6667,
            "bounced": 0.3333,
            "opened": 0.6667,
            "machine_opened": 0.3333,
            "clicked": 0.6667,
            "replied": 0.3333,
            "unsubscribed": 0.0,
            "click_to_open": 1.0,
        },
    }
    async with transaction(sessionmaker) as session:
        await session.execute(delete(Enrollment).where(col(Enrollment.id) == uuid.UUID(a)))
    facts = (await enrollments.report())["steps"]["offer"]["engagement"]
    assert (facts["sent"], facts["opened"], facts["clicked"], facts["replied"]) == (2, 1, 1, 1)
    assert facts["links"] == {"https://example.com/p": 1}


async def test_a_message_written_with_what_its_recipient_did_counts_it(
    sessionmaker: SessionMaker,
) -> None:
    enrollments = Enrollments(sessionmaker, await _sequence(sessionmaker))
    a = await enrollments.new()
    async with transaction(sessionmaker) as session:
        session.add(
            Message(
                effect_key=f"{a}:main:offer:0",
                enrollment_id=uuid.UUID(a),
                contact_id=enrollments.contacts[a],
                channel="email",
                to_address="someone@example.com",
                status=MessageStatus.bounced,
                opened_at=AT,
                machine_opened_at=AT,
            )
        )
    facts = (await enrollments.report())["steps"]["offer"]["engagement"]
    assert (facts["sent"], facts["bounced"], facts["opened"], facts["machine_opened"]) == (
        1,
        1,
        1,
        1,
    )


async def test_a_queued_message_counts_as_queued_until_it_is_sent(
    sessionmaker: SessionMaker,
) -> None:
    enrollments = Enrollments(sessionmaker, await _sequence(sessionmaker))
    a = await enrollments.new()
    waiting = await enrollments.message(a, "text", "sms", MessageStatus.queued)
    await enrollments.message(a, "text", "sms", MessageStatus.failed)
    report = await enrollments.report()
    assert (report["steps"]["text"]["messages"], report["steps"]["text"]["queued"]) == (
        {},
        {"sms": 1},
    )
    async with transaction(sessionmaker) as session:
        await session.execute(
            update(Message).where(col(Message.id) == waiting).values(status=MessageStatus.sent)
        )
    report = await enrollments.report()
    assert (report["steps"]["text"]["messages"], report["steps"]["text"]["queued"]) == (
        {"sms": 1},
        {},
    )


async def test_tallies_stay_exact_under_concurrent_writes(sessionmaker: SessionMaker) -> None:
    enrollments = Enrollments(sessionmaker, await _sequence(sessionmaker))
    started = [await enrollments.new() for _ in range(40)]

    async def walk(enrollment_id: str, backwards: bool) -> None:
        # Half move forwards and half backwards through the same steps at the same time.
        steps = ["s1", "s2", "s3", "s4"]
        for step in reversed(steps) if backwards else steps:
            await enrollments.move(enrollment_id, "step_completed", step, step)

    await asyncio.gather(*(walk(e, n % 2 == 1) for n, e in enumerate(started)))
    report = await enrollments.report()
    assert report["enrolled"] == 40
    assert {step: report["steps"][step]["completed"] for step in ("s1", "s2", "s3", "s4")} == {
        "s1": 40,
        "s2": 40,
        "s3": 40,
        "s4": 40,
    }


async def test_a_version_or_a_range_of_days_reads_the_tallies_of_its_cohorts(
    sessionmaker: SessionMaker,
) -> None:
    enrollments = Enrollments(sessionmaker, await _sequence(sessionmaker))
    day_two = AT + timedelta(days=1, hours=23)
    first = await enrollments.new(version=1, at=AT)
    second = await enrollments.new(version=1, at=day_two)
    third = await enrollments.new(version=2, at=day_two)
    for enrollment_id in (first, second, third):
        await enrollments.move(enrollment_id, "step_completed", "first", "offer")
    offers = {e: await enrollments.message(e, "offer") for e in (first, second, third)}
    # Migrated to version 2, the first stays in version 1's cohort, and so does what it does next.
    await enrollments.migrate(first, 2, "offer")
    async with transaction(sessionmaker) as session:
        for enrollment_id in (first, third):
            await engagement.mark(session, offers[enrollment_id], engagement.Fact.opened, day_two)

    def summary(report: dict[str, Any]) -> tuple[int, int, int, int]:
        offer = report["steps"].get("offer", {"reached": 0, "engagement": {"sent": 0, "opened": 0}})
        facts = offer["engagement"]
        return report["enrolled"], offer["reached"], facts["sent"], facts["opened"]

    whole = await enrollments.report()
    assert summary(whole) == (3, 3, 3, 2)
    assert summary(await enrollments.report(version=1)) == (2, 2, 2, 1)
    assert summary(await enrollments.report(version=2)) == (1, 1, 1, 1)
    assert summary(await enrollments.report(until=AT.date())) == (1, 1, 1, 1)
    assert summary(await enrollments.report(since=day_two.date())) == (2, 2, 2, 1)
    assert summary(await enrollments.report(since=day_two.date(), version=1)) == (1, 1, 1, 0)
    assert summary(await enrollments.report(since=AT.date(), until=day_two.date())) == (
        3,
        3,
        3,
        2,
    )
    assert await enrollments.report(since=AT.date(), until=day_two.date()) == whole
    later = day_two.date() + timedelta(days=1)
    assert summary(await enrollments.report(since=later)) == (0, 0, 0, 0)


async def test_the_migrations_count_the_rows_already_there(
    database_url: str, sessionmaker: SessionMaker
) -> None:
    enrollments = Enrollments(sessionmaker, await _sequence(sessionmaker))
    a, b = await enrollments.new(), await enrollments.new(at=AT + timedelta(days=3))
    await enrollments.move(a, "step_completed", "first", "call")
    sms = await enrollments.message(a, "first", "sms")
    await enrollments.task(b, "first", "positive")
    before = await enrollments.report()
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    command.downgrade(config, "3f1c2b7d9e60")  # the revision before the tallies: drops them
    command.upgrade(config, "head")  # makes them again, from the rows already there
    assert await enrollments.report() == before

    async with transaction(sessionmaker) as session:
        await engagement.click(session, sms, "https://example.com/p", AT)
    before = await enrollments.report()
    before_day = await enrollments.report(since=AT.date(), until=AT.date())
    whole_steps = (
        "SELECT step_id, measure, label, sum(count) FROM report_step "
        "WHERE sequence_id = :sequence_id {} GROUP BY 1, 2, 3"
    )
    params = {"sequence_id": enrollments.sequence_id}
    async with sessionmaker() as session:
        steps = set(
            await session.execute(text(whole_steps.format("AND enrolled_on = '-infinity'")), params)
        )
    command.downgrade(config, "c5d8e1f2a3b4")  # before cohorts: the whole sequence's tallies
    async with sessionmaker() as session:
        assert set(await session.execute(text(whole_steps.format("")), params)) == steps
    command.upgrade(config, "head")
    assert await enrollments.report() == before
    assert await enrollments.report(since=AT.date(), until=AT.date()) == before_day
