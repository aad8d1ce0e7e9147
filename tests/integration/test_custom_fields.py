"""Declaring custom fields, and the checks that use them at design and data-entry time."""

import httpx
from temporalio.worker import Worker

from tests.integration.helpers import (
    declare_field,
    enroll,
    eventually,
    get_json,
    new_contact,
    published_sequence,
)


async def test_declaring_fields(admin: httpx.AsyncClient) -> None:
    await declare_field(admin, "birthday", "date")
    again = await admin.post("/custom-fields", json={"name": "birthday", "type": "text"})
    assert (again.status_code, again.json()["detail"]) == (
        409,
        "custom field 'birthday' already exists",
    )
    builtin = await admin.post("/custom-fields", json={"name": "email", "type": "text"})
    assert (builtin.status_code, builtin.json()["detail"]) == (
        409,
        "'email' is a built-in contact attribute",
    )
    bad = await admin.post("/custom-fields", json={"name": "x", "type": "colour"})
    assert bad.status_code == 422
    assert [f["name"] for f in await get_json(admin, "/custom-fields")] == ["birthday"]


async def test_contact_values_must_fit_declared_fields(admin: httpx.AsyncClient) -> None:
    await declare_field(admin, "birthday", "date")
    wrong = await admin.post(
        "/contacts", json={"email": "a@example.com", "fields": {"birthday": "soon"}}
    )
    assert (wrong.status_code, wrong.json()["detail"]) == (
        422,
        "fields.birthday: 'soon' is not a date",
    )
    contact_id = await new_contact(
        admin, fields={"birthday": "1990-05-17", "free_text": "anything"}
    )
    patched = await admin.patch(f"/contacts/{contact_id}", json={"fields": {"birthday": 5}})
    assert patched.status_code == 422


async def test_a_field_timer_on_a_text_field_is_refused_at_design_time(
    admin: httpx.AsyncClient,
) -> None:
    await declare_field(admin, "plan", "text")
    definition = {
        "tracks": [{"id": "main", "steps": [{"id": "t", "kind": "field_timer", "field": "plan"}]}]
    }
    response = await admin.post("/sequences", json={"name": "x", "definition": definition})
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "where": "step 't' (tracks[0].steps[0])",
            "field": "field",
            "message": "'plan' is a text field; a field timer needs a date field",
        }
    ]


async def test_steps_naming_unknown_users_are_refused(admin: httpx.AsyncClient) -> None:
    ghost = "00000000-0000-0000-0000-00000000beef"
    steps = [
        {"id": "t", "kind": "task", "title": "T", "assign_to": {"who": "user", "user_id": ghost}}
    ]
    response = await admin.post(
        "/sequences", json={"name": "x", "definition": {"tracks": [{"id": "m", "steps": steps}]}}
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "where": "step 't' (tracks[0].steps[0])",
            "field": "assign_to.user_id",
            "message": f"there is no user {ghost}",
        }
    ]


async def test_a_call_regarding_an_opportunity_links_it(
    admin: httpx.AsyncClient, worker: Worker
) -> None:
    steps = [
        {"id": "deal", "kind": "opportunity", "title": "Upgrade", "value": "500"},
        {
            "id": "call",
            "kind": "call",
            "title": "Discuss the upgrade",
            "regarding_opportunity": True,
        },
    ]
    sequence_id = await published_sequence(admin, {"tracks": [{"id": "main", "steps": steps}]})
    contact_id = await new_contact(admin)
    await enroll(admin, sequence_id, contact_id)
    [task] = await eventually(
        lambda: get_json(admin, f"/contacts/{contact_id}/tasks"), lambda t: len(t) == 1
    )
    assert task["opportunity_id"] is not None
