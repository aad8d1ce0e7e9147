"""The Temporal worker: runs enrollment workflows and their activities.

Stateless: start as many as needed against the same Temporal namespace and database.
"""

import asyncio
import logging
import signal
from datetime import timedelta

import httpx
from temporalio.client import Client
from temporalio.worker import Worker

import logs
from activities.crm import CrmActivities
from activities.delivery import DeliveryActivities
from activities.dispatch import DispatchActivities
from activities.email import SmtpSender
from activities.events import EventActivities
from activities.http import HttpActivities
from activities.mailbox import Mailbox
from activities.messaging import MessagingActivities
from activities.outbound import OutboundPolicy
from activities.permanent import PermanentDatabaseErrors
from activities.projection import ProjectionActivities
from activities.providers import PhoneProvider
from activities.removal import RemovalActivities
from activities.runs import StepRunActivities
from activities.sending import SendingActivities
from activities.tasks import TaskActivities
from activities.timers import TimerActivities
from links import Links
from settings import get_settings
from store.db import POOL_CONNECTIONS, SessionMaker, create_engine, create_sessionmaker
from workflows.client import connect, prometheus_runtime
from workflows.enrollment import EnrollmentWorkflow
from workflows.fan_out import EventFanOutWorkflow
from workflows.removal import RemovalWorkflow
from workflows.sandbox import workflow_runner

log = logging.getLogger("worker")

WORKFLOWS = (EnrollmentWorkflow, EventFanOutWorkflow, RemovalWorkflow)
# One POST of an http_post step; a slower system counts as down and the step retries.
HTTP_POST_TIMEOUT = httpx.Timeout(20.0, connect=5.0)
# A worker's throughput is bound by its CPU, not its concurrency: beyond a few workflow tasks at
# once the rest only queue inside the worker while their timeouts run, and one past its timeout
# is run again from scratch. The steps benchmark (300 x 3) made 15.5 steps/s with 20 at once
# and 12.6 with the SDK's default of 100, and logged five times fewer tasks over 5 s.
WORKFLOW_TASKS_AT_ONCE = 20
# Local activities are short database transactions: no more at once than the pool has
# connections (store.db), so that none waits for one until its timeout.
LOCAL_ACTIVITIES_AT_ONCE = POOL_CONNECTIONS
# Runs kept in memory between their workflow tasks; one evicted replays its history when it
# wakes. Each costs about 0.28 MB (2,500 sleepers on one worker: 409 MB with the SDK's 1,000,
# 250 MB with 400), so 800 keeps a worker under 400 MB however many enrollments sleep, and
# still holds the runs of as many enrollments as one worker moves along at once.
CACHED_RUNS = 800


def create_worker(
    client: Client,
    sessionmaker: SessionMaker,
    task_queue: str,
    http: httpx.AsyncClient,
    *,
    outbound: OutboundPolicy | None = None,
    email: SmtpSender | None = None,
    phone: PhoneProvider | None = None,
    links: Links | None = None,
    rate_limits: dict[str, int] | None = None,
    year: timedelta | None = None,
    sandboxed: bool = False,
) -> Worker:
    """Channels without a sender or provider keep their messages queued in the outbox.

    `year` shortens yearly timers, for tests only; `sandboxed` runs workflows in the SDK's
    sandbox (workflows/sandbox.py).
    """
    crm = CrmActivities(sessionmaker)
    messaging = MessagingActivities(sessionmaker)
    web = HttpActivities(sessionmaker, http, outbound or OutboundPolicy())
    delivery = DeliveryActivities(sessionmaker, email, phone, links)
    sending = SendingActivities(sessionmaker, rate_limits or {})
    projection = ProjectionActivities(sessionmaker)
    timers = TimerActivities(sessionmaker, year=year)
    tasks = TaskActivities(sessionmaker)
    events = EventActivities(sessionmaker, client, task_queue)
    dispatch = DispatchActivities(messaging, sending, delivery)
    runs = StepRunActivities(dispatch, events, crm, projection)
    removal = RemovalActivities(sessionmaker, client)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=list(WORKFLOWS),
        workflow_runner=workflow_runner(*WORKFLOWS, sandboxed=sandboxed),
        max_concurrent_workflow_tasks=WORKFLOW_TASKS_AT_ONCE,
        max_concurrent_local_activities=LOCAL_ACTIVITIES_AT_ONCE,
        max_cached_workflows=CACHED_RUNS,
        interceptors=[PermanentDatabaseErrors()],
        activities=[
            runs.run_steps,
            delivery.deliver,
            web.http_post,
            projection.record_progress_batch,
            timers.due_time,
            tasks.create_task,
            tasks.close_task,
            tasks.close_open_tasks,
            tasks.check_condition,
            events.committed,
            events.fan_out_event,
            removal.remove_enrollment,
            removal.check_removed,
        ],
    )


async def main() -> None:
    settings = get_settings()
    logs.configure(settings.log_level, structured=settings.log_format == "json")
    settings.require_link_secret()
    # Activities retry, so a connection PostgreSQL dropped costs one attempt (and the pool
    # replaces every connection older than it); testing each beforehand costs a round trip a
    # transaction.
    engine = create_engine(settings.require_database_url(), pre_ping=False)
    metrics = settings.worker_metrics_address
    client = await connect(settings, prometheus_runtime(metrics) if metrics else None)
    http = httpx.AsyncClient(timeout=HTTP_POST_TIMEOUT, follow_redirects=False)
    outbound = OutboundPolicy(
        allow_private=settings.http_post_allow_private,
        signing_secret=settings.http_post_signing_secret,
    )
    email = SmtpSender.from_settings(settings)
    worker = create_worker(
        client,
        create_sessionmaker(engine),
        settings.temporal_task_queue,
        http,
        outbound=outbound,
        email=email,
        phone=PhoneProvider.from_settings(settings, http),
        links=Links.from_settings(settings),
        rate_limits=settings.send_rate_limits,
        sandboxed=settings.workflow_sandbox,
    )

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)

    log.info("worker polling task queue %r at %s", worker.task_queue, settings.temporal_target)
    mailbox = Mailbox.from_settings(settings)
    async with worker, asyncio.TaskGroup() as tasks:
        polling = (
            tasks.create_task(mailbox.poll(http, settings.imap_poll_seconds)) if mailbox else None
        )
        await stop.wait()
        log.info("worker shutting down")
        if polling is not None:
            polling.cancel()
    if email is not None:
        await email.sessions.close()
    await http.aclose()
    await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
