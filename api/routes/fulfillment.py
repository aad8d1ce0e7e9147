import csv
import io
import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from api.deps import Operator, SessionDep
from api.errors import Conflict, NotFound, problems
from store import fulfillment
from store.models import FulfillmentEntry, FulfillmentList, utcnow

router = APIRouter(
    prefix="/fulfillment-lists", tags=["fulfillment"], responses=problems(401, 403, 404, 409, 422)
)

COLUMNS = [
    "entry_id", "contact_id", "name", "email",
    "line1", "line2", "city", "region", "postal_code", "country",
    "item", "letter", "added_at", "fulfilled_at",
]  # fmt: skip


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
    found = await session.get(FulfillmentList, list_id)
    if found is None:
        raise NotFound.of("fulfillment list", list_id)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    for entry, contact, letter in await fulfillment.entries(session, list_id):
        writer.writerow(
            {
                "entry_id": entry.id,
                "contact_id": contact.id,
                "name": contact.display_name,
                "email": contact.email or "",
                **{k: entry.mailing_address.get(k, "") for k in COLUMNS[4:10]},
                "item": entry.item,
                "letter": letter,
                "added_at": entry.created_at.isoformat(),
                "fulfilled_at": entry.fulfilled_at.isoformat() if entry.fulfilled_at else "",
            }
        )
    filename = f"{found.name}.csv".replace('"', "")
    return Response(
        out.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.post("/{list_id}/entries/{entry_id}/fulfill")
async def fulfill(
    list_id: uuid.UUID, entry_id: uuid.UUID, session: SessionDep, _: Operator
) -> dict[str, str]:
    """Mark an entry as sent."""
    entry = await session.get(FulfillmentEntry, entry_id, with_for_update=True)
    if entry is None or entry.list_id != list_id:
        raise NotFound(f"fulfillment list {list_id} has no entry {entry_id}")
    if entry.fulfilled_at is not None:
        raise Conflict(f"entry {entry_id} was fulfilled at {entry.fulfilled_at.isoformat()}")
    entry.fulfilled_at = utcnow()
    await fulfillment.mark_letter_sent(session, entry)
    await session.flush()
    return {"entry_id": str(entry.id), "fulfilled_at": entry.fulfilled_at.isoformat()}
