"""The Temporal worker: runs enrollment workflows and their activities.

Stateless: start as many as needed against the same Temporal namespace and database.
"""

import asyncio
import logging
import signal
from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Worker

from activities.crm import CrmActivities
from activities.projection import ProjectionActivities
from activities.tasks import TaskActivities
from activities.timers import TimerActivities
from settings import get_settings
from store.db import SessionMaker, create_engine, create_sessionmaker
from workflows.client import connect
from workflows.enrollment import EnrollmentWorkflow

log = logging.getLogger("worker")


def create_worker(
    client: Client, sessionmaker: SessionMaker, task_queue: str, *, year: timedelta | None = None
) -> Worker:
    """`year` shortens yearly timers, for tests only."""
    crm = CrmActivities(sessionmaker)
    projection = ProjectionActivities(sessionmaker)
    timers = TimerActivities(sessionmaker, year=year)
    tasks = TaskActivities(sessionmaker)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[EnrollmentWorkflow],
        activities=[
            crm.send_email,
            crm.apply_tag,
            projection.record_progress,
            timers.due_time,
            tasks.create_task,
            tasks.check_condition,
        ],
    )


async def main() -> None:
    settings = get_settings()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    engine = create_engine(settings.require_database_url())
    client = await connect(settings)
    worker = create_worker(client, create_sessionmaker(engine), settings.temporal_task_queue)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)

    log.info("worker polling task queue %r at %s", worker.task_queue, settings.temporal_target)
    async with worker:
        await stop.wait()
        log.info("worker shutting down")
    await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
