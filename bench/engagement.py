"""What each step achieved, at scale: every sleeping enrollment is given the email its offer
step would have sent, a share of them opened, clicked, replied to, bounced or opted out of.
They are written straight to the database (sending 100,000 emails is not what is measured);
the triggers keep the report's tallies exactly as they do for real sends."""

import uuid

from sqlalchemy import text

from store.db import SessionMaker, transaction

OFFER_STEP = "offer"
PRICING = "https://example.com/pricing"

# Shares of the messages, by their row number: a third opened, a seventh clicked, and so on.
_SENT_OFFERS = f"""
INSERT INTO message (id, effect_key, enrollment_id, contact_id, channel, to_address, subject,
                     body, status, tracked, created_at, sent_at, opened_at, machine_opened_at,
                     clicked_at, replied_at, unsubscribed_at)
SELECT gen_random_uuid(), e.id || ':main:{OFFER_STEP}:1', e.id, e.contact_id, 'email',
       'c' || e.n || '@example.com', 'An offer', 'See {PRICING}',
       CAST(CASE WHEN e.n % 50 = 0 THEN 'bounced' ELSE 'sent' END AS messagestatus), true, now(),
       now(),
       CASE WHEN e.n % 3 = 0 THEN now() END, CASE WHEN e.n % 5 = 0 THEN now() END,
       CASE WHEN e.n % 7 = 0 THEN now() END, CASE WHEN e.n % 20 = 0 THEN now() END,
       CASE WHEN e.n % 100 = 0 THEN now() END
FROM (SELECT id, contact_id, row_number() OVER (ORDER BY id) AS n
      FROM enrollment WHERE sequence_id = :sequence_id) e
"""
_CLICKS = f"""
INSERT INTO message_click (message_id, url, clicks, first_at, last_at)
SELECT m.id, '{PRICING}', 1, m.clicked_at, m.clicked_at
FROM message m JOIN enrollment e ON e.id = m.enrollment_id
WHERE e.sequence_id = :sequence_id AND m.clicked_at IS NOT NULL
"""


async def sent_offers(sessionmaker: SessionMaker, sequence_id: str) -> int:
    """Give each enrollment of the sequence its offer email; how many were written."""
    params = {"sequence_id": uuid.UUID(sequence_id)}
    async with transaction(sessionmaker) as session:
        written = await session.execute(text(_SENT_OFFERS), params)
        await session.execute(text(_CLICKS), params)
    return int(getattr(written, "rowcount", 0))
