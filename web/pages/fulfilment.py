"""Fulfilment lists for those who post letters and send kits: what waits, the list as a file,
and each entry marked sent."""

import uuid

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from api.deps import SessionDep
from api.services import fulfilment_lists
from store import fulfillment
from web.auth import DesignerForm, DesignerPage
from web.templating import PageRoute, page

router = APIRouter(prefix="/app", route_class=PageRoute, include_in_schema=False)


@router.get("/fulfillment")
async def lists_page(request: Request, session: SessionDep, signed: DesignerPage) -> Response:
    found = await fulfillment.lists_with_counts(session)
    return page(request, "fulfilment_lists.html", signed=signed, lists=found)


@router.get("/fulfillment/{list_id}")
async def list_page(
    list_id: uuid.UUID, request: Request, session: SessionDep, signed: DesignerPage
) -> Response:
    found = await fulfilment_lists.list_or_404(session, list_id)
    entries = await fulfillment.entries(session, list_id)
    # What still waits first, oldest first; then what was sent.
    ordered = sorted(entries, key=lambda row: row[0].fulfilled_at is not None)
    return page(request, "fulfilment_list.html", signed=signed, found=found, entries=ordered)


@router.get("/fulfillment/{list_id}/export")
async def export(list_id: uuid.UUID, session: SessionDep, _: DesignerPage) -> Response:
    filename, text = await fulfilment_lists.as_csv(session, list_id)
    return Response(
        text,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.post("/fulfillment/{list_id}/entries/{entry_id}/fulfill")
async def fulfill(
    list_id: uuid.UUID, entry_id: uuid.UUID, session: SessionDep, _: DesignerForm
) -> Response:
    await fulfilment_lists.fulfill(session, list_id, entry_id)
    return RedirectResponse(f"/app/fulfillment/{list_id}", status_code=303)
