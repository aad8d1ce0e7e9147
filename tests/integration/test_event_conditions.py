"""A condition on what the contact did: about one step's message, by URL, recently, and never
counting what machines did."""

import uuid
from datetime import timedelta

from temporalio.testing import ActivityEnvironment

from activities.contracts import ConditionInput
from activities.tasks import TaskActivities
from sequences import EventMatch, HadEvent
from store import events
from store.db import SessionMaker, transaction
from store.models import ContactEvent, utcnow
from tests.integration.test_report_tallies import Enrollments, _sequence


async def test_a_condition_asks_about_one_steps_message_and_ignores_machines(
    sessionmaker: SessionMaker,
) -> None:
    enrollments = Enrollments(sessionmaker, await _sequence(sessionmaker))
    mine, other = await enrollments.new(), await enrollments.new()
    contact = enrollments.contacts[mine]
    welcome = await enrollments.message(mine, "welcome")
    offer = await enrollments.message(mine, "offer")
    elsewhere = await enrollments.message(other, "offer")

    async def happened(kind: str, message: uuid.UUID, ago: timedelta, **data: str) -> None:
        async with transaction(sessionmaker) as session:
            await events.add_event(
                session,
                ContactEvent(
                    contact_id=contact,
                    event=kind,
                    data={"message_id": str(message), **data},
                    occurred_at=utcnow() - ago,
                ),
            )

    await happened("email_opened", welcome, timedelta(days=10))
    await happened(
        "link_clicked", offer, timedelta(0), url="https://example.com/blog", machine="HEAD"
    )
    await happened("link_clicked", elsewhere, timedelta(0), url="https://example.com/pricing")

    checks = TaskActivities(sessionmaker)

    async def met(match: dict[str, str], within: timedelta | None = None) -> bool:
        check = HadEvent(happened=EventMatch.model_validate(match), within=within)
        request = ConditionInput(contact_id=str(contact), check=check, enrollment_id=mine)
        return await ActivityEnvironment().run(checks.check_condition, request)

    assert await met({"event": "email_opened", "step": "welcome"})
    assert not await met({"event": "email_opened", "step": "welcome"}, timedelta(days=7))
    assert not await met({"event": "email_opened", "step": "offer"})
    # The machine's click on this enrollment's offer does not count, nor another's enrollment's.
    assert not await met({"event": "link_clicked", "step": "offer"})
    assert await met({"event": "link_clicked", "url_contains": "/pricing"})
    assert not await met({"event": "link_clicked", "url_contains": "/blog"})
