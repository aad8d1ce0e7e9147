"""Judging a chaos run: what the sink received against what every contact should have got, and
a short account of a workflow's history for the enrollments that went wrong.
"""

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from itertools import pairwise

from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import MarkerRecordedEventAttributes
from temporalio.client import Client

from bench.chaos_report import KILL_WINDOW_S, MailTally, Redelivery
from bench.sink import Received

SUBJECT = "Chaos step {step} for {{{{ contact.first_name }}}}"
_STEP = re.compile(r"^Chaos step (\d+) ")
LOCAL_ACTIVITY_MARKER = "core_local_activity"
STATUS_ATTRIBUTE = "EnrollmentStatus"
# Enough examples to find the cases again, few enough to keep the report readable.
EXAMPLES = 5


def step_of(message: Received) -> int | None:
    found = _STEP.match(message.subject)
    return int(found.group(1)) if found else None


def explained_by_kills(arrivals: list[float], kills: list[float]) -> bool:
    """Whether every copy after the first came after a worker SIGKILL at most KILL_WINDOW_S
    after the copy before it: the killed worker may have had the server's 250 unrecorded.

    Each copy needs a kill of its own, since the copy before it was a fresh hand-over that the
    next worker records like any other. All times are time.monotonic() of the chaos process.
    """
    return all(
        any(earlier <= kill <= earlier + KILL_WINDOW_S and kill < later for kill in kills)
        for earlier, later in pairwise(sorted(arrivals))
    )


