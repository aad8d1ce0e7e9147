"""`make chaos`: enroll contacts into a three-email sequence on a real stack, kill the worker and
restart Temporal while they run, then prove every contact got each email exactly once.

    python -m bench.chaos --contacts 500 --kills 3 --temporal-restarts 1

Everything goes through the API and the SMTP sink, as a customer would see it. One extra
contact's address is refused by the sink: its enrollment must fail with the reason (in the API
and in Temporal's visibility), and complete once the address is fixed and the step retried.
Exits 1 on any violation, 2 when the run cannot be set up, 130 on Ctrl-C or SIGTERM.
"""

import argparse
import asyncio
import random
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
from temporalio.client import Client
from temporalio.service import RPCError

from bench.chaos_checks import EXAMPLES, history_summary, tally_mail
from bench.chaos_faults import Fault, FaultKind, Injector, plan_faults
from bench.chaos_report import ChaosReport
from bench.chaos_retry import refuse_fix_retry
from bench.chaos_setup import (
    STEPS,
    ScenarioError,
    all_enrollments,
    create_contacts,
    enroll,
    published_sequence,
)
from bench.sink import Received
from bench.stack import Stack, StackError

REFUSED = "chaos-refused@example.com"
FIXED = "chaos-fixed@example.com"
# The report is read from the projection, so polling it costs the API one query, not a scan.
POLL_S = 2.0
# A workflow that failed outright leaves its projection active: Temporal is asked how many did.
DEAD_CHECK_S = 5.0


@dataclass(frozen=True)
class ChaosConfig:
    contacts: int = 500
    kills: int = 3
    temporal_restarts: int = 1
    delay_s: int = 2
    concurrency: int = 8
    timeout_s: float = 900.0
    seed: int | None = None
    keep: bool = False


def run(config: ChaosConfig) -> ChaosReport:
    """Start a stack in a scratch directory, run the scenario, stop everything, report."""
    seed = config.seed if config.seed is not None else random.SystemRandom().randrange(2**31)
    report = ChaosReport(seed=seed, contacts=config.contacts)
    began = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="campaign-chaos-"))
    try:
        with Stack(root, refuse=[REFUSED]) as stack:
            report.root = str(root)
            report.ports = [stack.api_port, stack.temporal_port, stack.sink.port]
            report.setup_s = time.monotonic() - began
            print(
                f"stack up in {report.setup_s:.1f}s: API {stack.api_url}, "
                f"Temporal {stack.temporal_address}, logs in {stack.logs}",
                flush=True,
            )
            asyncio.run(_scenario(stack, config, random.Random(seed), report))
    finally:
        report.duration_s = time.monotonic() - began
        if config.keep:
            print(f"kept {root} (temporal.db, postgres/, logs/)")
        else:
            shutil.rmtree(root, ignore_errors=True)
    return report


async def _scenario(
    stack: Stack, config: ChaosConfig, rng: random.Random, report: ChaosReport
) -> None:
    async with stack.http(timeout=120) as api:
        sequence_id = await published_sequence(api, config.delay_s)
        addresses = [f"chaos-{n:04d}@example.com" for n in range(config.contacts)]
        contacts = await create_contacts(api, [*addresses, REFUSED], config.concurrency)
        enrollments = await enroll(api, sequence_id, list(contacts.values()))
        report.enrollments = len(enrollments)
        bad = enrollments[contacts[REFUSED]]
        report.retry.enrollment_id, report.retry.workflow_id = bad["id"], bad["workflow_id"]
        print(f"enrolled {len(enrollments)} contacts into sequence {sequence_id}", flush=True)

        expected_emails = STEPS * (config.contacts + 1)
        faults = plan_faults(rng, expected_emails, config.kills, config.temporal_restarts)
        injector = Injector(stack, api, rng, report)
        restarted = asyncio.Event()
        if not any(f.kind == FaultKind.restart_temporal for f in faults):
            restarted.set()
        retry = asyncio.create_task(
            refuse_fix_retry(
                stack,
                api,
                report,
                contact_id=contacts[REFUSED],
                refused=REFUSED,
                fixed=FIXED,
                retry_after=restarted,
                clock=injector.since_start,
            )
        )
        try:
            await _drive(stack, api, sequence_id, injector, faults, restarted, retry, config)
        finally:
            if not retry.done():
                retry.cancel()
        report.run_s = injector.since_start()
        await _verify(stack, api, sequence_id, addresses, contacts, enrollments, report)


