"""The custom search attributes operators filter enrollments by in the Temporal UI."""

from temporalio.common import SearchAttributeKey

CONTACT_ID = SearchAttributeKey.for_keyword("ContactId")
SEQUENCE_ID = SearchAttributeKey.for_keyword("SequenceId")
SEQUENCE_VERSION = SearchAttributeKey.for_int("SequenceVersion")
ENROLLMENT_STATUS = SearchAttributeKey.for_keyword("EnrollmentStatus")
CURRENT_STEP = SearchAttributeKey.for_keyword("CurrentStep")
# Every run of one enrollment (continue-as-new, not re-entry) carries its id, so an operator
# or a removal finds exactly those runs.
ENROLLMENT_ID = SearchAttributeKey.for_keyword("EnrollmentId")

ALL: tuple[SearchAttributeKey[str] | SearchAttributeKey[int], ...] = (
    CONTACT_ID,
    SEQUENCE_ID,
    SEQUENCE_VERSION,
    ENROLLMENT_STATUS,
    CURRENT_STEP,
    ENROLLMENT_ID,
)


def dev_server_flags() -> list[str]:
    """`--search-attribute Name=Type` flags that register these on `temporal server start-dev`."""
    kinds = {"KEYWORD": "Keyword", "INT": "Int"}
    return [
        flag
        for key in ALL
        for flag in ("--search-attribute", f"{key.name}={kinds[key.indexed_value_type.name]}")
    ]
