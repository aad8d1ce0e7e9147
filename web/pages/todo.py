"""A person's To-Do list: calls, tasks and manual emails, with a result to pick for each."""

import uuid
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from api.deps import SessionDep, TemporalDep
from api.services import todo
from store.models import Contact, Sequence, Task, utcnow
from web.auth import SignedForm, SignedIn
from web.templating import PageRoute, page

router = APIRouter(prefix="/app", route_class=PageRoute, include_in_schema=False)

# More than a person works through in a day; the rest wait for the next page of work.
SHOWN = 200


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
    """Overdue (due before now), today (by the end of the UTC day), and upcoming or undated."""
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


@router.get("/todo")
async def todo_page(request: Request, session: SessionDep, signed: SignedIn) -> Response:
    rows = await todo.open_todo(session, signed.user, limit=SHOWN)
    now = utcnow()
    return page(
        request,
        "todo.html",
        signed=signed,
        day=by_when([Item(*row) for row in rows], now),
        now=now,
    )


@router.post("/tasks/{task_id}/outcome")
async def record_outcome(
    task_id: uuid.UUID,
    session: SessionDep,
    temporal: TemporalDep,
    signed: SignedForm,
    result: Annotated[str, Form(min_length=1, max_length=50)],
    notes: Annotated[str, Form(max_length=10_000)] = "",
) -> Response:
    await todo.complete(session, temporal, signed.user, task_id, result=result, notes=notes)
    return RedirectResponse("/app/todo", status_code=303)
