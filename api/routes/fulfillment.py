import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from api.deps import Operator, SessionDep
from api.errors import problems
from api.services import fulfilment_lists
from store import fulfillment

router = APIRouter(
    prefix="/fulfillment-lists", tags=["fulfillment"], responses=problems(401, 403, 404, 409, 422)
)


@router.get("")
async def list_lists(session: SessionDep, _: Operator) -> list[dict[str, Any]]:
    """Every fulfilment list, with how many entries it has and how many still wait."""
    return [
        {"id": str(lst.id), "name": lst.name, "entries": total, "waiting": waiting}
        for lst, total, waiting in await fulfillment.lists_with_counts(session)
    ]


@router.get(
    "/{list_id}/export",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "One row per entry"}},
)
async def export_list(list_id: uuid.UUID, session: SessionDep, _: Operator) -> Response:
    """The list as CSV: one row per entry, with the mailing address as it was when added."""
    filename, text = await fulfilment_lists.as_csv(session, list_id)
    return Response(
        text,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.post("/{list_id}/entries/{entry_id}/fulfill")
async def fulfill(
    list_id: uuid.UUID, entry_id: uuid.UUID, session: SessionDep, _: Operator
) -> dict[str, str]:
    """Mark an entry as sent."""
    fulfilled = await fulfilment_lists.fulfill(session, list_id, entry_id)
    return {"entry_id": str(entry_id), "fulfilled_at": fulfilled.isoformat()}