async def _drive(
    stack: Stack,
    api: httpx.AsyncClient,
    sequence_id: str,
    injector: Injector,
    faults: list[Fault],
    restarted: asyncio.Event,
    retry: "asyncio.Task[None]",
    config: ChaosConfig,
) -> None:
    """Inject each fault when its moment comes, until every enrollment has completed or can no
    longer complete, or time ran out."""
    report, pending = injector.report, list(faults)
    deadline = time.monotonic() + config.timeout_s
    last_poll = last_print = last_count = 0.0
    temporal = await stack.temporal_client()
    dead = 0
    while True:
        stack.check()
        if not stack.worker_running:
            await _replace_worker(stack, injector)
        # Once only the retried enrollment is left, lost mail may keep the sink short of a
        # fault's moment forever; the fault then happens late rather than never.
        only_retry_left = report.completed + dead >= report.enrollments - 1
        while pending and (stack.sink.count() >= pending[0].after_emails or only_retry_left):
            fault = pending.pop(0)
            if stack.sink.count() < fault.after_emails:
                report.violations.append(
                    f"{fault.kind} was planned after {fault.after_emails} emails, but only "
                    f"{stack.sink.count()} arrived: injected late"
                )
            await injector.inject(fault)
            if not any(f.kind == FaultKind.restart_temporal for f in pending):
                restarted.set()
        now = time.monotonic()
        if now - last_count >= DEAD_CHECK_S:
            last_count = now
            dead = await _dead_workflows(temporal, sequence_id, dead)
        if now - last_poll >= POLL_S:
            last_poll = now
            summary = (await api.get(f"/sequences/{sequence_id}/report")).json()
            report.completed = summary["completed"]
            if now - last_print >= 10:
                last_print = now
                print(
                    f"  {injector.since_start():6.1f}s  emails {stack.sink.count()}, "
                    f"completed {summary['completed']}/{report.enrollments}, "
                    f"failed {summary['failed']}, workflows closed otherwise {dead}",
                    flush=True,
                )
            # A retry that was never sent leaves its enrollment failed: nothing more will come.
            stranded = 1 if retry.done() and report.retry.retried_at_s is None else 0
            if retry.done() and not retry.cancelled() and (error := retry.exception()):
                report.violations.append(f"the fail, fix and retry check broke: {error!r}")
            if report.completed + dead + stranded >= report.enrollments:
                _settled(report, dead, retry)
                return
        if now > deadline:
            report.violations.append(
                f"timed out after {config.timeout_s:.0f}s with {report.completed} of "
                f"{report.enrollments} enrollments completed"
            )
            return
        await asyncio.sleep(0.25)


async def _replace_worker(stack: Stack, injector: Injector) -> None:
    """A worker that exited by itself: expected of some after Temporal went away, not otherwise."""
    code = stack.worker_exit_code
    restart = injector.recent_restart()
    if restart is not None and restart.worker_survived:
        restart.worker_survived, restart.worker_exit_code = False, code
        print(f"  worker exited with code {code} after Temporal's restart; starting another")
    else:
        injector.report.violations.append(
            f"the worker exited on its own with code {code} at {injector.since_start():.1f}s; "
            "started another"
        )
    await asyncio.to_thread(stack.start_worker)


def _settled(report: ChaosReport, dead: int, retry: "asyncio.Task[None]") -> None:
    """Every enrollment has finished one way or another: say what did not go to plan."""
    if dead:
        report.violations.append(
            f"{dead} enrollment workflows closed without completing (failed, terminated or "
            "timed out): they can never finish"
        )
    if not retry.done():
        report.violations.append(
            "the refused address's enrollment finished without the fail, fix and retry having "
            "happened"
        )


async def _dead_workflows(temporal: Client, sequence_id: str, known: int) -> int:
    """Runs of the sequence that closed other than by completing; `known` while unreachable."""
    query = (
        f"SequenceId = '{sequence_id}' AND ExecutionStatus != 'Running' "
        "AND ExecutionStatus != 'Completed' AND ExecutionStatus != 'ContinuedAsNew'"
    )
    try:
        return (await temporal.count_workflows(query)).count
    except RPCError:
        return known  # Temporal is restarting; the next check will tell


