"""Dependencies shared by the borrower routes: services, client address, bearer token, rate limits."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from handoff.borrower.access import ConversationRef, authorize_borrower
from handoff.services import Services


async def get_services(request: Request) -> Services:
    """`async` although it never waits: FastAPI runs a plain-function dependency on a worker thread, a thread
    hand-off and back on every request."""
    return request.app.state.services  # type: ignore[no-any-return]


ServicesDep = Annotated[Services, Depends(get_services)]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def limit_client(request: Request, svc: ServicesDep) -> str:
    """Every borrower request counts against its client address."""
    addr = client_address(request)
    await svc.limiter.hit(
        f"client:{addr}", limit=svc.settings.RATE_LIMIT_CLIENT_PER_MIN, what="client address"
    )
    return addr


ClientAddr = Annotated[str, Depends(limit_client)]


async def borrower_conversation(
    request: Request,
    svc: ServicesDep,
    _addr: ClientAddr,
    conversation_id: Annotated[str, Path(min_length=1, max_length=64)],
) -> ConversationRef:
    """The conversation in the path, if the request's bearer token is that conversation's token."""
    token = bearer_token(request.headers.get("authorization"))
    return await authorize_borrower(svc, conversation_id=conversation_id, token=token)


ConversationDep = Annotated[ConversationRef, Depends(borrower_conversation)]
