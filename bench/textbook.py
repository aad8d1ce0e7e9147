"""The baseline: the textbook Temporal workflow of the same shape, each step one regular
activity and one durable sleep, written plainly."""

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn
async def do_step(step: int) -> int:
    return step


@workflow.defn
class TextbookWorkflow:
    @workflow.run
    async def run(self, steps: int) -> int:
        for step in range(steps):
            await workflow.execute_activity(
                do_step, step, start_to_close_timeout=timedelta(seconds=30)
            )
            await workflow.sleep(timedelta(seconds=1))
        return steps
