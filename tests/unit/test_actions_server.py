"""The action server's HTTP contract: shared secret, deadline, errors that never echo the tracker."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from pydantic import ValidationError
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from starlette.testclient import TestClient

from actions.kb import KnowledgeBaseProvider
from actions.registry import build_actions
from actions.server import create_app
from actions.settings import ActionServerSettings

TOKEN = "s3cret-token-for-tests"
SECRET_TEXT = "my card is 4111 1111 1111 1111 and my name is Jane Borrower"


class ExplodingAction(Action):
    def name(self) -> str:
        return "action_explode"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list:
        raise RuntimeError(f"boom while handling {tracker.latest_message.get('text')}")


class SlowAction(Action):
    def name(self) -> str:
        return "action_slow"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list:
        await asyncio.sleep(5)
        return []


def settings(**overrides: Any) -> ActionServerSettings:
    values: dict[str, Any] = {"ACTION_SERVER_TOKEN": TOKEN, "ACTION_TIMEOUT_S": 0.5, "ACTION_KB_TIMEOUT_S": 0.2}
    values.update(overrides)
    return ActionServerSettings(**values)


def action_call(name: str, text: str = SECRET_TEXT, intent: str = "request_human") -> dict[str, Any]:
    parse = {"text": text, "intent": {"name": intent, "confidence": 0.99}, "entities": []}
    return {
        "next_action": name, "sender_id": "conv-9", "version": "3.6.21", "domain": {"slots": {}},
        "tracker": {"sender_id": "conv-9", "slots": {"lang": "en"}, "latest_message": parse, "paused": False,
                    "events": [{"event": "user", "timestamp": 1.0, "text": text, "parse_data": parse}],
                    "followup_action": None, "active_loop": {}, "latest_action_name": "action_listen"},
    }


@pytest.fixture
def client() -> TestClient:
    kb = KnowledgeBaseProvider(lambda: (_ for _ in ()).throw(RuntimeError("no index")), search_timeout_s=0.2)
    app = create_app(settings(), [*build_actions(kb), ExplodingAction(), SlowAction()], kb)
    with TestClient(app) as test_client:
        yield test_client


def test_health_needs_no_token_and_reports_the_knowledge_base(client: TestClient) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["knowledge_base"] in {"loading", "error"}


@pytest.mark.parametrize("query", ["", "?token=wrong"])
def test_webhook_refuses_a_missing_or_wrong_token(client: TestClient, query: str) -> None:
    response = client.post(f"/webhook{query}", json=action_call("action_handoff"))
    assert response.status_code == 401
    assert SECRET_TEXT not in response.text


def test_webhook_runs_a_real_action_with_the_token_in_the_query_or_header(client: TestClient) -> None:
    response = client.post(f"/webhook?token={TOKEN}", json=action_call("action_handoff"))
    assert response.status_code == 200
    body = response.json()
    assert body["responses"][0]["custom"]["type"] == "handoff"
    assert {"event": "slot", "name": "handoff_active", "value": True, "timestamp": None} in body["events"]
    header = client.post("/webhook", json=action_call("action_handoff"), headers={"Authorization": f"Bearer {TOKEN}"})
    assert header.status_code == 200


def test_errors_name_the_action_and_never_echo_the_tracker(client: TestClient) -> None:
    response = client.post(f"/webhook?token={TOKEN}", json=action_call("action_explode"))
    assert response.status_code == 500
    assert response.json() == {"error": "the action failed", "code": "action_failed", "action_name": "action_explode"}
    assert "4111" not in response.text and "Jane" not in response.text


def test_unknown_action_is_404_with_its_name(client: TestClient) -> None:
    response = client.post(f"/webhook?token={TOKEN}", json=action_call("action_nope"))
    assert response.status_code == 404 and response.json()["action_name"] == "action_nope"


def test_slow_action_times_out_well_below_rasas_lock_lifetime(client: TestClient) -> None:
    response = client.post(f"/webhook?token={TOKEN}", json=action_call("action_slow"))
    assert response.status_code == 504
    assert response.json()["code"] == "action_timeout" and SECRET_TEXT not in response.text


def test_knowledge_base_down_still_answers_with_a_handoff_route(client: TestClient) -> None:
    response = client.post(f"/webhook?token={TOKEN}", json=action_call("action_answer_faq", "payoff?", "ask_question"))
    assert response.status_code == 200
    events = {e["name"]: e["value"] for e in response.json()["events"] if e["event"] == "slot"}
    assert events["route"] == "handoff" and events["handoff_reason"] == "low_confidence:kb_unavailable"


def test_malformed_body_is_400_without_echo(client: TestClient) -> None:
    response = client.post(f"/webhook?token={TOKEN}", content=b"{not json " + SECRET_TEXT.encode())
    assert response.status_code == 400 and SECRET_TEXT not in response.text
    assert json.loads(response.text)["code"] == "invalid_json"


@pytest.mark.parametrize("token", ["", "change-me-action-server-token", "change-me"])
def test_production_refuses_a_placeholder_token(token: str) -> None:
    with pytest.raises(ValidationError, match="ACTION_SERVER_TOKEN"):
        ActionServerSettings(APP_ENV="production", ACTION_SERVER_TOKEN=token)


def test_development_accepts_the_placeholder_and_production_a_real_secret() -> None:
    assert ActionServerSettings(APP_ENV="development").ACTION_SERVER_TOKEN.startswith("change-me")
    assert ActionServerSettings(APP_ENV="production", ACTION_SERVER_TOKEN=TOKEN).ACTION_SERVER_TOKEN == TOKEN
