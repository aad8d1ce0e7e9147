"""Designers share a sequence with reps, who may then enroll contacts into it, and archive it."""

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from api.deps import SessionDep
from api.services import drafts, sharing
from store import sequences, users
from store.models import Role
from web.auth import DesignerForm, DesignerPage
from web.pages.sequences import sequence_or_404
from web.templating import PageRoute, page

router = APIRouter(prefix="/app", route_class=PageRoute, include_in_schema=False)


@router.get("/sequences/{sequence_id}/sharing")
async def sharing_page(
    sequence_id: uuid.UUID, request: Request, session: SessionDep, signed: DesignerPage
) -> Response:
    sequence = await sequence_or_404(session, sequence_id)
    shared = set(await sequences.shared_with(session, sequence.id))
    reps = [user for user in await users.list_users(session) if user.role == Role.rep]
    return page(
        request,
        "sharing.html",
        signed=signed,
        sequence=sequence,
        shared=[rep for rep in reps if rep.id in shared],
        others=[rep for rep in reps if rep.id not in shared],
    )


@router.post("/sequences/{sequence_id}/sharing")
async def change_sharing(
    sequence_id: uuid.UUID,
    session: SessionDep,
    _: DesignerForm,
    action: Annotated[Literal["share", "unshare"], Form()],
    user_id: Annotated[uuid.UUID, Form()],
) -> Response:
    await sequence_or_404(session, sequence_id)
    if action == "share":
        await sharing.share(session, sequence_id, user_id)
    else:
        await sharing.unshare(session, sequence_id, user_id)
    return RedirectResponse(f"/app/sequences/{sequence_id}/sharing", status_code=303)


@router.post("/sequences/{sequence_id}/archive")
async def archive(sequence_id: uuid.UUID, session: SessionDep, _: DesignerForm) -> Response:
    await drafts.archive(session, await sequence_or_404(session, sequence_id, for_update=True))
    return RedirectResponse(f"/app/sequences/{sequence_id}", status_code=303)
