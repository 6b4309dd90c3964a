"""The service's domain errors. Each carries a stable `code` and the id of what failed.

Data functions raise these; `handoff.api.errors` maps each class to an HTTP status and the one JSON
error shape. Nothing here knows about HTTP.
"""

from __future__ import annotations

from sqlalchemy import exc as sa_exc


class HandoffError(Exception):
    code = "bad_request"

    def __init__(self, message: str, *, target_id: str | int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.target_id = target_id


class InvalidInputError(HandoffError):
    code = "invalid_input"


class UnauthorizedError(HandoffError):
    code = "unauthorized"


class ForbiddenError(HandoffError):
    code = "forbidden"


class NotFoundError(HandoffError):
    code = "not_found"


class ConflictError(HandoffError):
    code = "conflict"


class MessageTooLongError(HandoffError):
    code = "message_too_long"


class RateLimitedError(HandoffError):
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after_s: int, target_id: str | None = None) -> None:
        super().__init__(message, target_id=target_id)
        self.retry_after_s = retry_after_s


class UnavailableError(HandoffError):
    """Something the service depends on cannot answer right now; the same request may work later."""

    code = "unavailable"


class BotUnavailableError(UnavailableError):
    """Rasa (or the action server behind it) failed, timed out or answered nothing."""

    code = "bot_unavailable"


# The database connection failed or was lost (not a bad statement: those are other DBAPIErrors).
DATABASE_DOWN_ERRORS = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)
