"""The statements a tag step makes: claiming its key and tagging at once, and asking who hears
of it and whether any goal may, each one round trip that must mean what the slower ones did."""

import uuid

from store import contacts, driver, enrollments
from store.db import SessionMaker, transaction
from store.models import (
    Contact,
    Enrollment,
    EnrollmentStatus,
    Sequence,
    SequenceStatus,
    SequenceVersion,
    Tag,
)


async def _contact(sessionmaker: SessionMaker) -> uuid.UUID:
    async with transaction(sessionmaker) as session:
        contact = Contact(email=f"{uuid.uuid4()}@example.com")
        session.add(contact)
        session.add(Tag(name="known"))
    return contact.id


async def test_a_key_claimed_tags_once_and_a_retry_does_nothing(sessionmaker: SessionMaker) -> None:
    contact_id = await _contact(sessionmaker)
    async with transaction(sessionmaker) as session:
        first = await contacts.claim_and_tag(session, "k1", None, contact_id, "known")
        again = await contacts.claim_and_tag(session, "k1", None, contact_id, "known")
        # Another key finds the tag already there: claimed, not tagged again.
        other = await contacts.claim_and_tag(session, "k2", None, contact_id, "known")
        # A tag no one used yet is left to apply_tag, which creates it.
        unknown = await contacts.claim_and_tag(session, "k3", None, contact_id, "new-tag")
        names = await contacts.tag_names(session, contact_id)
        # Removed since, the tag does not come back when the first key's step is retried.
        await contacts.remove_tag(session, contact_id, "known")
        retried = await contacts.claim_and_tag(session, "k1", None, contact_id, "known")
        after_retry = await contacts.tag_names(session, contact_id)
    assert (retried, after_retry) == ((False, False), [])
    assert (first, again, other, unknown) == (
        (True, True),
        (False, False),
        (True, False),
        (True, False),
    )
    assert names == ["known"]


async def test_a_tag_used_first_is_created_by_the_fallback(sessionmaker: SessionMaker) -> None:
    contact_id = await _contact(sessionmaker)
    async with transaction(sessionmaker) as session:
        claimed, tagged = await contacts.claim_and_tag(session, "a", None, contact_id, "fresh")
        created = await contacts.apply_tag(session, contact_id, "fresh")
        names = await contacts.tag_names(session, contact_id)
    assert (claimed, tagged, created, names) == (True, False, True, ["fresh"])


async def test_hearers_say_whether_a_published_goal_watches_the_event(
    sessionmaker: SessionMaker,
) -> None:
    contact_id = await _contact(sessionmaker)
    async with transaction(sessionmaker) as session:
        assert await enrollments.hearers(session, contact_id, goals_on="tag_applied") == ([], False)
        definition = {"tracks": [], "settings": {"goals": [{"event": "tag_applied"}]}}
        sequence = Sequence(name="Goal", status=SequenceStatus.draft, latest_version=1)
        session.add(sequence)
        await session.flush()
        session.add(SequenceVersion(sequence_id=sequence.id, version=1, definition=definition))
        await session.flush()
        # A draft's goals enroll no one.
        assert await enrollments.hearers(session, contact_id, goals_on="tag_applied") == ([], False)
        sequence.status = SequenceStatus.published
        await session.flush()
        assert await enrollments.hearers(session, contact_id, goals_on="tag_applied") == ([], True)
        assert await enrollments.hearers(session, contact_id, goals_on="replied") == ([], False)
        assert await enrollments.hearers(session, contact_id) == ([], False)


async def test_claim_tag_and_hear_answers_as_the_statements_it_joins(
    sessionmaker: SessionMaker,
) -> None:
    contact_id = await _contact(sessionmaker)
    async with transaction(sessionmaker) as session:
        sequence = Sequence(name="Heard", status=SequenceStatus.published, latest_version=1)
        session.add(sequence)
        await session.flush()
        definition = {"tracks": [], "settings": {"goals": [{"event": "replied"}]}}
        session.add(SequenceVersion(sequence_id=sequence.id, version=1, definition=definition))
        for workflow_id, status in (
            ("running", EnrollmentStatus.active),
            ("done", EnrollmentStatus.completed),
        ):
            session.add(
                Enrollment(
                    sequence_id=sequence.id,
                    version=1,
                    enrolled_version=1,
                    contact_id=contact_id,
                    workflow_id=workflow_id,
                    status=status,
                )
            )
    async with driver.transaction(sessionmaker) as connection:
        first = await contacts.claim_tag_and_hear(
            connection, "h1", None, contact_id, "known", goals_on="tag_applied"
        )
        again = await contacts.claim_tag_and_hear(
            connection, "h1", None, contact_id, "known", goals_on="replied"
        )
        unknown = await contacts.claim_tag_and_hear(
            connection, "h2", None, contact_id, "new-tag", goals_on="tag_applied"
        )
    assert first == contacts.TagClaim(True, True, ["running"], False)
    assert again == contacts.TagClaim(False, False, ["running"], True)
    assert unknown == contacts.TagClaim(True, False, ["running"], False)
    async with transaction(sessionmaker) as session:
        assert await contacts.tag_names(session, contact_id) == ["known"]
