"""Why the queue refused an agent's operation: 409/403 with a code the console can act on."""

from __future__ import annotations

from handoff.errors import ConflictError, ForbiddenError


class AlreadyClaimedError(ConflictError):
    code = "already_claimed"


class AtCapacityError(ConflictError):
    code = "at_capacity"


class NotHolderError(ForbiddenError):
    code = "not_holder"


class NotAssignedError(ConflictError):
    code = "not_assigned"


class AgentUnavailableError(ConflictError):
    code = "agent_unavailable"


class WrongLanguageError(ForbiddenError):
    """The chat is in a language the agent does not take (claim, transfer, callback alike)."""

    code = "wrong_language"
