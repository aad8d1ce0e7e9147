"""When a timer step fires, computed from the contact's timezone and fields.

A local activity, so the result is recorded in the history and a replay reuses it instead of
reading a contact that may have changed since.
"""

import uuid
from datetime import date, datetime, timedelta
from typing import Any

from temporalio import activity

from activities.contracts import DueTime, TimerInput
from sequences import DateTimerStep, DelayStep, EventTimerStep, FieldTimerStep, IfPast, schedule
from store import contacts
from store.db import SessionMaker


def _as_date(value: Any) -> date | None:
    """Contact fields are free JSON: accept an ISO date or the date part of an ISO datetime."""
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


class TimerActivities:
    def __init__(self, sessionmaker: SessionMaker, *, year: timedelta | None = None) -> None:
        self._sessionmaker = sessionmaker
        # Tests shrink the year to see a yearly timer fire twice; production never sets it.
        self._year = year

    @activity.defn
    async def due_time(self, request: TimerInput) -> DueTime:
        """When the timer step fires for this contact, or why it is skipped."""
        async with self._sessionmaker() as session:
            contact = await contacts.get_contact(session, uuid.UUID(request.contact_id))
        contact_tz = contact.timezone if contact else None
        fields = contact.fields if contact else {}
        tz = schedule.resolve_timezone(contact_tz, request.settings.timezone)
        step, now = request.step, request.now

        if isinstance(step, DelayStep):
            window = schedule.Window(step.window.start, step.window.end) if step.window else None
            return DueTime(
                at=schedule.delay_due(
                    now,
                    step.duration,
                    tz,
                    at=step.at,
                    window=window,
                    days=step.days,
                    holidays=frozenset(request.settings.holidays),
                )
            )
        if isinstance(step, DateTimerStep):
            due = schedule.date_due(now, step.on, step.at, tz)
            return _unless_past(now, due, step.if_past, f"{step.on} {step.at}")
        if isinstance(step, FieldTimerStep):
            value = _as_date(fields.get(step.field))
            if value is None:
                return DueTime(skipped=f"the contact has no date in field {step.field!r}")
            if step.yearly and self._year is not None:
                anchor = schedule.date_due(
                    now, value + timedelta(days=step.offset_days), step.at, tz
                )
                return DueTime(at=_next_period(anchor, now, self._year))
            due_or_none = schedule.field_due(
                now, value, tz, offset_days=step.offset_days, at=step.at, yearly=step.yearly
            )
            if due_or_none is None:
                return DueTime(skipped=f"the date in field {step.field!r} has passed")
            return DueTime(at=due_or_none)
        if isinstance(step, EventTimerStep):
            if request.event_date is None:
                return DueTime(skipped="the contact was enrolled without an event date")
            due = schedule.event_due(
                now, request.event_date, tz, offset_days=step.offset_days, at=step.at
            )
            moment = f"{step.offset_days:+d} days from the event date {request.event_date}"
            return _unless_past(now, due, step.if_past, f"{moment}, {step.at}")
        raise AssertionError(f"not a timer step: {step.kind}")


def _unless_past(now: datetime, due: datetime, if_past: IfPast, moment: str) -> DueTime:
    if not schedule.is_past(now, due):
        return DueTime(at=due)
    if if_past == IfPast.skip:
        return DueTime(skipped=f"{moment} had already passed")
    return DueTime(at=now)


def _next_period(anchor: datetime, now: datetime, period: timedelta) -> datetime:
    """The first of anchor, anchor + period, anchor + 2 * period, ... that is not before now."""
    if anchor >= now:
        return anchor
    elapsed_periods = -((anchor - now) // period)  # ceiling division
    return anchor + elapsed_periods * period
