"""EnrollmentWorkflow: one contact's run through one pinned sequence version.

This module is the shell: the run loop over the tracks, the signals, updates and query, and
continue-as-new. What each kind of step does lives with its family in workflows/steps/, and
the projection the API reads in workflows/projection.py.
"""

import asyncio

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    # Shared with the worker rather than loaded again for every workflow run: they keep no
    # state. Imported by full name: `from workflows import calls` would bypass the passthrough
    # and load the module afresh each run.
    import workflows.calls as calls
    import workflows.search_attributes as sa
    import workflows.steps.people as people
    import workflows.steps.runs as runs
    import workflows.steps.waits as waits
    from activities.contracts import CloseOpenTasksInput, CloseTaskInput
    from sequences import (
        ConditionStep,
        HttpPostStep,
        Outcome,
        PersonStep,
        Step,
        TimerStep,
        Track,
        WaitForEventStep,
    )
    from workflows.projection import Projector
    from workflows.state import (
        CONTACT_EVENT,
        ENROLLMENT_WORKFLOW,
        NOT_APPLICABLE,
        NOT_AWAITED,
        ContactEventSignal,
        EnrollmentInput,
        EnrollmentResult,
        EnrollmentState,
        MigrateRequest,
        OpenTasks,
        ReceivedEvent,
        Status,
        StopRequest,
        TaskOutcome,
        TrackState,
        migrated_state,
        missing_positions,
    )
    from workflows.steps.context import Interrupted, StepContext, StepDone

# The latest contact events an enrollment remembers for its event waits.
EVENTS_KEPT = 100


