"""A person's To-Do list: calls, tasks and manual emails, with a result to pick for each."""

import uuid
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse

from api.deps import SessionDep, TemporalDep
from api.roles import PEOPLE
from api.services import todo
from store import contact_cards, users
from store.models import Contact, Sequence, Task, utcnow
from web.auth import SignedForm, SignedIn
from web.templating import PageRoute, page, zone_of

router = APIRouter(prefix="/app", route_class=PageRoute, include_in_schema=False)

# A day's work or so; the rest are on the next pages, soonest due first.
SHOWN = 50


@dataclass(frozen=True)
class Item:
    task: Task
    contact: Contact
    sequence: Sequence | None


@dataclass
class Day:
    overdue: list[Item] = field(default_factory=list)
    today: list[Item] = field(default_factory=list)
    upcoming: list[Item] = field(default_factory=list)


def by_when(items: list[Item], now: datetime) -> Day:
    """Overdue (due before now), today (by the end of the day where `now` is, the person's
    timezone), and upcoming or undated."""
    end_of_today = datetime.combine(now.date() + timedelta(days=1), time(), now.tzinfo)
    day = Day()
    for item in items:
        due = item.task.due_at
        if due is not None and due < now:
            day.overdue.append(item)
        elif due is not None and due < end_of_today:
            day.today.append(item)
        else:
            day.upcoming.append(item)
    return day


# Snoozing puts a to-do off by one of these, from now.
SNOOZES = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(days=7)}


@router.get("/todo")
async def todo_page(
    request: Request,
    session: SessionDep,
    signed: SignedIn,
    everyone: Annotated[bool, Query(description="Managers and admins: all of it.")] = False,
    page_number: Annotated[int, Query(alias="page", ge=1, le=10_000)] = 1,
) -> Response:
    user = signed.user
    rows = await todo.open_todo(
        session, user, everyone=everyone, limit=SHOWN + 1, offset=(page_number - 1) * SHOWN
    )
    more, rows = len(rows) > SHOWN, rows[:SHOWN]
    supervises = user.role in todo.SUPERVISORS
    # Only those who hand to-dos on, or see everyone's, need the people by name.
    colleagues = (
        [u for u in await users.list_users(session) if u.role in PEOPLE] if supervises else []
    )
    now = utcnow().astimezone(zone_of(user))
    return page(
        request,
        "todo.html",
        signed=signed,
        cards=await contact_cards.cards(session, [contact.id for _, contact, _ in rows]),
        day=by_when([Item(*row) for row in rows], now),
        everyone=everyone,
        supervises=supervises,
        colleagues=colleagues,
        names={u.id: u.name or u.email for u in colleagues},
        snoozes=list(SNOOZES),
        zone=now.tzinfo,
        page_number=page_number,
        more=more,
    )


def _back(everyone: bool) -> Response:
    return RedirectResponse("/app/todo?everyone=true" if everyone else "/app/todo", status_code=303)


@router.post("/tasks/{task_id}/outcome")
async def record_outcome(
    task_id: uuid.UUID,
    session: SessionDep,
    temporal: TemporalDep,
    signed: SignedForm,
    result: Annotated[str, Form(min_length=1, max_length=50)],
    notes: Annotated[str, Form(max_length=10_000)] = "",
    everyone: Annotated[bool, Form()] = False,
) -> Response:
    await todo.complete(session, temporal, signed.user, task_id, result=result, notes=notes)
    return _back(everyone)


@router.post("/tasks/{task_id}/skip")
async def skip(
    task_id: uuid.UUID,
    session: SessionDep,
    temporal: TemporalDep,
    signed: SignedForm,
    notes: Annotated[str, Form(max_length=10_000)] = "",
    everyone: Annotated[bool, Form()] = False,
) -> Response:
    await todo.skip(session, temporal, signed.user, task_id, notes=notes)
    return _back(everyone)


@router.post("/tasks/{task_id}/snooze")
async def snooze(
    task_id: uuid.UUID,
    session: SessionDep,
    signed: SignedForm,
    by: Annotated[Literal["hour", "day", "week"], Form()],
    everyone: Annotated[bool, Form()] = False,
) -> Response:
    await todo.snooze(session, signed.user, task_id, utcnow() + SNOOZES[by])
    return _back(everyone)


@router.post("/tasks/{task_id}/reschedule")
async def reschedule(
    task_id: uuid.UUID,
    session: SessionDep,
    signed: SignedForm,
    due_at: Annotated[datetime, Form(description="A date and time in the person's timezone.")],
    everyone: Annotated[bool, Form()] = False,
) -> Response:
    # A browser's date-time field has no timezone: the page names the person's.
    due = due_at if due_at.tzinfo else due_at.replace(tzinfo=zone_of(signed.user))
    await todo.reschedule(session, signed.user, task_id, due)
    return _back(everyone)


@router.post("/tasks/{task_id}/reassign")
async def reassign(
    task_id: uuid.UUID,
    session: SessionDep,
    signed: SignedForm,
    user_id: Annotated[uuid.UUID, Form()],
    everyone: Annotated[bool, Form()] = False,
) -> Response:
    await todo.reassign(session, signed.user, task_id, user_id)
    return _back(everyone)
