"""The lender's own published numbers and addresses stay readable; a borrower's never do.

Issue 11: the console's "Insert" of an FAQ answer sent "[PHONE]" in place of the lender's own line.
The allow-list is built from MASK_ALLOW and from the FAQ files, as the service builds it at start-up.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from agent_support import PASSWORD, make_agent, make_settings, waiting_chat
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import Engine

from handoff.app import create_app
from handoff.config import Settings
from handoff.infra.clock import FakeClock
from handoff.masking import MaskPolicy, mask, policy_from_settings
from handoff.pii.allow import AllowList, published_values

FAQ = Path("knowledge_base/faq")
REGIONS = {"en": "US", "zh": "CN"}


def faq_answer(lang: str, faq_id: str) -> str:
    """The answer of an FAQ file as the console inserts it (everything after the front matter)."""
    return (FAQ / lang / f"{faq_id}.md").read_text(encoding="utf-8").split("---", 2)[2].strip()


@pytest.fixture(scope="module")
def policy() -> MaskPolicy:
    return policy_from_settings(make_settings())


def test_the_faq_numbers_and_addresses_are_found() -> None:
    found = {value for value, _ in published_values(FAQ, REGIONS)}
    assert {"1-800-555-0142", "400-555-0142", "help@northwind-auto.example"} <= found


@pytest.mark.parametrize(("lang", "faq_id"), [("en", "contact-northwind"), ("en", "pay-by-phone"),
                                              ("zh", "contact-agent-zh"), ("zh", "hardship-extension-zh")])
def test_inserted_faq_answers_keep_the_lenders_contact_details(policy: MaskPolicy, lang: str, faq_id: str) -> None:
    answer = faq_answer(lang, faq_id)
    assert mask(answer).kinds  # without the allow-list the lender's own number is masked (the bug)
    assert mask(answer, policy).text == answer


@pytest.mark.parametrize(
    "written", ["1-800-555-0142", "(800) 555-0142", "+1 800 555 0142", "800.555.0142", "１－８００－５５５－０１４２"]
)
def test_the_lenders_line_however_written(policy: MaskPolicy, written: str) -> None:
    assert mask(f"I called {written} yesterday", policy).kinds == ()


def test_borrowers_numbers_are_still_masked(policy: MaskPolicy) -> None:
    text = "call me on 1-800-555-0143 or +86 138 0013 8000, mail li@northwind-auto.example, card 4111 1111 1111 1111"
    assert mask(text, policy).kinds == ("phone", "phone", "email", "card")
    assert mask("请拨打400-555-0142或我的手机13800138000", policy).text == "请拨打400-555-0142或我的手机[PHONE]"


def test_mask_allow_setting() -> None:
    settings = make_settings(MASK_ALLOW="+86 10 6234 5678, payments@northwind-auto.example", MASK_ALLOW_FAQ_DIR="")
    policy = policy_from_settings(settings)
    assert mask("热线010-62345678，邮箱 Payments@Northwind-Auto.example", policy).kinds == ()
    assert mask("call 1-800-555-0142", policy).kinds == ("phone",)  # no FAQ folder: not allowed now
    assert AllowList.build(entries=["+1 800 555 0142"]).phones == frozenset({"+18005550142"})


@pytest.mark.parametrize(
    ("name", "value", "hint"),
    [
        ("MASK_ALLOW", "+1 800 555", "not a valid phone number"),
        ("MASK_ALLOW_FAQ_DIR", "no/such/folder", "is not a folder"),
        ("MASK_PHONE_REGIONS", "CN,XX", "not a region code"),
        ("MASK_FAQ_REGIONS", "en=US", "lang:REGION"),
    ],
)
def test_bad_mask_settings_stop_start_up_with_a_hint(name: str, value: str, hint: str) -> None:
    with pytest.raises(ValidationError, match=hint):
        Settings(**{name: value})


@pytest.fixture
def console(engine: Engine) -> Iterator[tuple[TestClient, FakeClock]]:
    clock = FakeClock()
    app = create_app(make_settings(DATABASE_URL=str(engine.url)), engine, clock=clock)
    with TestClient(app) as client:
        yield client, clock


@pytest.mark.parametrize(("lang", "faq_id"), [("en", "contact-northwind"), ("zh", "contact-agent-zh")])
def test_an_agent_reply_with_an_inserted_faq_answer_reaches_the_borrower_whole(
    console: tuple[TestClient, FakeClock], engine: Engine, lang: str, faq_id: str
) -> None:
    api, clock = console
    make_agent(engine, clock, "ann")
    conversation_id, entry_id = waiting_chat(engine, clock, lang=lang)
    login = api.post("/api/agent/login", json={"username": "ann", "password": PASSWORD})
    headers = {"Authorization": f"Bearer {login.json()['token']}"}
    assert api.post(f"/api/agent/queue/{entry_id}/claim", headers=headers).status_code == 200
    answer = faq_answer(lang, faq_id)
    sent = api.post(
        f"/api/agent/conversations/{conversation_id}/messages", headers=headers,
        json={"text": answer + "\n(card 4111 1111 1111 1111)"},
    )
    assert sent.status_code == 200, sent.text
    assert sent.json()["message"]["text"] == answer + "\n(card [CARD ****1111])"
