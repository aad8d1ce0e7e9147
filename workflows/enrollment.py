"""EnrollmentWorkflow: one contact's run through one pinned sequence version."""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar, assert_never

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    # Shared with the worker rather than loaded again for every workflow run: they keep no
    # state. Imported by full name: `from workflows import effects` would bypass the passthrough
    # and load the module afresh each run.
    import workflows.effects as effects
    import workflows.search_attributes as sa
    from activities.contracts import (
        AnnounceInput,
        ApplyTagInput,
        CloseOpenTasksInput,
        CloseTaskInput,
        ConditionInput,
        CreateTaskInput,
        DeliverInput,
        Dispatched,
        DispatchInput,
        EnrollmentEventRecord,
        EnrollmentRef,
        HttpPostInput,
        MessageResult,
        ProcessInput,
        ProjectionBatch,
        ProjectionUpdate,
        ReserveInput,
        RunStep,
        SendEmailInput,
        SendMessageInput,
        StepOutcome,
        StepRunInput,
        TagAndAnnounceInput,
        TimerInput,
    )
    from sequences import (
        CONTINUE,
        ApplyTagStep,
        CommunicationStep,
        ConditionStep,
        DelayStep,
        EmailStep,
        EventType,
        HttpPostStep,
        OnFailure,
        Outcome,
        PersonStep,
        ProcessStep,
        Step,
        TimerStep,
        Track,
        Transition,
        WaitForEventStep,
    )
    from workflows.state import (
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

# The latest contact events an enrollment remembers for its event waits.
EVENTS_KEPT = 100
# The most steps one run takes (see _run_from).
RUN_LENGTH = 20
# The steps a run can take: effects that neither wait nor branch.
RunnableStep = CommunicationStep | ApplyTagStep | ProcessStep


_UNSET = object()

T = TypeVar("T")


@dataclass(frozen=True)
class StepDone:
    transition: Transition
    detail: dict[str, Any] = field(default_factory=dict)


class _Interrupted(Exception):
    """Stops a track where it is: another track ended the enrollment, or the workflow is about
    to continue as new."""


@workflow.defn
class EnrollmentWorkflow:
    @workflow.init
    def __init__(self, input: EnrollmentInput) -> None:
        self._input = input
        self._state = input.state or EnrollmentState.initial(input.definition)
        self._pending: list[ProjectionUpdate] = []
        # The next due time the projection shows, or will once the queued updates are written.
        self._shown_due: datetime | None = None
        self._tracks_done = False
        self._draining = False
        self._steps_run = 0
        # Local activities the tracks wait on now; the projection is written between them.
        self._local_work = 0
        self._tracks_running = 0
        self._search_attributes: dict[str, Any] = {}
        self._migration: MigrateRequest | None = None
        # The SDK leaves these out while replaying, so each step counts once.
        meter = workflow.metric_meter()
        self._steps_counter = meter.create_counter("enrollment_steps", "Steps enrollments ran.")
        self._ended_counter = meter.create_counter("enrollments_ended", "Enrollments completed.")

    @workflow.run
    async def run(self, input: EnrollmentInput) -> EnrollmentResult:
        if input.state is None:
            # The enrollment row must exist before any step writes records that refer to it.
            self._publish("enrolled")
            await self._write_projection(self._pending.pop(0))
        self._update_search_attributes()
        projector = asyncio.create_task(self._project())
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
            self._draining = True
        await asyncio.gather(*tracks)

        ended = all(track.step_id is None for track in self._state.tracks.values())
        if ended:
            self._state.status = Status.completed
            self._state.outcome = self._state.outcome or Outcome.neutral
            self._publish("completed", detail={"outcome": self._state.outcome})
            self._ended_counter.add(1, {"outcome": str(self._state.outcome)})
            workflow.logger.info("enrollment completed, %s", self._state.outcome)
        next_input = input.model_copy(update={"state": self._state})
        if not ended and self._migration is not None:
            next_input = self._migrated_input(self._migration)
        self._tracks_done = True
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
        self._publish("stopped", detail={"reason": request.reason} if request.reason else {})
        if request.open_tasks == OpenTasks.leave_open:
            return
        cancel = request.open_tasks == OpenTasks.cancel
        result = None if cancel else "none"
        closed = await self._locally(
            effects.close_open_tasks(
                CloseOpenTasksInput(
                    enrollment_id=self._input.enrollment_id,
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
            self._publish("reactivated")

    @workflow.signal
    def retry(self) -> None:
        """Run the failed step again (after an operator fixed what made it fail)."""
        if self._state.status == Status.failed:
            for position in self._state.tracks.values():
                position.failure_reason = None
            self._state.status = Status.active
            self._publish("retried")

    @workflow.update
    async def task_outcome(self, outcome: TaskOutcome) -> None:
        """A person reported a to-do's result: recorded on the to-do here, so the to-do and the
        enrollment never disagree; it steers the track once the enrollment is active."""
        closed = await self._locally(
            effects.close_task(
                CloseTaskInput(
                    task_id=outcome.task_id,
                    status="completed",
                    result=outcome.result,
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
        if outcome.enrollment_id != self._input.enrollment_id:
            raise ApplicationError("this run is not waiting for the to-do", type=NOT_AWAITED)
        if outcome.task_id in self._state.task_results:
            raise ApplicationError("the to-do is already closed", type=NOT_APPLICABLE)

    @workflow.signal
    def contact_event(self, signal: ContactEventSignal) -> None:
        """The contact did something: event waits see it, and an exit rule may end the enrollment."""
        self._receive(signal)

    def _receive(self, signal: ContactEventSignal) -> None:
        events = self._state.events
        events.append(ReceivedEvent(event=signal.event, name=signal.name, at=workflow.now()))
        del events[:-EVENTS_KEPT]
        if self._state.status == Status.completed or self._state.outcome is not None:
            return
        for rule in self._input.definition.settings.exit_rules:
            if rule.matches(signal.event, signal.name):
                self._end_all_tracks(rule.outcome)
                self._publish("exited", detail={"event": signal.event, "name": signal.name})
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
        previous = self._input.version
        self._input = self._input.model_copy(
            update={"version": request.version, "definition": request.definition}
        )
        self._state = migrated_state(self._state, request.definition)
        workflow.upsert_search_attributes([sa.SEQUENCE_VERSION.value_set(request.version)])
        self._publish("migrated", detail={"from_version": previous, "to_version": request.version})
        return self._input.model_copy(update={"state": self._state})

    @workflow.query
    def state(self) -> EnrollmentState:
        return self._state

    async def _run_track(self, track: Track) -> None:
        position = self._state.tracks[track.id]
        self._tracks_running += 1
        try:
            while position.step_id is not None:
                step = track.step(position.step_id)
                run = self._run_from(track, step)
                if run:
                    await self._run_steps(track, run, position)
                    continue
                done = await self._run_step_until_done(track.id, step, position)
                self._complete(track, step, done, position)
        except _Interrupted:
            return
        finally:
            self._tracks_running -= 1

    def _complete(
        self,
        track: Track,
        step: Step,
        done: StepDone,
        position: TrackState,
        *,
        revision: int | None = None,
        written: bool = False,
    ) -> None:
        """Move the track past a step it finished, and record that it did."""
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
        self._publish(
            "step_completed",
            track_id=track.id,
            step_id=step.id,
            detail=done.detail,
            revision=revision,
            written=written,
        )

    def _run_from(self, track: Track, step: Step) -> list[RunnableStep]:
        """The step and those after it that can run in one call (activities/runs.py): effects
        that neither wait nor branch, up to one that ends the enrollment or may (a tag one of
        its exit rules watches for)."""
        run: list[RunnableStep] = []
        current: Step | None = step
        while isinstance(current, RunnableStep) and len(run) < RUN_LENGTH:
            if any(s.id == current.id for s in run):
                break
            run.append(current)
            if current.then.end is not None or self._exits_on(current):
                break
            following = track.following(current, current.then)
            current = track.step(following) if following is not None else None
        if run and not workflow.patched(effects.STEP_RUNS):
            return []
        return run

    def _exits_on(self, step: Step) -> bool:
        return isinstance(step, ApplyTagStep) and any(
            rule.matches(EventType.tag_applied, step.tag)
            for rule in self._input.definition.settings.exit_rules
        )

    async def _run_steps(self, track: Track, run: list[RunnableStep], position: TrackState) -> None:
        """Run steps with nothing to wait for between them in one call; where the track goes on
        after them, the call also writes the projection, so the track waits without another."""
        await self._wait_until_active(position)
        records = self._records_ahead(track, run)
        queued, self._pending = (self._pending, []) if records else ([], self._pending)
        waiting = self._wait_after(track, run[-1]) if records else None
        settings = self._input.definition.settings
        request = StepRunInput(
            enrollment_id=self._input.enrollment_id,
            contact_id=self._input.contact_id,
            sequence_id=self._input.sequence_id,
            enrolled_by=self._input.enrolled_by,
            announcer=workflow.info().workflow_id,
            sending=settings.sending,
            timezone=settings.timezone,
            now=workflow.now(),
            steps=[
                RunStep(
                    step=step,
                    effect_key=self._effect_key(track.id, step.id, position),
                    record=records[n] if records else None,
                )
                for n, step in enumerate(run)
            ],
            queued=queued,
            then_waits=_wait_length(waiting) if waiting else None,
        )
        try:
            result = await self._locally(effects.run_steps(request))
        except effects.STEP_FAILURES as error:
            self._pending = queued + self._pending
            done = await self._run_step_until_done(track.id, run[0], position, first=_raise(error))
            self._complete(track, run[0], done, position)
            return
        if not result.projected:
            self._pending = queued + self._pending
        for n, (step, outcome) in enumerate(zip(run, result.outcomes, strict=False)):
            if outcome.tag_applied is not None:
                tag = outcome.tag_applied
                self._receive(ContactEventSignal(event=EventType.tag_applied, name=tag))
            if not outcome.finished:
                unfinished = self._unfinished(step, outcome, track.id, position)
                done = await self._run_step_until_done(track.id, step, position, first=unfinished)
                self._complete(track, step, done, position)
                return
            self._complete(
                track,
                step,
                StepDone(step.then, outcome.detail),
                position,
                revision=records[n].revision if records else None,
                written=result.projected,
            )
        if result.projected:
            # As the projector would have with the write.
            self._update_search_attributes()
            self._shown_due = result.next_due_at
            if waiting is not None and result.finished_at is not None:
                # The wait counts from the run's end, as the projection shows it.
                _begin_wait(waiting, position, result.finished_at)

    def _wait_after(self, track: Track, step: RunnableStep) -> DelayStep | WaitForEventStep | None:
        """The step after a run, if it waits for a length known before it starts."""
        following = track.following(step, step.then)
        after = track.step(following) if following is not None else None
        if (isinstance(after, DelayStep) and after.is_plain) or isinstance(after, WaitForEventStep):
            return after
        return None

    def _records_ahead(self, track: Track, run: list[RunnableStep]) -> list[ProjectionUpdate]:
        """Each step's step_completed record, made before the run for it to write, where the
        track goes on after it (where it ends, the enrollment's end writes the projection).

        Their revisions are reserved, so an update made meanwhile (a signal's) takes none.
        """
        following = [track.following(step, step.then) for step in run]
        if following[-1] is None:
            return []
        first = self._state.revision + 1
        self._state.revision += len(run)
        return [
            self._projection_update(
                "step_completed",
                revision=first + n,
                current_step=self._state.current_step(moving=(track.id, following[n])),
                track_id=track.id,
                step_id=step.id,
            )
            for n, step in enumerate(run)
        ]

    def _unfinished(
        self, step: RunnableStep, outcome: StepOutcome, track_id: str, position: TrackState
    ) -> Callable[[], Awaitable[StepDone]]:
        """How the workflow takes over the step a run ended at."""
        if outcome.failure is not None:
            return _raise(ApplicationError(outcome.failure, non_retryable=True))
        assert isinstance(step, CommunicationStep) and outcome.waiting is not None
        waiting = outcome.waiting

        async def send_when_placed() -> StepDone:
            return StepDone(step.then, await self._send_held(waiting, step, track_id, position))

        return send_when_placed

    def _end_all_tracks(self, outcome: Outcome) -> None:
        """A step ended the enrollment: every other track stops where it is."""
        self._state.outcome = outcome
        for position in self._state.tracks.values():
            position.step_id = None
            position.wake_at = None
            position.waiting_since = None

    async def _run_step_until_done(
        self,
        track_id: str,
        step: Step,
        position: TrackState,
        first: Callable[[], Awaitable[StepDone]] | None = None,
    ) -> StepDone:
        """Run one step; when it fails for good, park the track (the enrollment shows failed,
        the other tracks go on unless the sequence says stop_all) and wait for a retry.

        `first` stands in for the first attempt: the rest of one a run began.
        """
        attempt = first
        while True:
            await self._wait_until_active(position)
            try:
                if attempt is not None:
                    run, attempt = attempt, None
                    return await run()
                return await self._run_step(track_id, step, position)
            except effects.STEP_FAILURES as error:
                reason = _reason(error)
                position.failure_reason = f"step {step.id!r}: {reason}"
                self._state.status = Status.failed
                workflow.logger.warning("enrollment failed at %s: %s", step.id, reason)
                self._publish(
                    "step_failed", track_id=track_id, step_id=step.id, detail={"reason": reason}
                )

    def _interrupted(self) -> bool:
        return self._draining or self._state.outcome is not None

    def _may_run(self, position: TrackState) -> bool:
        parking = self._input.definition.settings.on_failure == OnFailure.park_track
        return self._state.may_run(position, parking=parking)

    async def _wait_until_active(self, position: TrackState) -> None:
        # Since lean steps, a track free to go on does so without yielding, so the projector
        # does not write between one step's local work and the next.
        if not (workflow.patched(effects.LEAN_STEPS) and self._may_run(position)):
            await workflow.wait_condition(lambda: self._may_run(position) or self._interrupted())
        if self._interrupted():
            raise _Interrupted

    async def _run_step(self, track_id: str, step: Step, position: TrackState) -> StepDone:
        """Run the step's effect; say where the track goes next and what to record."""
        if isinstance(step, TimerStep):
            skipped = await self._wait_for_timer(step, position)
            return StepDone(step.then, {"skipped": skipped} if skipped else {})
        ref = EnrollmentRef(
            enrollment_id=self._input.enrollment_id,
            contact_id=self._input.contact_id,
            effect_key=self._effect_key(track_id, step.id, position),
        )
        if isinstance(step, CommunicationStep) and workflow.patched(effects.LEAN_STEPS):
            return StepDone(step.then, await self._communicate(step, ref, track_id, position))
        elif isinstance(step, EmailStep):
            sent = await effects.send_email(
                SendEmailInput(
                    ref=ref,
                    subject=step.subject,
                    body=step.body,
                    html=step.html,
                    send_to=step.send_to,
                    sender=self._input.definition.settings.sending.sender,
                ),
                step.id,
            )
            return StepDone(step.then, await self._deliver(sent, step, ref, track_id, position))
        elif isinstance(step, CommunicationStep):
            subject, body = step.subject_and_body()
            sent = await effects.send_message(
                SendMessageInput(
                    ref=ref,
                    channel=step.channel,
                    subject=subject,
                    body=body,
                    send_to=step.send_to,
                    sender=self._input.definition.settings.sending.sender,
                ),
                step.id,
            )
            return StepDone(step.then, await self._deliver(sent, step, ref, track_id, position))
        elif isinstance(step, ApplyTagStep) and workflow.patched(effects.LEAN_STEPS):
            tagged = await self._locally(
                effects.tag_and_announce(
                    TagAndAnnounceInput(
                        ref=ref,
                        tag=step.tag,
                        enrolled_by=self._input.enrolled_by,
                        announcer=workflow.info().workflow_id,
                    ),
                    step.id,
                )
            )
            if tagged.applied:
                self._receive(ContactEventSignal(event=EventType.tag_applied, name=step.tag))
        elif isinstance(step, ApplyTagStep):
            tagged = await effects.apply_tag(ApplyTagInput(ref=ref, tag=step.tag), step.id)
            # Histories recorded before tags were announced must replay without the call.
            if tagged.applied and workflow.patched("announce-applied-tags"):
                # Since local effects, the enrollment takes its own news without a signal.
                knows = workflow.patched(effects.LOCAL_EFFECTS)
                await effects.announce(
                    AnnounceInput(
                        ref=ref,
                        event=EventType.tag_applied,
                        name=step.tag,
                        enrolled_by=self._input.enrolled_by,
                        announcer=workflow.info().workflow_id if knows else None,
                    ),
                    step.id,
                )
                if knows:
                    self._receive(ContactEventSignal(event=EventType.tag_applied, name=step.tag))
        elif isinstance(step, ProcessStep):
            done = await self._locally(
                effects.run_process(
                    ProcessInput(
                        ref=ref,
                        step=step,
                        sequence_id=self._input.sequence_id,
                        enrolled_by=self._input.enrolled_by,
                        now=workflow.now(),
                    )
                )
            )
            return StepDone(step.then, done)
        elif isinstance(step, HttpPostStep):
            posted = await effects.http_post(
                HttpPostInput(ref=ref, url=str(step.url), fields=step.fields), step.id
            )
            return StepDone(step.then, {"status_code": posted.status_code})
        elif isinstance(step, PersonStep):
            return await self._wait_for_person(step, ref, position)
        elif isinstance(step, WaitForEventStep):
            return await self._wait_for_event(step, position)
        elif isinstance(step, ConditionStep):
            met = await self._locally(
                effects.check_condition(
                    ConditionInput(contact_id=self._input.contact_id, check=step.check), step.id
                )
            )
            return StepDone(step.if_true if met else step.if_false, {"condition_met": met})
        else:
            assert_never(step)
        return StepDone(step.then)

    async def _deliver(
        self,
        sent: MessageResult,
        step: CommunicationStep,
        ref: EnrollmentRef,
        track_id: str,
        position: TrackState,
    ) -> dict[str, Any]:
        """Hand a message recorded in the outbox to its channel; what to record of it."""
        if sent.skipped:
            return {"skipped": sent.skipped}
        # Histories recorded before delivery existed replay without the call.
        if sent.message_id is None or not workflow.patched("deliver-messages"):
            return {}
        detail: dict[str, Any] = {}
        # Histories recorded before sending discipline replay without a reservation.
        if workflow.patched("sending-discipline"):
            detail = await self._hold_for_slot(sent.message_id, step, ref, track_id, position)
        delivered = await effects.deliver(DeliverInput(message_id=sent.message_id), step.id)
        return {**detail, "message": delivered.status}

    async def _communicate(
        self,
        step: CommunicationStep,
        ref: EnrollmentRef,
        track_id: str,
        position: TrackState,
    ) -> dict[str, Any]:
        """Record, place and hand over a message in one call; wait first if it is held."""
        settings = self._input.definition.settings
        sent = await self._locally(
            effects.dispatch(
                DispatchInput.of_step(
                    step,
                    ref,
                    sequence_id=self._input.sequence_id,
                    sending=settings.sending,
                    timezone=settings.timezone,
                    now=workflow.now(),
                ),
                step.id,
            )
        )
        detail = sent.step_detail()
        if detail is not None:
            return detail
        return await self._send_held(sent, step, track_id, position)

    async def _send_held(
        self, sent: Dispatched, step: CommunicationStep, track_id: str, position: TrackState
    ) -> dict[str, Any]:
        """A message recorded but not handed over: held by the sending limits, or the hand-over
        failed for now. Wait for its place, then hand it over for as long as it takes."""
        assert sent.send_at is not None and sent.message_id is not None
        held = await self._hold(sent.send_at, sent.held_because, step, track_id, position)
        delivered = await effects.deliver(DeliverInput(message_id=sent.message_id), step.id)
        return {**held, "message": delivered.status}

    async def _hold_for_slot(
        self,
        message_id: str,
        step: CommunicationStep,
        ref: EnrollmentRef,
        track_id: str,
        position: TrackState,
    ) -> dict[str, Any]:
        """Wait for the message's place under the rate limits, daily caps and quiet hours."""
        settings = self._input.definition.settings
        slot = await effects.reserve_send(
            ReserveInput(
                ref=ref,
                message_id=message_id,
                channel=step.channel,
                sequence_id=self._input.sequence_id,
                sending=settings.sending,
                timezone=settings.timezone,
                now=workflow.now(),
            ),
            step.id,
        )
        return await self._hold(slot.send_at, slot.reason, step, track_id, position)

    async def _hold(
        self,
        send_at: datetime,
        reason: str | None,
        step: CommunicationStep,
        track_id: str,
        position: TrackState,
    ) -> dict[str, Any]:
        """Sleep until the message's reserved time, visibly; what to record of the wait."""
        remaining = send_at - workflow.now()
        if remaining <= timedelta(0):
            return {}
        held = {"held_until": send_at.isoformat(), "held_because": reason}
        position.wake_at, position.held_because = send_at, reason
        self._publish("message_held", track_id=track_id, step_id=step.id, detail=held)
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                self._interrupted, timeout=remaining, timeout_summary=f"{step.id}: held"
            )
        position.wake_at = position.held_because = None
        # A stop while the message was held keeps it from going until reactivation.
        await self._wait_until_active(position)
        return held

    async def _wait_for_person(
        self, step: PersonStep, ref: EnrollmentRef, position: TrackState
    ) -> StepDone:
        """Create the to-do once, then wait for its result while the enrollment is active."""
        if position.task_id is None:
            created = await self._locally(
                effects.create_task(
                    CreateTaskInput(
                        ref=ref,
                        workflow_id=workflow.info().workflow_id,
                        step=step,
                        enrolled_by=self._input.enrolled_by,
                        now=workflow.now(),
                    )
                )
            )
            position.task_id = created.task_id
            self._publish("task_created", step_id=step.id, detail=created.model_dump())
        task_id = position.task_id
        await workflow.wait_condition(
            lambda: (
                (task_id in self._state.task_results and self._may_run(position))
                or self._interrupted()
            )
        )
        if self._interrupted():
            raise _Interrupted
        result = self._state.task_results.pop(task_id)
        position.task_id = None
        # A to-do closed without a result of its kind (cancelled when the enrollment was
        # stopped) does not steer: the track carries on to the next step.
        transition = step.transition_for(result) if result in step.RESULTS else CONTINUE
        return StepDone(transition, {"task_id": task_id, "result": result})

    async def _wait_for_event(self, step: WaitForEventStep, position: TrackState) -> StepDone:
        if position.waiting_since is None:
            position.waiting_since = workflow.now()
            position.wake_at = position.waiting_since + step.within
        self._show_due()
        since = position.waiting_since

        def happened() -> bool:
            return any(
                e.at >= since and step.match.matches(e.event, e.name) for e in self._state.events
            )

        remaining = (position.wake_at or since) - workflow.now()
        if not happened() and remaining > timedelta(0):
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: happened() or self._interrupted(),
                    timeout=remaining,
                    timeout_summary=f"{step.id}: until {step.match.event.value}",
                )
        if self._interrupted():
            raise _Interrupted
        seen = happened()
        position.waiting_since = position.wake_at = None
        return StepDone(step.if_happened if seen else step.if_not, {"event_happened": seen})

    async def _wait_for_timer(self, step: TimerStep, position: TrackState) -> str | None:
        """Sleep until the timer is due; the reason it is skipped instead, if it is."""
        # The wake-up time is state, so a stop, a worker restart or continue-as-new keeps it.
        if position.wake_at is None:
            if isinstance(step, DelayStep) and step.is_plain:
                position.wake_at = workflow.now() + step.duration
            else:
                due = await self._locally(
                    effects.due_time(
                        TimerInput(
                            contact_id=self._input.contact_id,
                            step=step,
                            now=workflow.now(),
                            settings=self._input.definition.settings,
                            event_date=self._input.event_date,
                        )
                    )
                )
                if due.at is None:
                    return due.skipped
                position.wake_at = due.at
        self._show_due()
        remaining = position.wake_at - workflow.now()
        if remaining > timedelta(0):
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    self._interrupted, timeout=remaining, timeout_summary=step.id
                )
            if self._interrupted():
                raise _Interrupted
        position.wake_at = None
        return None

    def _effect_key(self, track_id: str, step_id: str, position: TrackState) -> str:
        iteration = position.visits.get(step_id, 0)
        return f"{self._input.enrollment_id}:{track_id}:{step_id}:{iteration}"

    def _publish(
        self,
        kind: str,
        *,
        track_id: str | None = None,
        step_id: str | None = None,
        detail: dict[str, Any] | None = None,
        revision: int | None = None,
        written: bool = False,
    ) -> None:
        """Queue a projection write for this change (unless a run has `written` it, under the
        `revision` reserved for it) and bring the search attributes up to date."""
        state = self._state
        if revision is None:
            state.revision += 1
            revision = state.revision
        if not workflow.patched(effects.LEAN_STEPS):
            self._update_search_attributes()
        update = self._projection_update(
            kind,
            revision=revision,
            current_step=state.current_step(),
            track_id=track_id,
            step_id=step_id,
            detail=detail,
        )
        if not written:
            self._pending.append(update)

    def _projection_update(
        self,
        kind: str | None,
        *,
        revision: int,
        current_step: str | None,
        track_id: str | None = None,
        step_id: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> ProjectionUpdate:
        state, now = self._state, workflow.now()
        return ProjectionUpdate(
            enrollment_id=self._input.enrollment_id,
            sequence_id=self._input.sequence_id,
            version=self._input.version,
            contact_id=self._input.contact_id,
            workflow_id=workflow.info().workflow_id,
            enrolled_by=self._input.enrolled_by,
            revision=revision,
            status=state.status,
            current_step=current_step,
            outcome=state.outcome,
            failure_reason=state.failure_reason,
            ended_at=now if state.status == Status.completed else None,
            next_due_at=state.next_due_at(),
            at=now,
            event=EnrollmentEventRecord(
                effect_key=f"{self._input.enrollment_id}:event:{revision}",
                kind=kind,
                occurred_at=now,
                track_id=track_id,
                step_id=step_id,
                detail=detail or {},
            )
            if kind
            else None,
        )

    def _show_due(self) -> None:
        """A track began to wait: write the row, without an event, if the projection would not
        show when the enrollment next moves on (queued updates are written as things stand)."""
        due = self._state.next_due_at()
        if self._pending or due == self._shown_due:
            return
        self._state.revision += 1
        self._pending.append(
            self._projection_update(
                None, revision=self._state.revision, current_step=self._state.current_step()
            )
        )
        self._shown_due = due

    def _update_search_attributes(self) -> None:
        wanted = (
            (sa.ENROLLMENT_STATUS, str(self._state.status)),
            (sa.CURRENT_STEP, self._state.current_step()),
        )
        updates = [
            key.value_set(value) if value is not None else key.value_unset()
            for key, value in wanted
            if self._search_attributes.get(key.name, _UNSET) != value
        ]
        if updates:
            workflow.upsert_search_attributes(updates)
            self._search_attributes = {key.name: value for key, value in wanted}

    async def _project(self) -> None:
        """Write queued projection updates in order, one at a time, until the workflow ends."""
        # Since lean steps, what a step records waits while the next step's local work runs,
        # and goes in one write when the tracks wait: one write per timer rather than per step.
        # The last steps' records wait for the enrollment's end, to go with it.
        lean = workflow.patched(effects.LEAN_STEPS)

        def ready() -> bool:
            if lean:
                return bool(self._pending) and not self._local_work and self._tracks_running > 0
            return bool(self._pending)

        while True:
            await workflow.wait_condition(lambda: ready() or self._tracks_done)
            if not self._pending:
                return
            if workflow.patched(effects.LOCAL_EFFECTS):
                # Whatever piled up while the last write ran goes in one transaction.
                batch, self._pending = self._pending, []
                if lean:
                    # Operators' search attributes change with the projection, not each step.
                    self._update_search_attributes()
                await effects.record_progress_batch(ProjectionBatch(updates=self._as_now(batch)))
            else:
                await self._write_projection(self._pending.pop(0))

    def _as_now(self, batch: list[ProjectionUpdate]) -> list[ProjectionUpdate]:
        """The batch with the row as it stands now: an update queued while a run was under way
        saw the track where the run began, and the run's records hold lower revisions."""
        newest = max(range(len(batch)), key=lambda n: batch[n].revision)
        state = self._state
        ended = state.status == Status.completed
        row = batch[newest].model_copy(
            update={
                "revision": max(state.revision, batch[newest].revision),
                "status": state.status,
                "current_step": state.current_step(),
                "outcome": state.outcome,
                "failure_reason": state.failure_reason,
                "ended_at": batch[newest].ended_at or (workflow.now() if ended else None),
                "next_due_at": state.next_due_at(),
            }
        )
        self._shown_due = row.next_due_at
        return [*batch[:newest], row, *batch[newest + 1 :]]

    async def _write_projection(self, update: ProjectionUpdate) -> None:
        await effects.record_progress(update)

    async def _locally(self, work: Awaitable[T]) -> T:
        """Await a step's local activity, holding the projection write back until it is done."""
        self._local_work += 1
        try:
            return await work
        finally:
            self._local_work -= 1


def _wait_length(step: DelayStep | WaitForEventStep) -> timedelta:
    return step.duration if isinstance(step, DelayStep) else step.within


def _begin_wait(step: DelayStep | WaitForEventStep, position: TrackState, at: datetime) -> None:
    if isinstance(step, WaitForEventStep):
        position.waiting_since = at
    position.wake_at = at + _wait_length(step)


def _raise(error: Exception) -> Callable[[], Awaitable[StepDone]]:
    """A step's attempt that fails as an earlier one did."""

    async def attempt() -> StepDone:
        raise error

    return attempt


def _reason(error: Exception) -> str:
    cause = error.cause if isinstance(error, ActivityError) else error
    return str(cause.message if isinstance(cause, ApplicationError) else cause or error)
