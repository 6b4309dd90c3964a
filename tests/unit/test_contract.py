"""The bot and the service build the handoff packet with one builder (`contract.packet`): whichever path
brought the borrower to the queue, the packet has the same keys and types."""

from __future__ import annotations

from typing import Any

from action_helpers import make_tracker, packet_of, run, user
from borrower_helpers import ScriptedRasa, start
from fastapi.testclient import TestClient
from pydantic import ConfigDict, TypeAdapter
from sqlalchemy import Engine, select

from actions.handoff import ActionHandoff
from contract.packet import SERVICE_KEYS, HandoffPacket
from handoff.infra.db import session_scope
from handoff.models import QueueEntry

HandoffPacket.__pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[attr-defined]
STRICT = TypeAdapter(HandoffPacket)
SERVICE_ONLY_KEYS = SERVICE_KEYS  # added by the service when it queues the packet


def shape(value: Any) -> Any:
    """Keys and value types, recursively: what must not drift between the two paths."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return "number" if isinstance(value, (int, float)) and not isinstance(value, bool) else type(value).__name__


async def bot_packet() -> dict[str, Any]:
    tracker = make_tracker([user("I want to talk to a real person", "request_human", 0.95, anger=0.3,
                                 cues=["caps"])])
    _, messages = await run(ActionHandoff(), tracker)
    return packet_of(messages)


def button_packet(client: TestClient, rasa: ScriptedRasa, engine: Engine) -> dict[str, Any]:
    rasa.tracker = {"events": [{"event": "user", "text": "my payment failed", "timestamp": 1700000000.0,
                                "parse_data": {"intent": {"name": "payment_failed", "confidence": 0.42},
                                               "entities": [{"entity": "lang", "value": "en", "start": 0}],
                                               "anger": {"score": 0.2, "cues": ["caps"]}}}]}
    cid, auth = start(client)
    client.post(f"/api/conversations/{cid}/messages", headers=auth, json={"text": "my payment failed"})
    assert client.post(f"/api/conversations/{cid}/handoff", headers=auth).json()["state"] == "queued"
    with session_scope(engine, write=False) as s:
        packet = s.scalar(select(QueueEntry.packet).where(QueueEntry.conversation_id == cid))
    return {k: v for k, v in packet.items() if k not in SERVICE_ONLY_KEYS}


async def test_bot_and_button_paths_build_the_same_packet_shape(
    bot_client: TestClient, scripted_rasa: ScriptedRasa, engine: Engine
) -> None:
    from_bot = await bot_packet()
    from_button = button_packet(bot_client, scripted_rasa, engine)
    STRICT.validate_python(from_bot)
    STRICT.validate_python(from_button)
    assert set(from_bot) == set(from_button) == set(HandoffPacket.__annotations__)
    # previous_handoff is None on both first handoffs; every other key has the same shape.
    assert shape(from_bot["turns"][0]) == shape(from_button["turns"][0])
    assert shape(from_bot["anger"]) == shape(from_button["anger"])
    assert from_button["trigger"] == "button" and from_button["anger"]["max"] == 0.2


def test_a_packet_with_a_stray_key_fails_the_contract() -> None:
    good = {"version": 1, "conversation_id": "c", "reason": "anger", "trigger": None, "priority": "urgent",
            "lang": "en", "summary": "s", "topics": [], "turns": [], "faq_candidates": [],
            "anger": {"latest": 0.0, "max": 0.0, "frustration": 0.0, "frustrated": False},
            "previous_handoff": None}
    STRICT.validate_python(good)
    try:
        STRICT.validate_python({**good, "anger_scores": []})
    except ValueError:
        return
    raise AssertionError("a drifted packet passed the contract")
