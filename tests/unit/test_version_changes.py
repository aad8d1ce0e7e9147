"""What the versions page says changed between two definitions."""

from web.diff import changes

BEFORE = {
    "tracks": [
        {
            "id": "main",
            "steps": [
                {"id": "a", "kind": "delay", "duration": "P1D"},
                {"id": "b", "kind": "email", "subject": "Hi", "body": "x"},
                {"id": "c", "kind": "apply_tag", "tag": "t"},
            ],
        },
        {"id": "old", "steps": [{"id": "o", "kind": "note", "body": "n"}]},
    ]
}
AFTER = {
    "settings": {"reentry": "never"},
    "tracks": [
        {
            "id": "main",
            "steps": [
                {"id": "b", "kind": "email", "subject": "Hello", "body": "x"},
                {"id": "a", "kind": "delay", "duration": "P1D"},
                {"id": "d", "kind": "sms", "text": "t"},
            ],
        },
    ],
}


def test_steps_added_removed_changed_and_moved_by_track() -> None:
    found = changes(BEFORE, AFTER)
    main, old = found.tracks
    assert (main.track_id, main.added, main.removed) == ("main", ["d"], ["c"])
    assert main.changed == {"b": ["subject"]}
    assert main.moved == ["a", "b"]
    assert (old.track_id, old.added, old.removed) == ("old", [], ["o"])
    assert found.settings == ["reentry"]
    assert not found.none


def test_the_same_definition_changes_nothing() -> None:
    assert changes(BEFORE, BEFORE).none