async def _verify(
    stack: Stack,
    api: httpx.AsyncClient,
    sequence_id: str,
    addresses: list[str],
    contacts: dict[str, str],
    enrollments: dict[str, dict[str, Any]],
    report: ChaosReport,
) -> None:
    """Every enrollment completed; every recipient got each step once; explain what did not."""
    await asyncio.sleep(1)  # a redelivery racing the last completion still counts
    rows = await all_enrollments(api, sequence_id)
    report.completed = sum(1 for row in rows if row["status"] == "completed")
    unfinished = [row for row in rows if row["status"] != "completed"]
    if unfinished:
        report.violations.append(
            f"{len(unfinished)} enrollments did not complete, e.g. "
            + ", ".join(f"{row['id']} ({row['status']})" for row in unfinished[:EXAMPLES])
        )
    if len(rows) != len(enrollments):
        report.violations.append(f"the API lists {len(rows)} enrollments, not {len(enrollments)}")

    received = stack.sink.received()
    tally, violations = tally_mail(
        received, [*addresses, FIXED], STEPS, kills=[kill.dead_at for kill in report.kills]
    )
    tally.refused = len(stack.sink.refused())
    report.mail = tally
    report.violations.extend(violations)
    report.retry.emails = sum(1 for m in received if m.recipient == FIXED)
    outbox = (await api.get(f"/contacts/{contacts[REFUSED]}/messages")).json()
    report.retry.outbox = [f"{m['to_address']} {m['status']}" for m in outbox]
    if tally.refused == 0:
        report.violations.append(f"the sink never refused {REFUSED}")
    for restart in report.temporal_restarts:
        after = [m.at - restart.back_at for m in received if m.at > restart.back_at]
        restart.resumed_after_s = min(after, default=None)
        if restart.resumed_after_s is None and tally.lost:
            report.violations.append(
                "no email reached the sink after Temporal's restart, though some never came"
            )

    if report.violations:
        suspects = _suspects(received, addresses, contacts, enrollments, unfinished, report)
        await _diagnose(stack, suspects, received, report)


def _suspects(
    received: list[Received],
    addresses: list[str],
    contacts: dict[str, str],
    enrollments: dict[str, dict[str, Any]],
    unfinished: list[dict[str, Any]],
    report: ChaosReport,
) -> dict[str, str]:
    """Workflow id -> the address whose mail to look at, for the enrollments that went wrong:
    the retried one first when its part failed, then those that did not finish, then the rest."""
    counts: dict[str, int] = {}
    for message in received:
        counts[message.recipient] = counts.get(message.recipient, 0) + 1
    by_contact = {contact_id: address for address, contact_id in contacts.items()}
    by_contact[contacts[REFUSED]] = FIXED
    suspects: dict[str, str] = {}
    retried = report.retry
    if counts.get(FIXED, 0) != STEPS or not retried.failed_in_temporal or not retried.retried_at_s:
        suspects[retried.workflow_id] = FIXED
    for row in unfinished:
        suspects.setdefault(row["workflow_id"], by_contact[row["contact_id"]])
    for address in addresses:
        if counts.get(address, 0) != STEPS:
            suspects.setdefault(enrollments[contacts[address]]["workflow_id"], address)
    return dict(list(suspects.items())[:EXAMPLES])


async def _diagnose(
    stack: Stack, suspects: dict[str, str], received: list[Received], report: ChaosReport
) -> None:
    client = await stack.temporal_client()
    for workflow_id, address in suspects.items():
        got = [f"{m.subject!r} {m.message_id}" for m in received if m.recipient == address]
        report.diagnostics.append(f"{workflow_id} ({address}): sink got {got}")
        try:
            report.diagnostics.extend(
                f"    {line}" for line in await history_summary(client, workflow_id)
            )
        except Exception as error:  # a diagnostic must not hide the violations
            report.diagnostics.append(f"    history unavailable: {error}")


def _arguments(argv: list[str] | None) -> ChaosConfig:
    parser = argparse.ArgumentParser(
        prog="python -m bench.chaos", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--contacts", type=int, default=500)
    parser.add_argument("--kills", type=int, default=3, help="SIGKILLs of the worker")
    parser.add_argument("--temporal-restarts", type=int, default=1)
    parser.add_argument("--delay", type=int, default=2, help="seconds between the emails")
    parser.add_argument("--concurrency", type=int, default=8, help="contacts created at once")
    parser.add_argument(
        "--timeout", type=float, default=900, help="seconds the enrollments may take"
    )
    parser.add_argument("--seed", type=int, help="repeat a run's fault moments")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args(argv)
    return ChaosConfig(
        contacts=args.contacts,
        kills=args.kills,
        temporal_restarts=args.temporal_restarts,
        delay_s=args.delay,
        concurrency=args.concurrency,
        timeout_s=args.timeout,
        seed=args.seed,
        keep=args.keep,
    )


def _terminate(signum: int, frame: FrameType | None) -> None:
    # Unwinds like Ctrl-C, so the stack's context manager stops every child.
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    config = _arguments(argv)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        report = run(config)
    except KeyboardInterrupt:
        print("interrupted: the stack is stopped", file=sys.stderr)
        return 130
    except (StackError, ScenarioError, httpx.HTTPError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print("\n".join(report.lines()))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
