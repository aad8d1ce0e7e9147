"""When timer steps fire: pure functions of an explicit `now`, timer settings and contact data.

They run inside a Temporal local activity and may be replayed, so nothing here reads the clock,
draws random numbers or depends on the host's timezone; every result is an aware UTC datetime.
"""

from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ONE_DAY = timedelta(days=1)


class DayRule(StrEnum):
    any = "any"
    weekdays = "weekdays"  # Mon-Fri
    business_days = "business_days"  # Mon-Fri and not in the holiday list


@dataclass(frozen=True)
class Window:
    """Local wall times; end <= start is an overnight window, so start == end spans the whole day."""

    start: time
    end: time

    def contains(self, wall: time) -> bool:
        if self.start < self.end:
            return self.start <= wall < self.end
        return wall >= self.start or wall < self.end


def resolve_timezone(
    contact_tz: str | None, sequence_tz: str | None, default: str = "UTC"
) -> ZoneInfo:
    """Contact's timezone, else the sequence's, else default; an unknown/invalid name falls through to the next."""
    for name in (contact_tz, sequence_tz, default):
        if not name:
            continue
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            # Contact data is free text from CRMs; a bad name must not stall the enrollment.
            continue
    return ZoneInfo("UTC")


def _utc(now: datetime) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(UTC)


def _local_to_utc(day: date, wall: time, tz: ZoneInfo) -> datetime:
    """A local date and wall time in tz as UTC: a gap resolves to its end, a repeat to its first pass."""
    if wall.tzinfo is not None:
        raise ValueError("local wall times must be naive")
    naive = datetime.combine(day, wall.replace(fold=0))
    first = naive.replace(tzinfo=tz).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == naive:
        return first
    # In a gap, fold=0 and fold=1 map to instants on either side of the transition (PEP 495); the
    # transition itself is the first valid instant after the gap, so bisect for it rather than
    # assume every zone shifts by exactly an hour on the hour.
    second = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    lo, hi = min(first, second), max(first, second)
    before = lo.astimezone(tz).utcoffset()
    while hi - lo > timedelta(microseconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(tz).utcoffset() == before:
            lo = mid
        else:
            hi = mid
    return hi


def _is_allowed(day: date, days: DayRule, holidays: frozenset[date]) -> bool:
    if days == DayRule.any:
        return True
    if day.weekday() >= 5:
        return False
    return days == DayRule.weekdays or day not in holidays


def _next_allowed(day: date, days: DayRule, holidays: frozenset[date]) -> date:
    """The first allowed date after `day`; terminates because the holiday list is finite."""
    day += ONE_DAY
    while not _is_allowed(day, days, holidays):
        day += ONE_DAY
    return day


def _next_at(instant: datetime, at: time, tz: ZoneInfo) -> datetime:
    local = instant.astimezone(tz)
    due = _local_to_utc(local.date(), at, tz)
    return due if due >= instant else _local_to_utc(local.date() + ONE_DAY, at, tz)


def _into_window(instant: datetime, window: Window, tz: ZoneInfo) -> datetime:
    # Loops only when a window start falls in a DST gap and resolves past the window's end.
    while not window.contains((local := instant.astimezone(tz)).time()):
        day = local.date() if local.time() < window.start else local.date() + ONE_DAY
        instant = _local_to_utc(day, window.start, tz)
    return instant


def _add_business_days(
    now: datetime, count: int, tz: ZoneInfo, holidays: frozenset[date]
) -> datetime:
    local = now.astimezone(tz)
    day = local.date()
    for _ in range(count):
        day = _next_allowed(day, DayRule.business_days, holidays)
    return _local_to_utc(day, local.time(), tz) if count else now


def delay_due(
    now: datetime,
    duration: timedelta,
    tz: ZoneInfo,
    *,
    at: time | None = None,
    window: Window | None = None,
    days: DayRule = DayRule.any,
    holidays: frozenset[date] = frozenset(),
) -> datetime:
    """When a delay step fires: duration, then `at` or `window`, then the allowed days."""
    if at is not None and window is not None:
        raise ValueError("give a time of day or a window, not both")
    if duration < timedelta(0):
        raise ValueError("a delay cannot be negative")
    start = _utc(now)
    whole_days, remainder = divmod(duration, ONE_DAY)

    if days == DayRule.business_days:
        due = _add_business_days(start, whole_days, tz, holidays) + remainder
    elif remainder or not whole_days:
        due = start + duration
    else:
        # A marketer's "1 day" means the same wall-clock time tomorrow, even across DST.
        local = start.astimezone(tz)
        due = _local_to_utc(local.date() + timedelta(days=whole_days), local.time(), tz)

    if at is not None:
        due = _next_at(due, at, tz)
    if window is not None:
        due = _into_window(due, window, tz)

    while not _is_allowed((local := due.astimezone(tz)).date(), days, holidays):
        # Keep the intended wall time, not one a DST gap may have shifted, when moving days.
        wall = window.start if window is not None else at if at is not None else local.time()
        due = _local_to_utc(_next_allowed(local.date(), days, holidays), wall, tz)
        if window is not None:
            due = _into_window(due, window, tz)
    return due


def date_due(now: datetime, on: date, at: time, tz: ZoneInfo) -> datetime:
    """A calendar date and local time in tz, as UTC; whether a past date runs is the caller's call."""
    _utc(now)
    return _local_to_utc(on, at, tz)


def is_past(now: datetime, due: datetime) -> bool:
    """Strictly before now: a timer due exactly now still runs."""
    return _utc(due) < _utc(now)


def _anniversary(value: date, year: int) -> date:
    if value.month == 2 and value.day == 29:
        try:
            return date(year, 2, 29)
        except ValueError:
            return date(year, 2, 28)
    return value.replace(year=year)


def field_due(
    now: datetime,
    field_value: date,
    tz: ZoneInfo,
    *,
    offset_days: int = 0,
    at: time = time(9, 0),
    yearly: bool = False,
) -> datetime | None:
    """A contact date-field timer (birthday, anniversary) at local `at` on field_value + offset_days.

    Once: that instant, or None if already past. Yearly: the first occurrence on or after now.
    """
    start = _utc(now)
    offset = timedelta(days=offset_days)
    if not yearly:
        due = _local_to_utc(field_value + offset, at, tz)
        return None if is_past(start, due) else due

    # An offset can push an anniversary into a neighbouring year (Jan 2 - 7 days is Dec 26), so
    # scan every year whose shifted occurrence could be the next one, not just this year's.
    this_year = start.astimezone(tz).year
    span = abs(offset_days) // 365 + 2
    for year in range(max(MINYEAR, this_year - span), min(MAXYEAR, this_year + span) + 1):
        due = _local_to_utc(_anniversary(field_value, year) + offset, at, tz)
        if due >= start:
            return due
    return None


def event_due(
    now: datetime, event_on: date, tz: ZoneInfo, *, offset_days: int, at: time = time(9, 0)
) -> datetime:
    """offset_days before (negative) or after (positive) an enrollment's event date, at local `at`.

    A result in the past is returned as is: like date_due, the caller decides via is_past.
    """
    _utc(now)
    return _local_to_utc(event_on + timedelta(days=offset_days), at, tz)
