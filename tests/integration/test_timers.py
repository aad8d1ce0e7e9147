"""Timer steps on the real server: local times in the contact's timezone, dates, contact date
fields, event dates, and what happens when a date has passed."""

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from temporalio.worker import Worker

from tests.integration.helpers import (
    declare_field,
    enroll,
    enrollment_status,
    get_json,
    new_contact,
    published_sequence,
)

TZ = "Asia/Kolkata"  # far from UTC, so a timezone mix-up shows


# Far enough ahead that enrolling on a loaded machine cannot overtake it, which would move a
# time of day to tomorrow and make the test wait in vain.
LEAD = 6


def _soon(seconds: int = LEAD) -> tuple[date, time, datetime]:
    """A local date and wall time a few seconds ahead in TZ, and that instant in UTC."""
    due = (datetime.now(UTC) + timedelta(seconds=seconds)).replace(microsecond=0)
    local = due.astimezone(ZoneInfo(TZ))
    return local.date(), local.time(), due


def _then_tag(timer: dict[str, Any]) -> dict[str, Any]:
    return {
        "tracks": [
            {"id": "main", "steps": [timer, {"id": "after", "kind": "apply_tag", "tag": "fired"}]}
        ]
    }


async def _run(admin: httpx.AsyncClient, timer: dict[str, Any], **contact: Any) -> dict[str, Any]:
    sequence_id = await published_sequence(admin, _then_tag(timer))
    contact_id = await new_contact(admin, timezone=TZ, **contact)
    return await enroll(admin, sequence_id, contact_id)


def _timer_event(done: dict[str, Any], step_id: str) -> dict[str, Any]:
    return next(e for e in done["events"] if e["step_id"] == step_id)


async def test_delay_then_at_a_local_time(admin: httpx.AsyncClient, worker: Worker) -> None:
    _, at, due = _soon()
    timer = {"id": "t", "kind": "delay", "duration": "PT1S", "at": at.isoformat()}
    enrollment = await _run(admin, timer)

    done = await enrollment_status(admin, enrollment["id"], "completed")
    fired = datetime.fromisoformat(_timer_event(done, "t")["occurred_at"])
    assert fired >= due, "fired before the local time it was set for"
    assert fired - due < timedelta(seconds=30)


async def test_delay_waits_for_a_window_to_open(admin: httpx.AsyncClient, worker: Worker) -> None:
    _, opens, due = _soon()
    closes = (datetime.combine(date.today(), opens) + timedelta(hours=1)).time()
    window = {"start": opens.isoformat(), "end": closes.isoformat()}
    enrollment = await _run(
        admin, {"id": "t", "kind": "delay", "duration": "PT1S", "window": window}
    )

    done = await enrollment_status(admin, enrollment["id"], "completed")
    assert datetime.fromisoformat(_timer_event(done, "t")["occurred_at"]) >= due


async def test_date_timer_fires_at_the_local_date_and_time(
    admin: httpx.AsyncClient, worker: Worker
) -> None:
    on, at, due = _soon()
    timer = {"id": "t", "kind": "date_timer", "on": on.isoformat(), "at": at.isoformat()}
    enrollment = await _run(admin, timer)
    done = await enrollment_status(admin, enrollment["id"], "completed")
    assert datetime.fromisoformat(_timer_event(done, "t")["occurred_at"]) >= due


async def test_a_past_date_is_skipped_or_runs_now_as_the_step_says(
    admin: httpx.AsyncClient, worker: Worker
) -> None:
    skip = {"id": "t", "kind": "date_timer", "on": "2020-01-01", "if_past": "skip"}
    done = await enrollment_status(admin, (await _run(admin, skip))["id"], "completed")
    assert _timer_event(done, "t")["detail"] == {
        "skipped": "2020-01-01 09:00:00 had already passed"
    }

    run_now = {"id": "t", "kind": "date_timer", "on": "2020-01-01"}
    done = await enrollment_status(
        admin, (await _run(admin, run_now, email="grace@example.com"))["id"], "completed"
    )
    assert _timer_event(done, "t")["detail"] == {}


