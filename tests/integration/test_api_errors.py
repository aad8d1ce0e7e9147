"""Bad input and wrong states get 4xx answers that say what to fix."""

import uuid

import httpx
from sqlalchemy import select
from sqlmodel import col

from store.db import SessionMaker
from store.models import Role, SequenceVersion
from tests.integration.conftest import make_user_key
from tests.integration.helpers import new_contact, published_sequence, welcome_series

MISSING = "00000000-0000-0000-0000-000000000000"


async def test_health_is_open(api: httpx.AsyncClient) -> None:
    response = await api.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "temporal": True}


async def test_missing_and_wrong_keys_are_401(api: httpx.AsyncClient) -> None:
    missing = await api.get("/contacts")
    assert missing.status_code == 401
    assert missing.json()["detail"] == "missing API key: send `Authorization: Bearer <key>`"
    assert missing.headers["www-authenticate"] == "Bearer"

    wrong = await api.get("/contacts", headers={"Authorization": "Bearer csk_not-a-key"})
    assert wrong.status_code == 401
    assert wrong.json()["detail"] == "invalid or revoked API key"


async def test_reps_cannot_design_sequences(
    api: httpx.AsyncClient, sessionmaker: SessionMaker
) -> None:
    key = await make_user_key(sessionmaker, Role.rep)
    response = await api.post(
        "/sequences",
        json={"name": "x", "definition": welcome_series()},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 403
    assert response.json()["detail"] == "this action needs one of the roles: admin, manager"


async def test_unknown_ids_are_404(admin: httpx.AsyncClient) -> None:
    for path, kind in [
        (f"/contacts/{MISSING}", "contact"),
        (f"/contacts/{MISSING}/enrollments", "contact"),
        (f"/sequences/{MISSING}", "sequence"),
        (f"/enrollments/{MISSING}", "enrollment"),
    ]:
        response = await admin.get(path)
        assert response.status_code == 404, path
        assert response.json()["detail"] == f"{kind} {MISSING} not found"
    for path in (f"/sequences/{MISSING}/publish", f"/enrollments/{MISSING}/stop"):
        assert (await admin.post(path)).status_code == 404, path

    sequence_id = await published_sequence(admin, welcome_series())
    unknown_contact = await admin.post(
        f"/sequences/{sequence_id}/enrollments", json={"contact_id": MISSING}
    )
    assert unknown_contact.status_code == 404
    assert unknown_contact.json()["detail"] == f"contact {MISSING} not found"
    assert (await admin.get(f"/sequences/{sequence_id}/versions/9")).json()["detail"] == (
        f"sequence {sequence_id} has no version 9"
    )


async def test_malformed_ids_and_bodies_are_422(admin: httpx.AsyncClient) -> None:
    bad_id = await admin.get("/contacts/not-a-uuid")
    assert bad_id.status_code == 422
    assert bad_id.json()["errors"][0]["loc"] == ["path", "contact_id"]

    bad_contact = await admin.post("/contacts", json={"email": "nope", "timezone": "Mars/Olympus"})
    assert bad_contact.status_code == 422
    problems = {tuple(d["loc"]): d["msg"] for d in bad_contact.json()["errors"]}
    assert "email" in problems[("body", "email")]
    assert "unknown timezone 'Mars/Olympus'" in problems[("body", "timezone")]

    both = await admin.post(f"/sequences/{MISSING}/enrollments", json={})
    assert both.status_code == 422
    assert "give exactly one of contact_id, contact_ids or filter" in both.text


async def test_invalid_sequence_names_step_and_field(admin: httpx.AsyncClient) -> None:
    definition = welcome_series()
    definition["tracks"][0]["steps"][1]["subject"] = "Hi {{ contact.nickname }}"
    definition["tracks"][0]["steps"][0]["duration"] = "PT0S"
    response = await admin.post("/sequences", json={"name": "Broken", "definition": definition})
    assert response.status_code == 422
    body = response.json()
    assert body["detail"].startswith("invalid sequence: ")
    assert {(e["where"], e["field"]) for e in body["errors"]} == {
        ("step 'wait' (tracks[0].steps[0])", "duration"),
        ("step 'welcome' (tracks[0].steps[1])", "subject"),
    }
    assert any("contact.nickname" in e["message"] for e in body["errors"])


async def test_state_conflicts_are_409(
    admin: httpx.AsyncClient, sessionmaker: SessionMaker
) -> None:
    created = await admin.post("/sequences", json={"name": "Draft", "definition": welcome_series()})
    sequence_id = created.json()["id"]
    contact_id = await new_contact(admin)

    unpublished = await admin.post(
        f"/sequences/{sequence_id}/enrollments", json={"contact_id": contact_id}
    )
    assert unpublished.status_code == 409
    assert unpublished.json()["detail"] == (
        f"sequence {sequence_id} is not published; publish it before enrolling contacts"
    )

    assert (await admin.post(f"/sequences/{sequence_id}/publish")).status_code == 201
    unchanged = await admin.post(f"/sequences/{sequence_id}/publish")
    assert unchanged.status_code == 409
    assert unchanged.json()["detail"] == "the draft has not changed since version 1; edit it first"


async def test_published_versions_are_immutable(
    admin: httpx.AsyncClient, sessionmaker: SessionMaker
) -> None:
    sequence_id = await published_sequence(admin, welcome_series("PT1M"))
    edited = await admin.put(
        f"/sequences/{sequence_id}", json={"name": "Welcome", "definition": welcome_series("PT2M")}
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["definition"]["tracks"][0]["steps"][0]["duration"] == "PT2M"

    version_one = (await admin.get(f"/sequences/{sequence_id}/versions/1")).json()
    assert version_one["definition"]["tracks"][0]["steps"][0]["duration"] == "PT1M"
    second = await admin.post(f"/sequences/{sequence_id}/publish")
    assert second.json()["version"] == 2
    async with sessionmaker() as session:
        versions = (
            await session.scalars(
                select(col(SequenceVersion.version)).where(
                    col(SequenceVersion.sequence_id) == uuid.UUID(sequence_id)
                )
            )
        ).all()
    assert sorted(versions) == [1, 2]
    listed = (await admin.get(f"/sequences/{sequence_id}")).json()
    assert [v["version"] for v in listed["versions"]] == [1, 2]
    assert listed["latest_version"] == 2


async def test_docs_work_without_a_cdn(api: httpx.AsyncClient) -> None:
    page = await api.get("/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower()
    assert (await api.get("/docs/assets/swagger-ui-bundle.js")).status_code == 200
    assert (await api.get("/openapi.json")).json()["info"]["title"] == "Campaign sequences"
