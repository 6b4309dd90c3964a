"""Push devices of a borrower conversation: an app registers its push token so that, while its socket is
closed, the borrower is pushed "an agent has joined" and each agent reply (docs/borrower-api.md, "Pushes").
The conversation's bearer token authorises, as on every borrower route; writes count against the
conversation's rate limit as well as the client address's."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Path, Response
from sqlalchemy.orm import Session

from handoff.api.deps import ConversationDep, ServicesDep
from handoff.api.errors import error_responses
from handoff.api.schemas.devices import DeviceIn, DeviceList, DeviceOut, DeviceUpdate
from handoff.conversations import devices
from handoff.services import Services

log = logging.getLogger(__name__)
router = APIRouter(
    prefix="/api/conversations", tags=["borrower devices"], responses=error_responses(401, 403, 404, 409, 422, 429)
)
DeviceId = Path(min_length=32, max_length=32, pattern=r"^[0-9a-f]{32}$")


async def _limit(svc: Services, conversation_id: str) -> None:
    await svc.limiter.hit(
        f"devices:{conversation_id}", limit=svc.settings.RATE_LIMIT_CONVERSATION_PER_MIN, what="conversation"
    )


@router.post("/{conversation_id}/devices", status_code=201, response_model=DeviceOut,
             responses={200: {"model": DeviceOut, "description": "this push token was registered already"}})
async def register_device(
    svc: ServicesDep, conversation: ConversationDep, body: DeviceIn, response: Response
) -> dict[str, Any]:
    """Register this app install (or refresh it: the same push token again updates the stored device)."""
    await _limit(svc, conversation.id)
    fields = devices.DeviceFields(platform=body.platform, push_token=body.push_token, app_version=body.app_version,
                                  lang=body.lang)

    def work(session: Session) -> tuple[dict[str, Any], bool]:
        device, created = devices.register_device(
            session, conversation_id=conversation.id, fields=fields, box=svc.secret_box,
            secret_key=svc.settings.SECRET_KEY, now=svc.clock.now(),
        )
        return devices.device_dict(device), created

    found, created = await svc.db(work)
    response.status_code = 201 if created else 200
    log.info("conversation %s: push device %s %s (%s, token %s)", conversation.id, found["id"],
             "registered" if created else "refreshed", found["platform"], found["token_hint"])
    return found


@router.get("/{conversation_id}/devices", response_model=DeviceList)
async def list_devices(svc: ServicesDep, conversation: ConversationDep) -> dict[str, Any]:
    found = await svc.db(lambda s: devices.list_devices(s, conversation_id=conversation.id), write=False)
    return {"devices": found}


@router.patch("/{conversation_id}/devices/{device_id}", response_model=DeviceOut)
async def update_device(
    svc: ServicesDep, conversation: ConversationDep, body: DeviceUpdate, device_id: str = DeviceId
) -> dict[str, Any]:
    """Change what an app update or a refreshed push token changed; fields left out stay as they are."""
    await _limit(svc, conversation.id)
    fields = devices.DeviceFields(platform=body.platform, push_token=body.push_token, app_version=body.app_version,
                                  lang=body.lang)

    return await svc.db(lambda s: devices.device_dict(devices.update_device(
        s, conversation_id=conversation.id, device_id=device_id, fields=fields, box=svc.secret_box,
        secret_key=svc.settings.SECRET_KEY, now=svc.clock.now(),
    )))


@router.delete("/{conversation_id}/devices/{device_id}", status_code=204, response_class=Response)
async def unregister_device(svc: ServicesDep, conversation: ConversationDep, device_id: str = DeviceId) -> Response:
    """Stop pushes to this install (sign-out, or the borrower turned notifications off in the app)."""
    await _limit(svc, conversation.id)
    await svc.db(lambda s: devices.unregister_device(s, conversation_id=conversation.id, device_id=device_id))
    log.info("conversation %s: push device %s unregistered", conversation.id, device_id)
    return Response(status_code=204)