@workflow.defn(name=ENROLLMENT_WORKFLOW)
class EnrollmentWorkflow:
    @workflow.init
    def __init__(self, input: EnrollmentInput) -> None:
        self._run = StepContext(input, input.state or EnrollmentState.initial(input.definition))
        self._projection = self._run.projection = Projector(self._run)
        self._steps_run = 0
        self._migration: MigrateRequest | None = None
        # The SDK leaves these out while replaying, so each step counts once.
        meter = workflow.metric_meter()
        self._steps_counter = meter.create_counter("enrollment_steps", "Steps enrollments ran.")
        self._ended_counter = meter.create_counter("enrollments_ended", "Enrollments completed.")

    @property
    def _state(self) -> EnrollmentState:
        return self._run.state

    @workflow.run
    async def run(self, input: EnrollmentInput) -> EnrollmentResult:
        if input.state is None:
            # The enrollment row must exist before any step writes records that refer to it.
            self._projection.publish("enrolled")
            await self._projection.write_now()
        self._projection.update_search_attributes()
        projector = asyncio.create_task(self._projection.run())
        tracks = [
            asyncio.create_task(self._run_track(track))
            for track in input.definition.tracks
            if self._state.tracks[track.id].step_id is not None
        ]
        await workflow.wait_condition(
            lambda: (
                all(task.done() for task in tracks)
                or workflow.info().is_continue_as_new_suggested()
                or self._migration is not None
            )
        )
        if not all(task.done() for task in tracks):
            self._run.draining = True
        await asyncio.gather(*tracks)

        ended = all(track.step_id is None for track in self._state.tracks.values())
        if ended:
            self._state.status = Status.completed
            self._state.outcome = self._state.outcome or Outcome.neutral
            if self._run.end_written == self._state.revision:
                self._projection.update_search_attributes()
            else:
                # No run wrote the end, or something was recorded after it (a stop, an exit
                # heard while the run went on), which the end must follow.
                self._projection.publish("completed", detail={"outcome": self._state.outcome})
            self._ended_counter.add(1, {"outcome": str(self._state.outcome)})
            workflow.logger.info("enrollment completed, %s", self._state.outcome)
        next_input = input.model_copy(update={"state": self._state})
        if not ended and self._migration is not None:
            next_input = self._migrated_input(self._migration)
        self._run.tracks_done = True
        await projector
        await workflow.wait_condition(workflow.all_handlers_finished)
        if not ended:
            workflow.continue_as_new(next_input)
        return EnrollmentResult(status=self._state.status, steps_run=self._steps_run)

    @workflow.update
    async def stop(self, request: StopRequest) -> None:
        """Stop now, and close the open to-dos as asked; a stop the validator let through is
        the only one, so the caller hears at once when the enrollment had already stopped."""
        self._state.status = Status.stopped
        self._projection.publish(
            "stopped", detail={"reason": request.reason} if request.reason else {}
        )
        if request.open_tasks == OpenTasks.leave_open:
            return
        cancel = request.open_tasks == OpenTasks.cancel
        result = None if cancel else "none"
        closed = await self._run.locally(
            calls.close_open_tasks(
                CloseOpenTasksInput(
                    enrollment_id=self._run.input.enrollment_id,
                    status="cancelled" if cancel else "completed",
                    result=result,
                    closed_by=request.stopped_by,
                    assigned_to=request.only_assigned_to,
                    at=workflow.now(),
                )
            )
        )
        for task_id in closed:
            self._state.task_results[task_id] = result or "cancelled"

    @stop.validator
    def _check_stop(self, request: StopRequest) -> None:
        if self._state.status not in (Status.active, Status.failed):
            raise ApplicationError(
                f"the enrollment is {self._state.status}; only a running enrollment can be stopped",
                type=NOT_APPLICABLE,
            )

    @workflow.signal
    def reactivate(self) -> None:
        if self._state.status == Status.stopped:
            self._state.status = Status.failed if self._state.failure_reason else Status.active
            self._projection.publish("reactivated")

    @workflow.signal
    def retry(self) -> None:
        """Run the failed step again (after an operator fixed what made it fail)."""
        if self._state.status == Status.failed:
            for position in self._state.tracks.values():
                position.failure_reason = None
            self._state.status = Status.active
            self._projection.publish("retried")

    @workflow.update
    async def task_outcome(self, outcome: TaskOutcome) -> None:
        """A person reported a to-do's result: recorded on the to-do here, so the to-do and the
        enrollment never disagree; it steers the track once the enrollment is active."""
        closed = await self._run.locally(
            calls.close_task(
                CloseTaskInput(
                    task_id=outcome.task_id,
                    status="skipped" if outcome.skipped else "completed",
                    result=None if outcome.skipped else outcome.result,
                    notes=outcome.notes,
                    closed_by=outcome.completed_by,
                    at=workflow.now(),
                )
            )
        )
        if not closed:
            raise ApplicationError("the to-do is already closed", type=NOT_APPLICABLE)
        self._state.task_results[outcome.task_id] = outcome.result

    @task_outcome.validator
    def _check_task_outcome(self, outcome: TaskOutcome) -> None:
        # By enrollment, not by the tracks' positions: a to-do can be on a list a moment before
        # its track records that it waits for it.
        if outcome.enrollment_id != self._run.input.enrollment_id:
            raise ApplicationError("this run is not waiting for the to-do", type=NOT_AWAITED)
        if outcome.task_id in self._state.task_results:
            raise ApplicationError("the to-do is already closed", type=NOT_APPLICABLE)

    @workflow.signal(name=CONTACT_EVENT)
    def contact_event(self, signal: ContactEventSignal) -> None:
        """The contact did something: event waits see it, and an exit rule may end the enrollment."""
        self._receive(signal)

    def _receive(self, signal: ContactEventSignal) -> None:
        if signal.colleague:
            self._exit_if(signal, None)
            return
        own = signal.message_enrollment_id == self._run.input.enrollment_id
        step = signal.message_step_id if own else None
        events = self._state.events
        events.append(
            ReceivedEvent(
                event=signal.event,
                name=signal.name,
                step_id=step,
                url=signal.url,
                at=workflow.now(),
            )
        )
        del events[:-EVENTS_KEPT]
        self._exit_if(signal, step)

    def _exit_if(self, signal: ContactEventSignal, step: str | None) -> None:
        """End the enrollment by the first exit rule the event matches; a colleague's event is
        heard only by the rules for the whole company."""
        if self._state.status == Status.completed or self._state.outcome is not None:
            return
        for rule in self._run.input.definition.settings.exit_rules:
            heard = rule.whole_company or not signal.colleague
            if heard and rule.matches(signal.event, signal.name, step, signal.url):
                self._end_all_tracks(rule.outcome)
                detail = {"event": signal.event, "name": signal.name}
                if signal.colleague:
                    detail["colleague"] = "a colleague replied"
                self._projection.publish("exited", detail=detail)
                return

    @workflow.update
    def migrate(self, request: MigrateRequest) -> int:
        """Move to another version of the sequence, keeping each track's position by step id."""
        self._migration = request
        return request.version

    @migrate.validator
    def _check_migration(self, request: MigrateRequest) -> None:
        missing = missing_positions(self._state, request.definition)
        if missing:
            raise ValueError(f"version {request.version} has no step for {', '.join(missing)}")
        if self._state.status == Status.completed or self._migration is not None:
            raise ValueError("the enrollment is finishing or already migrating")

    def _migrated_input(self, request: MigrateRequest) -> EnrollmentInput:
        """The next run's input under the new version; the move is recorded and shown at once."""
        run = self._run
        previous = run.input.version
        run.input = run.input.model_copy(
            update={"version": request.version, "definition": request.definition}
        )
        run.state = migrated_state(run.state, request.definition)
        workflow.upsert_search_attributes([sa.SEQUENCE_VERSION.value_set(request.version)])
        self._projection.publish(
            "migrated", detail={"from_version": previous, "to_version": request.version}
        )
        return run.input.model_copy(update={"state": run.state})

    @workflow.query
    def state(self) -> EnrollmentState:
        return self._state

    async def _run_track(self, track: Track) -> None:
        position = self._state.tracks[track.id]
        self._run.tracks_running += 1
        try:
            while position.step_id is not None:
                step = track.step(position.step_id)
                planned = runs.plan(self._run, track, step)
                if planned:
                    await self._run_together(track, planned, position)
                    continue
                done = await self._run_step_until_done(track, step, position)
                self._complete(track, step, done, position)
        except Interrupted:
            return
        finally:
            self._run.tracks_running -= 1

    async def _run_together(
        self, track: Track, planned: list[runs.RunnableStep], position: TrackState
    ) -> None:
        result = await runs.run_steps(self._run, track, planned, position)
        for step, done in result.finished:
            self._complete(track, step, done, position)
        if result.take_over is not None:
            step, rest = result.take_over
            done = await self._run_step_until_done(track, step, position, first=rest)
            self._complete(track, step, done, position)

    def _complete(self, track: Track, step: Step, done: StepDone, position: TrackState) -> None:
        """Move the track past a step it finished, and record that it did (unless a step run
        has written the record)."""
        if done.heard is not None:
            self._receive(done.heard)
        transition = done.transition
        position.visits[step.id] = position.visits.get(step.id, 0) + 1
        if transition.end is not None or self._state.outcome is not None:
            position.step_id = None
        else:
            position.step_id = track.following(step, transition)
        self._steps_run += 1
        self._steps_counter.add(1, {"kind": step.kind})
        if transition.end is not None and self._state.outcome is None:
            self._end_all_tracks(transition.end)
        if not done.written:
            self._projection.publish(
                "step_completed", track_id=track.id, step_id=step.id, detail=done.detail
            )

    def _end_all_tracks(self, outcome: Outcome) -> None:
        """A step ended the enrollment: every other track stops where it is."""
        self._state.outcome = outcome
        for position in self._state.tracks.values():
            position.step_id = None
            position.wake_at = None
            position.waiting_since = None

    async def _run_step_until_done(
        self, track: Track, step: Step, position: TrackState, first: runs.Attempt | None = None
    ) -> StepDone:
        """Run one step; when it fails for good, park the track (the enrollment shows failed,
        the other tracks go on unless the sequence says stop_all) and wait for a retry.

        `first` stands in for the first attempt: the rest of one a run began.
        """
        attempt = first
        while True:
            await self._run.wait_until_active(position)
            try:
                if attempt is not None:
                    rest, attempt = attempt, None
                    return await rest()
                return await self._run_step(track, step, position)
            except calls.STEP_FAILURES as error:
                reason = _reason(error)
                position.failure_reason = f"step {step.id!r}: {reason}"
                self._state.status = Status.failed
                workflow.logger.warning("enrollment failed at %s: %s", step.id, reason)
                self._projection.publish(
                    "step_failed", track_id=track.id, step_id=step.id, detail={"reason": reason}
                )

    async def _run_step(self, track: Track, step: Step, position: TrackState) -> StepDone:
        """Hand the step to its family: what it did, and where the track goes next."""
        run = self._run
        if isinstance(step, TimerStep):
            return await waits.timer(run, step, position)
        if isinstance(step, WaitForEventStep):
            return await waits.event(run, step, position)
        if isinstance(step, ConditionStep):
            return await waits.condition(run, step)
        if isinstance(step, PersonStep):
            ref = run.ref(track.id, step.id, position)
            return await people.wait_for_person(run, step, ref, position)
        if isinstance(step, HttpPostStep):
            return await runs.http_post(run, step, run.ref(track.id, step.id, position))
        return await runs.run_one(run, track, step, position)


def _reason(error: Exception) -> str:
    cause = error.cause if isinstance(error, ActivityError) else error
    return str(cause.message if isinstance(cause, ApplicationError) else cause or error)
