"""A number split over consecutive borrower messages: the pure `mask_continuing`, then the real turn path
(REST and WebSocket) with the messages stored in the database and the text Rasa receives."""

from __future__ import annotations

import pytest
from borrower_helpers import ScriptedRasa, start
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from stdnum import luhn

from handoff.infra.db import session_scope
from handoff.masking import mask, mask_continuing, may_continue
from handoff.models import Message

SEPARATORS = [" ", "  ", "\t", ".", "-", "\u2013", "/", "_", "\u00a0"]


def test_a_card_split_over_two_messages_is_masked_in_both() -> None:
    first = "my card is 4111 1111"
    assert mask(first).kinds == ()  # alone, eight digits are nothing
    result = mask_continuing("1111 1111", earlier=[first])
    assert result.masked.text == "[CARD ****1111]" and result.masked.kinds == ("card",)
    assert result.earlier == ("my card is [CARD ****1111]",)


def test_chinese_and_full_width_halves() -> None:
    result = mask_continuing("１１１１ １１１１，谢谢", earlier=["我的卡号是４１１１ １１１１"])
    assert result.masked.text == "[CARD ****1111]，谢谢"
    assert result.earlier == ("我的卡号是[CARD ****1111]",)


def test_three_messages_and_words_in_between_from_the_bot_do_not_matter() -> None:
    earlier = ["hello", "card 4111 1111", "1111"]  # only the borrower's own messages are passed in
    result = mask_continuing("1111 thanks", earlier=earlier)
    assert result.masked.text == "[CARD ****1111] thanks"
    assert result.earlier == ("hello", "card [CARD ****1111]", "[CARD ****1111]")


@pytest.mark.parametrize(
    ("earlier", "text", "masked", "earlier_after"),
    [
        (["call me on +44 20"], "7946 0958", "[PHONE]", "call me on [PHONE]"),
        (["手机138"], "0013 8000", "[PHONE]", "手机[PHONE]"),
        (["VIN 1HGCM8263"], "3A004352", "[VIN]", "VIN [VIN]"),
        (["loan NW-2024"], "-0117 please", "[LOAN ****0117] please", "loan [LOAN ****0117]"),
        (["身份证110105 1949"], "1231 002X", "[ID]", "身份证[ID]"),
        (["my SSN is"], "123456789", "[SSN]", "my SSN is"),  # the earlier words are the context
    ],
)
def test_other_kinds_split_over_messages(earlier: list[str], text: str, masked: str, earlier_after: str) -> None:
    result = mask_continuing(text, earlier=earlier)
    assert result.masked.text == masked
    assert result.earlier == (earlier_after,)


def test_ordinary_follow_ups_are_left_alone() -> None:
    for earlier, text in [
        (["I paid 12000"], "36 months left"),
        (["due 2024-05-01"], "12:30 is fine"),
        (["my card is 4111 1111"], "thanks, what now?"),  # may_continue: no digit first
        (["月供3200元"], "36期"),
    ]:
        result = mask_continuing(text, earlier=earlier)
        assert result.masked.text == text and result.earlier == tuple(earlier), (earlier, text)
    assert not may_continue("thanks") and may_continue(" 1111") and may_continue("N2183294")


@st.composite
def split_cards(draw: st.DrawFn) -> tuple[str, int]:
    body = "4" + draw(st.text("0123456789", min_size=14, max_size=14))
    card = next(body + d for d in "0123456789" if luhn.is_valid(body + d))
    return card, draw(st.integers(1, 3)) * 4  # split after the 1st, 2nd or 3rd group


@given(value=split_cards(), sep=st.sampled_from(SEPARATORS), zh=st.booleans())
@settings(max_examples=300, deadline=None)
def test_any_card_split_at_a_group_boundary_is_masked(value: tuple[str, int], sep: str, zh: bool) -> None:
    card, cut = value
    groups = [card[i : i + 4] for i in range(0, 16, 4)]
    head, tail = sep.join(groups[: cut // 4]), sep.join(groups[cut // 4 :])
    first = ("卡号" if zh else "my card is ") + head
    result = mask_continuing(tail + ("，谢谢" if zh else " thanks"), earlier=[first])
    assert result.masked.kinds == ("card",)
    assert result.earlier[0].endswith(f"[CARD ****{card[-4:]}]") and head not in result.earlier[0]


def _stored(engine: Engine, cid: str) -> list[str]:
    with session_scope(engine, write=False) as s:
        return list(
            s.scalars(
                select(Message.text)
                .where(Message.conversation_id == cid, Message.sender == "borrower")
                .order_by(Message.seq)
            )
        )


def test_rest_turns_store_both_halves_masked(
    bot_client: TestClient, scripted_rasa: ScriptedRasa, engine: Engine
) -> None:
    cid, auth = start(bot_client)
    url = f"/api/conversations/{cid}/messages"
    assert bot_client.post(url, headers=auth, json={"text": "my card is 4111 1111"}).status_code == 200
    second = bot_client.post(url, headers=auth, json={"text": "1111 1111"})
    assert second.status_code == 200
    assert second.json()["messages"][0]["text"] == "[CARD ****1111]"
    assert scripted_rasa.messages() == ["my card is 4111 1111", "[CARD ****1111]"]  # Rasa saw half, never all
    assert _stored(engine, cid) == ["my card is [CARD ****1111]", "[CARD ****1111]"]
    transcript = bot_client.get(f"/api/conversations/{cid}/messages?after=0", headers=auth).json()["messages"]
    assert [m["text"] for m in transcript if m["sender"] == "borrower"] == _stored(engine, cid)


def test_websocket_turns_store_both_halves_masked(
    bot_client: TestClient, scripted_rasa: ScriptedRasa, engine: Engine
) -> None:
    cid, auth = start(bot_client, lang="zh")
    token = auth["Authorization"].removeprefix("Bearer ")
    with bot_client.websocket_connect(f"/ws/conversations/{cid}") as ws:
        ws.send_json({"type": "auth", "token": token, "after": 0})
        for text in ["我的手机号是138", "0013 8000"]:
            ws.send_json({"type": "message", "text": text})
        while len(scripted_rasa.messages()) < 2:
            frame = ws.receive_json()
            assert frame["type"] != "error", frame
    assert scripted_rasa.messages() == ["我的手机号是138", "[PHONE]"]
    assert _stored(engine, cid) == ["我的手机号是[PHONE]", "[PHONE]"]
