"""Steps for people (calls, tasks, manual emails): a to-do on someone's list, whose result,
reported through the enrollment's task_outcome update, steers the track."""

from temporalio import workflow

import workflows.calls as calls
from activities.contracts import CreateTaskInput, EnrollmentRef
from sequences import CONTINUE, PersonStep
from workflows.state import TrackState
from workflows.steps.context import Interrupted, StepContext, StepDone


async def wait_for_person(
    run: StepContext, step: PersonStep, ref: EnrollmentRef, position: TrackState
) -> StepDone:
    """Create the to-do once, then wait for its result while the enrollment is active."""
    if position.task_id is None:
        created = await run.locally(
            calls.create_task(
                CreateTaskInput(
                    ref=ref,
                    workflow_id=workflow.info().workflow_id,
                    step=step,
                    enrolled_by=run.input.enrolled_by,
                    now=workflow.now(),
                )
            )
        )
        position.task_id = created.task_id
        run.projection.publish("task_created", step_id=step.id, detail=created.model_dump())
    task_id = position.task_id
    results = run.state.task_results
    await workflow.wait_condition(
        lambda: (task_id in results and run.may_run(position)) or run.interrupted()
    )
    if run.interrupted():
        raise Interrupted
    result = results.pop(task_id)
    position.task_id = None
    # A to-do closed without a result of its kind (skipped, or cancelled when the enrollment
    # was stopped) does not steer: the track carries on to the next step.
    transition = step.transition_for(result) if result in step.RESULTS else CONTINUE
    return StepDone(transition, {"task_id": task_id, "result": result})
