from typing import Any

from fastapi import APIRouter
from sqlalchemy import text

from api.deps import SessionDep, TemporalDep

router = APIRouter(tags=["health"])


@router.get("/health")
async def health(session: SessionDep, temporal: TemporalDep) -> dict[str, Any]:
    """Whether the API can reach PostgreSQL and Temporal."""
    await session.execute(text("select 1"))
    temporal_ok = await temporal.service_client.check_health()
    return {
        "status": "ok" if temporal_ok else "degraded",
        "database": "ok",
        "temporal": temporal_ok,
    }
