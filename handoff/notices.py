"""System messages the agent side sends to borrowers, in English and Simplified Chinese."""

from __future__ import annotations

NOTICES: dict[str, dict[str, str]] = {
    "sla_breach": {
        "en": "Sorry for the wait. Your chat has been moved up the queue and a supervisor has been alerted.",
        "zh": "抱歉让您久等了。您的会话已被提前处理，并已通知主管。",
    },
    "agent_unavailable": {
        "en": "Your agent is no longer available. You are back in the queue and keep your place.",
        "zh": "为您服务的客服暂时无法回复。您已重新进入排队，原有排位保持不变。",
    },
    "released": {
        "en": "Your chat has been passed to the next available agent. You keep your place in the queue.",
        "zh": "您的会话已转给下一位可用的客服，排队位置保持不变。",
    },
    "no_agents": {
        "en": (
            "No agent is available right now (outside working hours or nobody on shift). "
            "We can call you back instead: leave your preferred contact and time."
        ),
        "zh": "目前没有客服在线（非工作时间或无人值班）。我们可以稍后回电：请留下您希望的联系方式和时间。",
    },
    "agent_joined": {
        "en": "{agent} has joined the chat.",
        "zh": "客服 {agent} 已加入会话。",
    },
    "transferred": {
        "en": "Your chat has been transferred to {agent}.",
        "zh": "您的会话已转接给客服 {agent}。",
    },
    "handed_back": {
        "en": "The agent has handed you back to the assistant. Ask anything, or ask for a person again.",
        "zh": "客服已将您转回智能助手。您可以继续提问，也可以再次要求人工服务。",
    },
    "closed": {
        "en": "The agent has closed this chat. Thank you for contacting us.",
        "zh": "客服已结束本次会话。感谢您的联系。",
    },
}


def notice(key: str, lang: str, **values: str) -> str:
    texts = NOTICES[key]
    return texts.get(lang, texts["en"]).format(**values)
