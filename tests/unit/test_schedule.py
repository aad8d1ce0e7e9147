"""Timer due times: fixed clocks only, exact instants, DST edges in America/New_York (2026).

2026-03-08 02:00 EST jumps to 03:00 EDT; 2026-11-01 02:00 EDT falls back to 01:00 EST.
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from sequences.schedule import (
    DayRule,
    Window,
    date_due,
    delay_due,
    event_due,
    field_due,
    is_past,
    resolve_timezone,
)

NY = ZoneInfo("America/New_York")
PARIS = ZoneInfo("Europe/Paris")
LONDON = ZoneInfo("Europe/London")
TOKYO = ZoneInfo("Asia/Tokyo")
UTC_ZONE = ZoneInfo("UTC")

OFFICE = Window(time(9), time(17))
NIGHT = Window(time(22), time(6))
HOLIDAYS = frozenset({date(2026, 5, 11)})  # Monday


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def assert_at(result: datetime | None, expected: datetime) -> None:
    assert result is not None
    # UTC as the zone itself, not merely an equal instant in some other zone.
    assert result.tzinfo is UTC
    assert result == expected


# --- timezone resolution ---


@pytest.mark.parametrize(
    ("contact", "sequence", "default", "expected"),
    [
        ("Europe/Paris", "America/New_York", "UTC", "Europe/Paris"),
        (None, "America/New_York", "UTC", "America/New_York"),
        ("Not/AZone", "America/New_York", "UTC", "America/New_York"),
        ("", None, "Asia/Tokyo", "Asia/Tokyo"),
        ("../../etc/passwd", "Mars/Olympus", "Asia/Tokyo", "Asia/Tokyo"),
        (None, None, "UTC", "UTC"),
        ("bad zone", None, "Nowhere/Land", "UTC"),
    ],
)
def test_resolve_timezone_falls_through(
    contact: str | None, sequence: str | None, default: str, expected: str
) -> None:
    assert resolve_timezone(contact, sequence, default).key == expected


# --- plain delays ---


@pytest.mark.parametrize(
    ("duration", "expected"),
    [
        (timedelta(minutes=30), utc(2026, 5, 5, 14, 30)),
        (timedelta(hours=5), utc(2026, 5, 5, 19)),
        (timedelta(weeks=2), utc(2026, 5, 19, 14)),
        (timedelta(days=1, hours=2, minutes=15), utc(2026, 5, 6, 16, 15)),
    ],
)
def test_plain_delay(duration: timedelta, expected: datetime) -> None:
    assert_at(delay_due(utc(2026, 5, 5, 14), duration, NY), expected)


def test_whole_day_delay_keeps_wall_time_across_spring_forward() -> None:
    saturday_9am_est = utc(2026, 3, 7, 14)
    assert_at(delay_due(saturday_9am_est, timedelta(days=1), NY), utc(2026, 3, 8, 13))
    assert_at(delay_due(utc(2026, 3, 6, 14), timedelta(days=3), NY), utc(2026, 3, 9, 13))


def test_whole_day_delay_keeps_wall_time_across_fall_back() -> None:
    saturday_9am_edt = utc(2026, 10, 31, 13)
    assert_at(delay_due(saturday_9am_edt, timedelta(days=1), NY), utc(2026, 11, 1, 14))


def test_pt24h_is_indistinguishable_from_p1d() -> None:
    # Pydantic parses both into the same timedelta, so PT24H gets the calendar-day rule too.
    assert timedelta(hours=24) == timedelta(days=1)
    assert_at(delay_due(utc(2026, 3, 7, 14), timedelta(hours=24), NY), utc(2026, 3, 8, 13))


def test_sub_day_durations_count_real_hours_across_dst() -> None:
    # 21:00 EST + 12h is 10:00 EDT, not 09:00: one hour vanished overnight.
    assert_at(delay_due(utc(2026, 3, 8, 2), timedelta(hours=12), NY), utc(2026, 3, 8, 14))
    # 21:00 EDT + 12h is 08:00 EST after fall-back.
    assert_at(delay_due(utc(2026, 11, 1, 1), timedelta(hours=12), NY), utc(2026, 11, 1, 13))
    # Not a whole number of days, so 25 real hours: 09:00 EST to 11:00 EDT.
    assert_at(delay_due(utc(2026, 3, 7, 14), timedelta(hours=25), NY), utc(2026, 3, 8, 15))


# --- time of day ---


def test_at_later_today() -> None:
    eight_am_edt = utc(2026, 5, 5, 12)
    result = delay_due(eight_am_edt, timedelta(minutes=30), NY, at=time(9))
    assert_at(result, utc(2026, 5, 5, 13))


def test_at_exactly_now_is_not_postponed() -> None:
    result = delay_due(utc(2026, 5, 5, 12), timedelta(hours=1), NY, at=time(9))
    assert_at(result, utc(2026, 5, 5, 13))


def test_at_already_passed_today_is_tomorrow() -> None:
    ten_am_edt = utc(2026, 5, 5, 14)
    result = delay_due(ten_am_edt, timedelta(minutes=30), NY, at=time(9))
    assert_at(result, utc(2026, 5, 6, 13))


def test_at_in_spring_forward_gap_resolves_to_gap_end() -> None:
    result = delay_due(utc(2026, 3, 7, 17), timedelta(hours=1), NY, at=time(2, 30))
    assert_at(result, utc(2026, 3, 8, 7))  # 03:00 EDT


def test_at_in_fall_back_repeat_takes_first_pass() -> None:
    result = delay_due(utc(2026, 10, 31, 16), timedelta(hours=1), NY, at=time(1, 30))
    assert_at(result, utc(2026, 11, 1, 5, 30))  # 01:30 EDT, not 01:30 EST


def test_half_hour_gap_resolves_to_gap_end() -> None:
    # Lord Howe shifts by 30 minutes: 02:00 jumps to 02:30 (+10:30 to +11:00).
    lord_howe = ZoneInfo("Australia/Lord_Howe")
    assert_at(
        date_due(utc(2026, 1, 1), date(2026, 10, 4), time(2, 15), lord_howe),
        utc(2026, 10, 3, 15, 30),
    )


# --- windows ---


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (utc(2026, 5, 5, 11), utc(2026, 5, 5, 13)),  # 08:00 EDT: before, moves to 09:00
        (utc(2026, 5, 5, 14), utc(2026, 5, 5, 15)),  # 11:00 EDT: inside, unchanged
        (utc(2026, 5, 5, 20), utc(2026, 5, 6, 13)),  # 17:00 EDT: end is exclusive
        (utc(2026, 5, 5, 22), utc(2026, 5, 6, 13)),  # 19:00 EDT: after, next morning
    ],
)
def test_same_day_window(now: datetime, expected: datetime) -> None:
    assert_at(delay_due(now, timedelta(hours=1), NY, window=OFFICE), expected)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (utc(2026, 5, 5, 23), utc(2026, 5, 5, 23, 30)),  # 23:30: inside
        (utc(2026, 5, 6, 4, 30), utc(2026, 5, 6, 5)),  # 05:00: inside
        (utc(2026, 5, 6, 11, 30), utc(2026, 5, 6, 22)),  # 12:00: outside, tonight
        (utc(2026, 5, 6, 5, 30), utc(2026, 5, 6, 22)),  # 06:00: end is exclusive
    ],
)
def test_overnight_window(now: datetime, expected: datetime) -> None:
    result = delay_due(now, timedelta(minutes=30), UTC_ZONE, window=NIGHT)
    assert_at(result, expected)


def test_at_and_window_together_are_rejected() -> None:
    with pytest.raises(ValueError, match="not both"):
        delay_due(utc(2026, 5, 5), timedelta(hours=1), NY, at=time(9), window=OFFICE)


def test_negative_delay_and_naive_now_are_rejected() -> None:
    with pytest.raises(ValueError):
        delay_due(utc(2026, 5, 5), timedelta(hours=-1), NY)
    with pytest.raises(ValueError, match="aware"):
        delay_due(datetime(2026, 5, 5), timedelta(hours=1), NY)


# --- allowed days ---


@pytest.mark.parametrize(
    ("now", "duration", "expected"),
    [
        (utc(2026, 5, 7, 14), timedelta(hours=1), utc(2026, 5, 7, 15)),  # Thursday: allowed
        (utc(2026, 5, 8, 14), timedelta(days=1), utc(2026, 5, 11, 14)),  # Friday + P1D
        (utc(2026, 5, 8, 14), timedelta(hours=1), utc(2026, 5, 8, 15)),  # Friday: allowed
        (utc(2026, 5, 9, 14), timedelta(hours=1), utc(2026, 5, 11, 15)),  # Saturday
        (utc(2026, 5, 10, 14), timedelta(hours=1), utc(2026, 5, 11, 15)),  # Sunday
    ],
)
def test_weekdays_move_to_monday_at_same_wall_time(
    now: datetime, duration: timedelta, expected: datetime
) -> None:
    result = delay_due(now, duration, NY, days=DayRule.weekdays)
    assert_at(result, expected)


def test_weekend_with_window_moves_to_window_start() -> None:
    saturday_noon_edt = utc(2026, 5, 9, 16)
    result = delay_due(
        saturday_noon_edt, timedelta(hours=1), NY, window=OFFICE, days=DayRule.weekdays
    )
    assert_at(result, utc(2026, 5, 11, 13))


def test_weekend_with_at_keeps_at() -> None:
    friday_evening_edt = utc(2026, 5, 8, 22)
    result = delay_due(
        friday_evening_edt, timedelta(hours=1), NY, at=time(8), days=DayRule.weekdays
    )
    assert_at(result, utc(2026, 5, 11, 12))


def test_business_days_skip_holidays() -> None:
    friday_10am_edt = utc(2026, 5, 8, 14)
    result = delay_due(
        friday_10am_edt, timedelta(hours=20), NY, days=DayRule.business_days, holidays=HOLIDAYS
    )
    assert_at(result, utc(2026, 5, 12, 10))  # Saturday 06:00 -> Tuesday 06:00


@pytest.mark.parametrize(
    ("duration", "holidays", "expected"),
    [
        (timedelta(days=2), frozenset[date](), utc(2026, 5, 12, 14)),  # Tuesday 10:00
        (timedelta(days=2), HOLIDAYS, utc(2026, 5, 13, 14)),  # Wednesday 10:00
        (timedelta(days=1), HOLIDAYS, utc(2026, 5, 12, 14)),  # Tuesday 10:00
        (timedelta(days=1, hours=2), frozenset[date](), utc(2026, 5, 11, 16)),  # Monday 12:00
    ],
)
def test_business_day_counting_over_weekend(
    duration: timedelta, holidays: frozenset[date], expected: datetime
) -> None:
    friday_10am_edt = utc(2026, 5, 8, 14)
    result = delay_due(friday_10am_edt, duration, NY, days=DayRule.business_days, holidays=holidays)
    assert_at(result, expected)


def test_business_days_keep_wall_time_across_dst() -> None:
    friday_9am_est = utc(2026, 3, 6, 14)
    result = delay_due(friday_9am_est, timedelta(days=1), NY, days=DayRule.business_days)
    assert_at(result, utc(2026, 3, 9, 13))  # Monday 09:00 EDT


def test_weekdays_ignore_holiday_list() -> None:
    sunday_10am_edt = utc(2026, 5, 10, 14)
    result = delay_due(
        sunday_10am_edt, timedelta(hours=1), NY, days=DayRule.weekdays, holidays=HOLIDAYS
    )
    assert_at(result, utc(2026, 5, 11, 15))


# --- calendar dates ---


def test_date_due_in_local_time() -> None:
    now = utc(2026, 5, 5)
    assert_at(date_due(now, date(2026, 7, 4), time(10), PARIS), utc(2026, 7, 4, 8))
    assert_at(date_due(now, date(2026, 12, 24), time(18), PARIS), utc(2026, 12, 24, 17))
    assert_at(date_due(now, date(2026, 3, 8), time(2, 30), NY), utc(2026, 3, 8, 7))


def test_is_past() -> None:
    now = utc(2026, 5, 5, 12)
    assert is_past(now, utc(2026, 5, 5, 11, 59))
    assert not is_past(now, now)
    assert not is_past(now, utc(2026, 5, 5, 12, 1))
    assert is_past(now.astimezone(TOKYO), date_due(now, date(2026, 5, 5), time(7), NY))


# --- contact date fields ---


def test_field_once_in_future() -> None:
    result = field_due(utc(2026, 5, 5), date(2026, 6, 1), NY)
    assert_at(result, utc(2026, 6, 1, 13))
    result = field_due(utc(2026, 5, 5), date(2026, 6, 1), NY, offset_days=-1, at=time(18))
    assert_at(result, utc(2026, 5, 31, 22))


def test_field_once_due_exactly_now_still_fires() -> None:
    assert_at(field_due(utc(2026, 6, 1, 13), date(2026, 6, 1), NY), utc(2026, 6, 1, 13))


def test_field_once_in_past_is_none() -> None:
    assert field_due(utc(2026, 7, 1), date(2026, 6, 1), NY) is None
    assert field_due(utc(2026, 6, 1, 13, 0, 1), date(2026, 6, 1), NY) is None


@pytest.mark.parametrize(
    ("now", "birthday", "at", "expected"),
    [
        (utc(2026, 5, 5, 12), date(1990, 8, 15), time(9), utc(2026, 8, 15, 13)),  # later
        (utc(2026, 5, 5, 12), date(1990, 3, 1), time(9), utc(2027, 3, 1, 14)),  # passed
        (utc(2026, 5, 5, 14), date(1990, 5, 5), time(9), utc(2027, 5, 5, 13)),  # earlier today
        (utc(2026, 5, 5, 14), date(1990, 5, 5), time(11), utc(2026, 5, 5, 15)),  # later today
        (utc(2026, 1, 10), date(2000, 2, 29), time(9), utc(2026, 2, 28, 14)),  # non-leap
        (utc(2028, 1, 10), date(2000, 2, 29), time(9), utc(2028, 2, 29, 14)),  # leap
        (utc(2027, 3, 1), date(2000, 2, 29), time(9), utc(2028, 2, 29, 14)),  # passed
    ],
)
def test_field_yearly(now: datetime, birthday: date, at: time, expected: datetime) -> None:
    assert_at(field_due(now, birthday, NY, at=at, yearly=True), expected)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (utc(2026, 12, 1), utc(2026, 12, 26, 9)),  # next year's birthday, a week early
        (utc(2026, 1, 1), utc(2026, 12, 26, 9)),  # this year's reminder was 2025-12-26
        (utc(2026, 12, 27), utc(2027, 12, 26, 9)),
        (utc(2025, 12, 26, 9), utc(2025, 12, 26, 9)),  # exactly now
    ],
)
def test_field_yearly_negative_offset_across_year_boundary(
    now: datetime, expected: datetime
) -> None:
    result = field_due(now, date(1985, 1, 2), UTC_ZONE, offset_days=-7, yearly=True)
    assert_at(result, expected)


def test_field_yearly_positive_offset() -> None:
    result = field_due(utc(2026, 5, 5), date(1990, 8, 15), NY, offset_days=3, yearly=True)
    assert_at(result, utc(2026, 8, 18, 13))
    # Last year's Dec 28 anniversary plus a week is still ahead on Jan 2.
    result = field_due(utc(2026, 1, 2), date(2010, 12, 28), UTC_ZONE, offset_days=7, yearly=True)
    assert_at(result, utc(2026, 1, 4, 9))


def test_field_yearly_uses_local_year() -> None:
    # 23:00 on Dec 31 in New York is already Jan 1 in UTC; New Year's Eve 09:00 has passed.
    result = field_due(utc(2027, 1, 1, 4), date(1990, 12, 31), NY, yearly=True)
    assert_at(result, utc(2027, 12, 31, 14))


# --- event dates ---


def test_event_before_and_after() -> None:
    now = utc(2026, 5, 5)
    event = date(2026, 6, 10)
    assert_at(event_due(now, event, LONDON, offset_days=-3), utc(2026, 6, 7, 8))
    assert_at(
        event_due(now, event, LONDON, offset_days=2, at=time(17, 30)), utc(2026, 6, 12, 16, 30)
    )
    assert_at(event_due(now, event, LONDON, offset_days=0), utc(2026, 6, 10, 8))


def test_event_in_past_is_returned_for_the_caller_to_judge() -> None:
    now = utc(2026, 7, 1)
    due = event_due(now, date(2026, 6, 10), LONDON, offset_days=1)
    assert_at(due, utc(2026, 6, 11, 8))
    assert is_past(now, due)


# --- the zone of `now` does not matter ---


@pytest.mark.parametrize(
    "instant",
    [utc(2026, 5, 8, 21, 30), utc(2026, 3, 8, 6, 45), utc(2026, 12, 31, 23, 59)],
)
def test_now_zone_does_not_change_results(instant: datetime) -> None:
    def all_results(now: datetime) -> list[datetime | None]:
        return [
            delay_due(now, timedelta(hours=3), NY),
            delay_due(now, timedelta(days=1), NY, at=time(2, 30)),
            delay_due(now, timedelta(days=2), NY, days=DayRule.business_days, holidays=HOLIDAYS),
            delay_due(now, timedelta(minutes=5), PARIS, window=NIGHT, days=DayRule.weekdays),
            date_due(now, date(2026, 6, 1), time(9), TOKYO),
            field_due(now, date(1985, 1, 2), NY, offset_days=-7, yearly=True),
            field_due(now, date(2027, 1, 1), NY),
            event_due(now, date(2026, 6, 10), NY, offset_days=-3),
        ]

    expected = all_results(instant)
    for zone in (TOKYO, NY, ZoneInfo("Pacific/Kiritimati"), ZoneInfo("Etc/GMT+12")):
        results = all_results(instant.astimezone(zone))
        assert results == expected
        for result in results:
            assert result is not None
            assert result.tzinfo is UTC
