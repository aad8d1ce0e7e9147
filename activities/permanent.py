"""Database refusals that no retry can mend fail the activity for good, with PostgreSQL's reason.

A value too long for its column, or one its type cannot hold, is refused the same way on every
attempt: retried, the step would sit `active` for ever with no reason shown. Such errors
(SQLSTATE classes 22, data exceptions, and 23, integrity violations) become non-retryable
`ApplicationError`s, so the step fails with the reason and an operator can fix and retry it.
"""

from typing import Any

from sqlalchemy.exc import DBAPIError
from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from store.db import Refusal

PERMANENT_CLASSES = ("22", "23")


def permanent_reason(error: DBAPIError) -> str | None:
    """PostgreSQL's reason when the error cannot pass on a retry; None when it may."""
    refusal = Refusal.of(error)
    if not refusal.sqlstate.startswith(PERMANENT_CLASSES):
        return None
    return f"the database refused a value: {refusal.message}"


class _PermanentDatabaseErrors(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        try:
            return await super().execute_activity(input)
        except DBAPIError as error:
            reason = permanent_reason(error)
            if reason is None:
                raise
            activity.logger.warning("%s failed for good: %s", activity.info().activity_type, reason)
            raise ApplicationError(reason, type="DatabaseRefused", non_retryable=True) from error


class PermanentDatabaseErrors(Interceptor):
    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _PermanentDatabaseErrors(next)
