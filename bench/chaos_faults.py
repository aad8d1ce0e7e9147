"""The faults a chaos run injects, and what it watches for after each.

Faults fire when the sink has received a given number of emails rather than at fixed times, so
they land while enrollments are mid-way whatever the machine's speed.
"""

import asyncio
import random
import time
from dataclasses import dataclass
from enum import StrEnum

import httpx

from bench.chaos_report import ChaosReport, Kill, TemporalRestart
from bench.stack import Stack

# How long the system may take to show it is back after Temporal returns.
RECOVERY_S = 90.0


class FaultKind(StrEnum):
    kill_worker = "kill_worker"
    restart_temporal = "restart_temporal"


@dataclass(frozen=True)
class Fault:
    after_emails: int
    kind: FaultKind


def plan_faults(
    rng: random.Random, expected_emails: int, kills: int, temporal_restarts: int
) -> list[Fault]:
    """Kills anywhere from early to late in the run; Temporal restarts around its middle."""

    def at(low: float, high: float) -> int:
        return max(1, round(rng.uniform(low, high) * expected_emails))

    planned = [Fault(at(0.05, 0.85), FaultKind.kill_worker) for _ in range(kills)]
    planned += [Fault(at(0.3, 0.7), FaultKind.restart_temporal) for _ in range(temporal_restarts)]
    return sorted(planned, key=lambda fault: fault.after_emails)


class Injector:
    """Carries out faults on a running stack and records each in the report."""

    def __init__(
        self, stack: Stack, api: httpx.AsyncClient, rng: random.Random, report: ChaosReport
    ) -> None:
        self.stack = stack
        self.api = api
        self.rng = rng
        self.report = report
        self.started = time.monotonic()

    def since_start(self) -> float:
        return time.monotonic() - self.started

    async def inject(self, fault: Fault) -> None:
        if fault.kind == FaultKind.kill_worker:
            await self.kill_worker()
        else:
            await self.restart_temporal()

    async def kill_worker(self) -> None:
        at, emails = self.since_start(), self.stack.sink.count()
        self.stack.kill_worker()
        dead_at = time.monotonic()
        pause = self.rng.uniform(0.5, 3.0)
        print(f"  {at:6.1f}s  SIGKILL worker after {emails} emails; restart in {pause:.1f}s")
        await asyncio.sleep(pause)
        ready = await asyncio.to_thread(self.stack.start_worker)
        self.report.kills.append(Kill(at, emails, pause, ready, dead_at))

    async def restart_temporal(self) -> None:
        at, emails = self.since_start(), self.stack.sink.count()
        pause = self.rng.uniform(0.5, 2.0)
        print(f"  {at:6.1f}s  restarting Temporal after {emails} emails")
        down = await asyncio.to_thread(self.stack.restart_temporal, pause)
        restart = TemporalRestart(at, emails, down, back_at=time.monotonic())
        self.report.temporal_restarts.append(restart)
        print(f"  {self.since_start():6.1f}s  Temporal back after {down:.1f}s")
        # The API is told nothing: it must find the server again by itself. (The worker is
        # watched by the run's loop, and its first email after this is read off the sink.)
        while time.monotonic() - restart.back_at < RECOVERY_S:
            if await self._api_healthy():
                restart.api_ok_after_s = time.monotonic() - restart.back_at
                return
            await asyncio.sleep(0.25)
        self.report.violations.append(
            f"the API did not reach Temporal again within {RECOVERY_S:.0f}s of its restart"
        )

    def recent_restart(self) -> TemporalRestart | None:
        """The last Temporal restart if it was recent enough to explain a worker's exit."""
        restarts = self.report.temporal_restarts
        if restarts and time.monotonic() - restarts[-1].back_at < RECOVERY_S:
            return restarts[-1]
        return None

    async def _api_healthy(self) -> bool:
        try:
            answer = await self.api.get("/health", timeout=5)
        except httpx.HTTPError:
            return False
        return answer.status_code == 200 and answer.json().get("temporal") is True