async def test_field_timer_fires_on_the_contacts_date(
    admin: httpx.AsyncClient, worker: Worker
) -> None:
    await declare_field(admin, "renewal", "date")
    on, at, due = _soon()
    timer = {"id": "t", "kind": "field_timer", "field": "renewal", "at": at.isoformat()}
    enrollment = await _run(admin, timer, fields={"renewal": on.isoformat()})
    done = await enrollment_status(admin, enrollment["id"], "completed")
    assert datetime.fromisoformat(_timer_event(done, "t")["occurred_at"]) >= due
    assert _timer_event(done, "t")["detail"] == {}


async def test_field_timer_without_the_field_is_skipped_with_the_reason(
    admin: httpx.AsyncClient, worker: Worker
) -> None:
    await declare_field(admin, "renewal", "date")
    timer = {"id": "t", "kind": "field_timer", "field": "renewal"}
    enrollment = await _run(admin, timer, fields={"plan": "Gold"})
    done = await enrollment_status(admin, enrollment["id"], "completed")
    assert _timer_event(done, "t")["detail"] == {
        "skipped": "the contact has no date in field 'renewal'"
    }
    assert (await get_json(admin, f"/contacts/{enrollment['contact_id']}"))["tags"] == ["fired"]


async def test_event_timer_counts_from_the_event_date(
    admin: httpx.AsyncClient, worker: Worker
) -> None:
    on, at, due = _soon()
    timer = {"id": "t", "kind": "event_timer", "offset_days": -1, "at": at.isoformat()}
    sequence_id = await published_sequence(admin, _then_tag(timer))
    contact_id = await new_contact(admin, timezone=TZ)

    missing = await admin.post(
        f"/sequences/{sequence_id}/enrollments", json={"contact_id": contact_id}
    )
    assert missing.status_code == 422
    assert missing.json()["detail"] == (
        "event_date: this sequence has event timers, so give the date they count from"
    )

    # One day before an event tomorrow is today, a few seconds from now.
    response = await admin.post(
        f"/sequences/{sequence_id}/enrollments",
        json={"contact_id": contact_id, "event_date": (on + timedelta(days=1)).isoformat()},
    )
    assert response.status_code == 201, response.text
    done = await enrollment_status(admin, response.json()["id"], "completed")
    assert datetime.fromisoformat(_timer_event(done, "t")["occurred_at"]) >= due


async def test_an_event_timer_whose_moment_passed_runs_now_or_skips_as_chosen(
    admin: httpx.AsyncClient, worker: Worker
) -> None:
    last_week = (datetime.now(UTC) - timedelta(days=7)).date()
    for if_past, detail in (
        ("run_now", {}),
        (
            "skip",
            {"skipped": f"-1 days from the event date {last_week}, 09:00:00 had already passed"},
        ),
    ):
        timer = {"id": "t", "kind": "event_timer", "offset_days": -1, "if_past": if_past}
        sequence_id = await published_sequence(admin, _then_tag(timer))
        contact_id = await new_contact(admin, timezone=TZ, email=f"{if_past}@example.com")
        response = await admin.post(
            f"/sequences/{sequence_id}/enrollments",
            json={"contact_id": contact_id, "event_date": last_week.isoformat()},
        )
        assert response.status_code == 201, response.text
        done = await enrollment_status(admin, response.json()["id"], "completed")
        assert _timer_event(done, "t")["detail"] == detail


async def test_reentry_follows_the_sequence_setting(
    admin: httpx.AsyncClient, worker: Worker
) -> None:
    steps = [{"id": "tag", "kind": "apply_tag", "tag": "once"}]
    for reentry, second_status in (("never", 409), ("after_end", 201)):
        definition = {"settings": {"reentry": reentry}, "tracks": [{"id": "main", "steps": steps}]}
        sequence_id = await published_sequence(admin, definition)
        contact_id = await new_contact(admin, email=f"{reentry}@example.com")
        first = await enroll(admin, sequence_id, contact_id)
        await enrollment_status(admin, first["id"], "completed")

        again = await admin.post(
            f"/sequences/{sequence_id}/enrollments", json={"contact_id": contact_id}
        )
        assert again.status_code == second_status, again.text
        if reentry == "never":
            assert again.json()["detail"] == (
                f"contact {contact_id} has already been through sequence {sequence_id}, "
                "which does not allow re-entry"
            )
        else:
            assert again.json()["id"] != first["id"]
