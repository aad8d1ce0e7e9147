"""The baselines: textbook Temporal workflows of the benchmarks' shapes, written plainly.

This module imports nothing but temporalio and the standard library, as a textbook workflow
file does: the sandbox executes a workflow's module afresh for every run, so anything it imports
would be loaded again per run and charged to the baseline. The worker is in textbook_worker.
"""

from datetime import datetime, timedelta

from temporalio import activity, workflow


@activity.defn
async def do_step(step: int) -> int:
    return step


@workflow.defn
class TextbookWorkflow:
    """N steps, each one regular activity and one durable sleep."""

    @workflow.run
    async def run(self, steps: int) -> int:
        for step in range(steps):
            await workflow.execute_activity(
                do_step, step, start_to_close_timeout=timedelta(seconds=30)
            )
            await workflow.sleep(timedelta(seconds=1))
        return steps


@workflow.defn
class TextbookLocalWorkflow:
    """The same, each step's activity a local one: the shape's ceiling with Temporal's own tools."""

    @workflow.run
    async def run(self, steps: int) -> int:
        for step in range(steps):
            await workflow.execute_local_activity(
                do_step, step, start_to_close_timeout=timedelta(seconds=30)
            )
            await workflow.sleep(timedelta(seconds=1))
        return steps


@workflow.defn
class TextbookEffectsWorkflow:
    """The same, each step's local activity doing what an email step and a tag step must do, the
    shortest way (bench.floor): the floor any engine with these effects stands on here."""

    @workflow.run
    async def run(self, contact_id: str, steps: int) -> int:
        for step in range(steps):
            await workflow.execute_local_activity(
                "do_effects", args=[contact_id, step], start_to_close_timeout=timedelta(seconds=30)
            )
            await workflow.sleep(timedelta(seconds=1))
        return steps


@workflow.defn
class SleepUntilWorkflow:
    """Measured like an enrollment's timer step: the workflow time of the task after the fire."""

    @workflow.run
    async def run(self, due: datetime) -> float:
        await workflow.sleep(max(due - workflow.now(), timedelta(0)))
        return (workflow.now() - due).total_seconds()


@workflow.defn
class SleepThenTagWorkflow:
    """The same sleep, then what the lateness benchmark's tag step must do (bench.floor): the
    floor of an engine's lateness, since each wake's work delays the wakes queued behind it."""

    @workflow.run
    async def run(self, contact_id: str, due: datetime) -> float:
        await workflow.sleep(max(due - workflow.now(), timedelta(0)))
        late = (workflow.now() - due).total_seconds()
        await workflow.execute_local_activity(
            "tag_on_time", contact_id, start_to_close_timeout=timedelta(seconds=30)
        )
        return late