def tally_mail(
    received: Iterable[Received],
    recipients: Iterable[str],
    steps: int,
    kills: Iterable[float] = (),
) -> tuple[MailTally, list[str]]:
    """Each recipient must get each step once: one Message-ID, one copy, distinct per step.

    A copy sent again after a worker SIGKILL (`kills`, on the sink's clock) is counted apart
    from one nothing explains; only the latter is a violation.
    """
    expected = {address.lower() for address in recipients}
    # (recipient, step) -> Message-ID -> when each copy arrived
    copies: dict[tuple[str, int], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    unexpected: list[str] = []
    messages = list(received)
    for message in messages:
        step = step_of(message)
        if message.recipient not in expected or step is None or not 1 <= step <= steps:
            unexpected.append(f"{message.recipient} {message.subject!r}")
            continue
        copies[(message.recipient, step)][message.message_id].append(message.at)

    tally = MailTally(expected=len(expected) * steps, received=len(messages))
    tally.distinct_message_ids = len({m.message_id for m in messages})
    tally.unexpected = len(unexpected)
    tally.lost = [
        (address, step)
        for address in sorted(expected)
        for step in range(1, steps + 1)
        if (address, step) not in copies
    ]
    tally.duplicated = [key for key, ids in sorted(copies.items()) if len(ids) > 1]
    kill_times = list(kills)
    for (recipient, step), ids in sorted(copies.items()):
        for message_id, arrivals in ids.items():
            if len(arrivals) > 1:
                redelivery = Redelivery(recipient, step, message_id, len(arrivals))
                if explained_by_kills(arrivals, kill_times):
                    tally.redelivered_after_kill.append(redelivery)
                else:
                    tally.redelivered.append(redelivery)
    owners: dict[str, set[tuple[str, int]]] = defaultdict(set)
    for key, ids in copies.items():
        for message_id in ids:
            owners[message_id].add(key)
    shared = {mid: keys for mid, keys in owners.items() if len(keys) > 1}
    tally.shared_message_ids = len(shared)

    violations = []
    if tally.lost:
        violations.append(
            f"lost: {len(tally.lost)} emails never arrived, e.g. "
            + ", ".join(f"{r} step {s}" for r, s in tally.lost[:EXAMPLES])
        )
    if tally.duplicated:
        violations.append(
            f"duplicated: {len(tally.duplicated)} steps reached a recipient as several messages, "
            "e.g. "
            + ", ".join(
                f"{r} step {s}: {sorted(copies[(r, s)])}" for r, s in tally.duplicated[:EXAMPLES]
            )
        )
    if tally.redelivered:
        violations.append(
            f"redelivered: {sum(r.extra for r in tally.redelivered)} extra copies of messages "
            f"already received (same Message-ID) with no worker SIGKILL within "
            f"{KILL_WINDOW_S:.0f} s after the copy before, e.g. "
            + ", ".join(
                f"{r.recipient} step {r.step} {r.message_id} x{r.copies}"
                for r in tally.redelivered[:EXAMPLES]
            )
        )
    if shared:
        violations.append(
            f"{len(shared)} Message-IDs were used for more than one step or recipient, e.g. "
            + ", ".join(f"{mid}: {sorted(keys)}" for mid, keys in list(shared.items())[:EXAMPLES])
        )
    if unexpected:
        violations.append(
            f"unexpected: {len(unexpected)} messages, e.g. {', '.join(unexpected[:EXAMPLES])}"
        )
    return tally, violations


async def history_summary(client: Client, workflow_id: str) -> list[str]:
    """Event counts, then each activity's end (attempt, result or failure), signals, timeouts."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    kinds: Counter[str] = Counter()
    scheduled: dict[int, str] = {}
    attempts: dict[int, int] = {}
    notes: list[str] = []

    def ended(event_id: int, end: str) -> str:
        name = scheduled.get(event_id, f"activity {event_id}")
        return f"{name}: {end} (attempt {attempts.get(event_id, '?')})"

    for event in history.events:
        kind = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
        kinds[kind] += 1
        if event.HasField("activity_task_scheduled_event_attributes"):
            activity = event.activity_task_scheduled_event_attributes.activity_type.name
            summary = _text(event.user_metadata.summary) if event.HasField("user_metadata") else ""
            scheduled[event.event_id] = f"{activity} [{summary}]" if summary else activity
        elif event.HasField("activity_task_started_event_attributes"):
            started = event.activity_task_started_event_attributes
            attempts[started.scheduled_event_id] = started.attempt
        elif event.HasField("activity_task_completed_event_attributes"):
            done = event.activity_task_completed_event_attributes
            result = _text(done.result.payloads[0]) if done.result.payloads else ""
            notes.append(ended(done.scheduled_event_id, f"returned {result}"))
        elif event.HasField("activity_task_failed_event_attributes"):
            failed = event.activity_task_failed_event_attributes
            notes.append(ended(failed.scheduled_event_id, f"failed: {failed.failure.message}"))
        elif event.HasField("activity_task_timed_out_event_attributes"):
            timed_out = event.activity_task_timed_out_event_attributes
            notes.append(ended(timed_out.scheduled_event_id, "timed out"))
        elif event.HasField("marker_recorded_event_attributes"):
            marker = event.marker_recorded_event_attributes
            # Patch markers only say which code path a run took; local activities did the work.
            if marker.marker_name == LOCAL_ACTIVITY_MARKER:
                notes.append(_local_activity(marker))
        elif event.HasField("workflow_execution_failed_event_attributes"):
            failure = event.workflow_execution_failed_event_attributes.failure
            notes.append(f"workflow failed: {failure.message} {_cause(failure)}".rstrip())
        elif event.HasField("workflow_task_failed_event_attributes"):
            failure = event.workflow_task_failed_event_attributes.failure
            notes.append(f"workflow task failed: {failure.message}")
        elif event.HasField("upsert_workflow_search_attributes_event_attributes"):
            fields = event.upsert_workflow_search_attributes_event_attributes.search_attributes
            status = fields.indexed_fields.get(STATUS_ATTRIBUTE)
            if status is not None:
                notes.append(f"search attribute {STATUS_ATTRIBUTE} = {_text(status)}")
        elif event.HasField("workflow_execution_signaled_event_attributes"):
            notes.append(f"signal {event.workflow_execution_signaled_event_attributes.signal_name}")
        elif kind == "WORKFLOW_TASK_TIMED_OUT":
            notes.append("workflow task timed out")
    counts = ", ".join(f"{kind.lower()} {n}" for kind, n in sorted(kinds.items()))
    return [f"{len(history.events)} events: {counts}", *notes]


def _local_activity(marker: MarkerRecordedEventAttributes) -> str:
    """A local activity's marker: which activity, its attempt, and its result or failure."""
    data = marker.details.get("data")
    try:
        about = json.loads(data.payloads[0].data) if data and data.payloads else {}
    except ValueError:
        about = {}
    name = f"local {about.get('activity_type', '?')}"
    if marker.HasField("failure"):
        end = f"failed: {marker.failure.message} {_cause(marker.failure)}".rstrip()
    else:
        result = marker.details.get("result")
        end = f"returned {_text(result.payloads[0])}" if result and result.payloads else "done"
    return f"{name}: {end} (attempt {about.get('attempt', '?')})"


def _cause(failure: Failure) -> str:
    return f"(cause: {failure.cause.message})" if failure.HasField("cause") else ""


def _text(payload: Payload) -> str:
    """A JSON payload as its text, cut short; the report needs a glimpse, not the whole."""
    text = payload.data.decode(errors="replace")
    return text if len(text) <= 120 else f"{text[:117]}..."
