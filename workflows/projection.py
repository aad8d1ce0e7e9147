"""The enrollment row and event log the API reads, as the workflow writes them.

What a step records waits while the next step's local work runs, and goes in one write when
the tracks wait: one write per timer rather than per step. The last steps' records wait for the
enrollment's end, to go with it; a step run that ends the enrollment writes the end itself.
Operators' search attributes change with each write.
"""

from datetime import datetime
from typing import Any

from temporalio import workflow

import workflows.calls as calls
import workflows.search_attributes as sa
from activities.contracts import EnrollmentEventRecord, ProjectionBatch, ProjectionUpdate
from sequences import Outcome
from workflows.state import Status
from workflows.steps.context import StepContext

_UNSET = object()


class Projector:
    def __init__(self, run: StepContext) -> None:
        self._run = run
        self._pending: list[ProjectionUpdate] = []
        # The next due time the projection shows, or will once the queued updates are written.
        self._shown_due: datetime | None = None
        self._search_attributes: dict[str, Any] = {}

    def publish(
        self,
        kind: str,
        *,
        track_id: str | None = None,
        step_id: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Queue a write of the row as it stands, with the event that changed it."""
        state = self._run.state
        state.revision += 1
        self._pending.append(
            self.update(
                kind,
                revision=state.revision,
                current_step=state.current_step(),
                track_id=track_id,
                step_id=step_id,
                detail=detail,
            )
        )

    def show_due(self) -> None:
        """A track began to wait: write the row, without an event, if the projection would not
        show when the enrollment next moves on (queued updates are written as things stand)."""
        state = self._run.state
        due = state.next_due_at()
        if self._pending or due == self._shown_due:
            return
        state.revision += 1
        self._pending.append(
            self.update(None, revision=state.revision, current_step=state.current_step())
        )
        self._shown_due = due

    def update(
        self,
        kind: str | None,
        *,
        revision: int,
        current_step: str | None,
        track_id: str | None = None,
        step_id: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> ProjectionUpdate:
        """The row with `current_step`, under `revision`, and its event (none without `kind`)."""
        run, state, now = self._run.input, self._run.state, workflow.now()
        event = (
            EnrollmentEventRecord(
                effect_key=f"{run.enrollment_id}:event:{revision}",
                kind=kind,
                occurred_at=now,
                track_id=track_id,
                step_id=step_id,
                detail=detail or {},
            )
            if kind
            else None
        )
        return ProjectionUpdate(
            enrollment_id=run.enrollment_id,
            sequence_id=run.sequence_id,
            version=run.version,
            contact_id=run.contact_id,
            workflow_id=workflow.info().workflow_id,
            enrolled_by=run.enrolled_by,
            revision=revision,
            status=state.status,
            current_step=current_step,
            outcome=state.outcome,
            failure_reason=state.failure_reason,
            ended_at=now if state.status == Status.completed else None,
            next_due_at=state.next_due_at(),
            at=now,
            event=event,
        )

    def ending(self, revision: int, outcome: Outcome) -> ProjectionUpdate:
        """The enrollment's end with `outcome`, for a step run that ends it to write."""
        record = self.update(
            "completed", revision=revision, current_step=None, detail={"outcome": outcome}
        )
        return record.model_copy(
            update={
                "status": Status.completed,
                "outcome": outcome,
                "ended_at": workflow.now(),
                "next_due_at": None,
            }
        )

    def take_pending(self) -> list[ProjectionUpdate]:
        """The queued updates, for a step run to write with its own."""
        pending, self._pending = self._pending, []
        return pending

    def put_back(self, updates: list[ProjectionUpdate]) -> None:
        """Updates a step run took but did not write, to go first in the next write."""
        self._pending = updates + self._pending

    def written_by_run(self, next_due_at: datetime | None, *, ended: bool = False) -> None:
        """A step run wrote the row, its due time as given; the search attributes change with
        the write, or, where the run ended the enrollment, with its end."""
        self._shown_due = next_due_at
        if not ended:
            self.update_search_attributes()

    async def write_now(self) -> None:
        """Write what is queued at once: the enrolled row before any step refers to it."""
        await calls.record_progress(ProjectionBatch(updates=self.take_pending()))

    async def run(self) -> None:
        """Write queued updates, in order, until the tracks are done and nothing is left."""
        run = self._run

        def ready() -> bool:
            return bool(self._pending) and not run.local_work and run.tracks_running > 0

        while True:
            await workflow.wait_condition(lambda: ready() or run.tracks_done)
            if not self._pending:
                # A step run that woke with it may have taken the updates to write itself.
                if run.tracks_done:
                    return
                continue
            # Whatever piled up while the last write ran goes in one transaction.
            batch = self.take_pending()
            self.update_search_attributes()
            await calls.record_progress(ProjectionBatch(updates=self._as_now(batch)))

    def update_search_attributes(self) -> None:
        state = self._run.state
        wanted = (
            (sa.ENROLLMENT_STATUS, str(state.status)),
            (sa.CURRENT_STEP, state.current_step()),
        )
        updates = [
            key.value_set(value) if value is not None else key.value_unset()
            for key, value in wanted
            if self._search_attributes.get(key.name, _UNSET) != value
        ]
        if updates:
            workflow.upsert_search_attributes(updates)
            self._search_attributes = {key.name: value for key, value in wanted}

    def _as_now(self, batch: list[ProjectionUpdate]) -> list[ProjectionUpdate]:
        """The batch with the row as it stands now: an update queued while a run was under way
        saw the track where the run began, and the run's records hold lower revisions."""
        newest = max(range(len(batch)), key=lambda n: batch[n].revision)
        state = self._run.state
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
