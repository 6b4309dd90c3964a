"""What the bot adds to the handoff packet (`contract.packet`): priority, the summary an agent reads first,
and the FAQ candidates tried so far. Sent by `action_handoff` as ``{"type": "handoff", "packet": {...}}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from actions.sensitive import TOPIC_PRIORITY
from actions.tracker_view import UserTurn
from contract import packet as contract_packet
from contract.codes import PRIORITY_ORDER, HandoffReason, Priority
from contract.packet import MAX_CANDIDATES, FaqCandidate, HandoffPacket, join_sentences

# Mirrors bot/anger.py ANGRY_THRESHOLD (the bot package runs in the Rasa env, not here).
ANGRY_SCORE: Final = 0.6

_REASON_TEXT: Final[dict[str, dict[str, str]]] = {
    "en": {
        "explicit_request": "Borrower asked for a person",
        "account_specific": "Borrower asked about their own account (the bot has no account access)",
        "anger": "Borrower is angry",
        "frustration": "Borrower became frustrated over several turns",
        "kb_unavailable": "The FAQ search was unavailable, so the bot could not answer",
        "low_confidence": "The bot could not understand the borrower twice in a row",
        "repeated_fallback": "The bot had no answer twice in a row",
        "negative_feedback": "Borrower said the bot's answers did not help",
        "sensitive_topic": "Sensitive topic",
    },
    "zh": {
        "explicit_request": "客户要求转人工",
        "account_specific": "客户询问本人账户信息（机器人无权查询账户）",
        "anger": "客户情绪激动",
        "frustration": "客户在多轮对话后表现出不满",
        "kb_unavailable": "FAQ检索暂时不可用，机器人无法回答",
        "low_confidence": "机器人连续两次未能理解客户的问题",
        "repeated_fallback": "机器人连续两次没有找到答案",
        "negative_feedback": "客户表示机器人的回答没有帮助",
        "sensitive_topic": "敏感话题",
    },
}
_TOPIC_TEXT: Final[dict[str, dict[str, str]]] = {
    "en": {"hardship": "financial hardship", "dispute": "dispute", "complaint": "complaint",
           "repossession": "repossession", "bereavement": "bereavement", "fraud": "fraud"},
    "zh": {"hardship": "经济困难", "dispute": "争议", "complaint": "投诉", "repossession": "收车",
           "bereavement": "丧亲", "fraud": "欺诈"},
}
_LABELS: Final[dict[str, dict[str, str]]] = {
    "en": {"topics": "Topics", "last": "Last message", "tried": "FAQs tried", "earlier": "A person helped earlier",
           "quote": "“{}”", "sep": "; ", "colon": ": ", "end": ". "},
    "zh": {"topics": "话题", "last": "最后一条消息", "tried": "已尝试的FAQ", "earlier": "此前人工客服已处理",
           "quote": "“{}”", "sep": "；", "colon": "：", "end": "。"},
}


def merge_candidates(previous: Sequence[dict[str, Any]] | None, hits: Sequence[dict[str, Any]]) -> list[FaqCandidate]:
    """FAQ candidates tried so far (id, title, score, source), best score per id, most recent last."""
    merged: dict[str, FaqCandidate] = {}
    for item in [*(previous or []), *hits]:
        if not isinstance(item, dict) or "id" not in item:
            continue
        old = merged.pop(item["id"], None)
        if old is not None and float(old.get("score", 0)) > float(item.get("score", 0)):
            item = {**item, "score": old["score"]}
        merged[item["id"]] = {"id": item["id"], "title": item.get("title"), "score": item.get("score"),
                              "source": item.get("source")}
    return list(merged.values())[-MAX_CANDIDATES:]


def priority_for(reason: str, topics: Sequence[str], turns: Sequence[UserTurn]) -> Priority:
    """urgent: anger, complaints, regulator threats; high: hardship, disputes (see sensitive.py); else normal."""
    levels: list[Priority] = [Priority.NORMAL, *(TOPIC_PRIORITY[t] for t in topics if t in TOPIC_PRIORITY)]
    if reason == HandoffReason.ANGER or any(t.anger_score >= ANGRY_SCORE for t in turns):
        levels.append(Priority.URGENT)
    if any(cue.startswith("regulator:") for t in turns for cue in t.anger_cues):
        levels.append(Priority.URGENT)
    return max(levels, key=PRIORITY_ORDER.__getitem__)


def summarize(
    *, lang: str, reason: str, trigger: str | None, topics: Sequence[str], last_text: str,
    candidates: Sequence[FaqCandidate], previous_note: str | None,
) -> str:
    """A short summary in the conversation's language, for the agent's queue view."""
    labels = _LABELS.get(lang, _LABELS["en"])
    reasons = _REASON_TEXT.get(lang, _REASON_TEXT["en"])
    topic_names = _TOPIC_TEXT.get(lang, _TOPIC_TEXT["en"])
    head = reasons.get(trigger or "", reasons[reason])
    parts = [head]
    if topics:
        parts.append(labels["topics"] + labels["colon"] + labels["sep"].join(topic_names.get(t, t) for t in topics))
    if last_text:
        parts.append(labels["last"] + labels["colon"] + labels["quote"].format(last_text[:200]))
    if candidates:
        titles = labels["sep"].join(str(c.get("title")) for c in candidates[-3:])
        parts.append(labels["tried"] + labels["colon"] + titles)
    if previous_note:
        parts.append(labels["earlier"] + labels["colon"] + previous_note[:200])
    # English sentences need a space after the full stop; Chinese "。" needs none.
    return join_sentences(parts, labels["end"])


def build_packet(
    *,
    conversation_id: str,
    reason: str,
    trigger: str | None,
    lang: str,
    topics: Sequence[str],
    all_turns: Sequence[UserTurn],
    recent_turns: Sequence[UserTurn],
    frustration: float,
    frustrated: bool,
    candidates: Sequence[FaqCandidate],
    agent_helped: bool,
    previous_note: str | None,
) -> HandoffPacket:
    """The bot's handoff packet (`contract.packet`): priority and summary from what the borrower said."""
    last_text = recent_turns[-1].text if recent_turns else ""
    return contract_packet.build_packet(
        conversation_id=conversation_id,
        reason=reason,
        trigger=trigger,
        priority=priority_for(reason, topics, recent_turns),
        lang=lang,
        summary=summarize(
            lang=lang, reason=reason, trigger=trigger, topics=topics, last_text=last_text,
            candidates=candidates, previous_note=previous_note if agent_helped else None,
        ),
        topics=topics,
        turns=[t.packet for t in all_turns],
        anger=contract_packet.anger_summary(
            [t.packet for t in recent_turns], frustration=frustration, frustrated=frustrated
        ),
        faq_candidates=candidates,
        previous_handoff={"agent_helped": agent_helped, "note": previous_note} if agent_helped else None,
    )
