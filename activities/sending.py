"""Sending discipline: when a queued message may go, under rate limits, daily caps and quiet hours.

Each message reserves a place once (keyed by its effect key): a slot in every window that limits
it (per channel over all sequences, per channel in its sequence, per day for the user it is
sent as). The workflow sleeps until the reserved time, so held messages are delayed, never
dropped, and the wait is visible in the enrollment's state and in the Temporal UI.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.exceptions import ApplicationError

from activities.contracts import Reservation, ReserveInput
from sequences import Channel, schedule
from sequences.sending import Sending
from store import send_slots
from store.db import SessionMaker, transaction
from store.models import Contact, Message, User

MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)
# How many windows ahead to look before giving up; a day of minutes, or ~3 years of days.
HORIZON = 1440


@dataclass(frozen=True)
class Limit:
    scope: str
    most: int
    window: timedelta
    description: str

    def window_of(self, moment: datetime) -> datetime:
        utc = moment.astimezone(UTC)
        if self.window == DAY:
            return utc.replace(hour=0, minute=0, second=0, microsecond=0)
        return utc.replace(second=0, microsecond=0)


class _Taken(Exception):
    """Another message took the last place in a window between the look and the grab."""

    def __init__(self, limit: Limit) -> None:
        self.limit = limit


class SendingActivities:
    def __init__(self, sessionmaker: SessionMaker, global_limits: dict[str, int]) -> None:
        self._sessionmaker = sessionmaker
        self._global_limits = global_limits

    async def reserve(self, request: ReserveInput, message: Message | None = None) -> Reservation:
        """The time this message may be sent, fixed on the first call for its effect key; given
        the message when the caller has just recorded it."""
        if message is not None and not self.restrained(
            request.channel, request.sending, sent_by=message.sent_by, to_contact=message.to_contact
        ):
            return Reservation(send_at=request.now)
        key = request.ref.effect_key
        async with transaction(self._sessionmaker) as session:
            kept = await send_slots.reservation(session, key)
            if kept is not None:
                return Reservation(send_at=kept.send_at, reason=kept.reason)
            if message is None:
                message = await session.get(Message, uuid.UUID(request.message_id))
            if message is None:
                raise ApplicationError(f"message {request.message_id} is gone", non_retryable=True)
            send_at, reason = await self._place(session, request, message)
            await send_slots.keep_reservation(session, key, message.enrollment_id, send_at, reason)
        return Reservation(send_at=send_at, reason=reason)

    def restrained(
        self, channel: Channel, sending: Sending, *, sent_by: object, to_contact: bool
    ) -> bool:
        """Whether any limit or quiet hours apply: without, the message goes now, no slot kept."""
        return bool(
            channel in self._global_limits
            or channel in sending.rate_limits
            or sent_by
            or (sending.quiet_hours and to_contact)
        )

    async def _place(
        self, session: AsyncSession, request: ReserveInput, message: Message
    ) -> tuple[datetime, str | None]:
        limits = await self._limits(session, request, message)
        at, reason = await self._after_quiet_hours(session, request, message, request.now)
        for _ in range(HORIZON):
            moved = False
            for limit in limits:
                free = await _first_free_window(session, limit, at)
                if free > limit.window_of(at):
                    at, reason, moved = free, limit.description, True
            if moved:
                at, quiet = await self._after_quiet_hours(session, request, message, at)
                reason = quiet or reason
                continue
            try:
                async with session.begin_nested():
                    for limit in limits:
                        await _take(session, limit, at)
            except _Taken as taken:
                at, reason = taken.limit.window_of(at) + taken.limit.window, taken.limit.description
                continue
            return at, (reason if at > request.now else None)
        raise ApplicationError(
            f"no place to send within {HORIZON} windows of its limits; raise the limits",
            non_retryable=True,
        )

    async def _limits(
        self, session: AsyncSession, request: ReserveInput, message: Message
    ) -> list[Limit]:
        channel = request.channel.value
        limits = []
        if channel in self._global_limits:
            most = self._global_limits[channel]
            limits.append(
                Limit(f"all:{channel}", most, MINUTE, f"the {channel} limit of {most} a minute")
            )
        if request.channel in request.sending.rate_limits:
            most = request.sending.rate_limits[request.channel]
            limits.append(
                Limit(
                    f"sequence:{request.sequence_id}:{channel}",
                    most,
                    MINUTE,
                    f"the sequence's {channel} limit of {most} a minute",
                )
            )
        user = await session.get(User, message.sent_by) if message.sent_by else None
        if user is not None and user.daily_send_cap is not None:
            limits.append(
                Limit(
                    f"user:{user.id}",
                    user.daily_send_cap,
                    DAY,
                    f"{user.email}'s daily cap of {user.daily_send_cap} messages",
                )
            )
        return limits

    async def _after_quiet_hours(
        self, session: AsyncSession, request: ReserveInput, message: Message, at: datetime
    ) -> tuple[datetime, str | None]:
        quiet = request.sending.quiet_hours
        # Quiet hours protect contacts; notifications to staff go at once.
        if quiet is None or not message.to_contact:
            return at, None
        contact = await session.get(Contact, message.contact_id)
        zone = schedule.resolve_timezone(contact.timezone if contact else None, request.timezone)
        opened = quiet.next_open(at.astimezone(zone))
        if opened <= at:
            return at, None
        return opened, f"quiet hours in {zone.key} until {opened.strftime('%H:%M')}"


async def _first_free_window(session: AsyncSession, limit: Limit, at: datetime) -> datetime:
    """The first window from `at`'s on that still has room."""
    window = limit.window_of(at)
    full = await send_slots.full_windows(session, limit.scope, window, limit.most, HORIZON)
    for taken in full:
        if taken != window:
            break
        window += limit.window
    return window


async def _take(session: AsyncSession, limit: Limit, at: datetime) -> None:
    if not await send_slots.take_slot(session, limit.scope, limit.window_of(at), limit.most):
        raise _Taken(limit)
