"""System messages the service itself sends to borrowers, in English and Simplified Chinese.

Buttons carry an `action` the chat page (and mobile apps) perform against the borrower API
instead of sending the payload as text: `handoff` -> POST .../handoff, `callback` -> the
callback form, `leave_queue` -> POST .../leave-queue.
"""

from __future__ import annotations

from typing import Any

TEXTS: dict[str, dict[str, str]] = {
    "bot_unavailable": {
        "en": "Sorry, our automated assistant is having trouble right now and could not answer that. "
        "Nothing you wrote is lost. Would you like to talk to a person instead?",
        "zh": "抱歉，智能助手暂时出现故障，未能回答您的问题。您发送的内容都已保存。需要为您转接人工客服吗？",
    },
    "queued": {
        "en": "You are now waiting for a person. You can keep writing here; they will see everything "
        "you have said so far.",
        "zh": "正在为您转接人工客服，请稍候。您可以继续在此留言，客服会看到您之前的全部对话。",
    },
    "after_hours": {
        "en": "Our team is not on shift right now (hours: {hours}). You can stay in the queue, or leave "
        "a callback request and we will contact you.",
        "zh": "人工客服当前不在服务时间（服务时间：{hours}）。您可以继续排队，也可以留下回电请求，我们会主动联系您。",
    },
    "nobody_online": {
        "en": "Nobody from our team is online at the moment. You can stay in the queue, or leave a callback "
        "request and we will contact you.",
        "zh": "目前暂无人工客服在线。您可以继续排队，也可以留下回电请求，我们会主动联系您。",
    },
    "left_queue": {
        "en": "You have left the queue. The assistant is back - ask me anything.",
        "zh": "您已退出排队，智能助手将继续为您服务，请问还有什么可以帮您？",
    },
    "callback_created": {
        "en": "Thank you. We will contact you by {method} ({contact}){when}. Your ticket number is #{ticket}.",
        "zh": "谢谢。我们将通过{method}（{contact}）与您联系{when}。您的工单编号是 #{ticket}。",
    },
    "button_person": {"en": "Talk to a person", "zh": "转人工客服"},
    "button_callback": {"en": "Request a callback", "zh": "预约回电"},
    "method_phone": {"en": "phone", "zh": "电话"},
    "method_email": {"en": "e-mail", "zh": "电子邮件"},
    "when": {"en": ", preferred time: {time}", "zh": "，期望时间：{time}"},
}


def text(key: str, lang: str, **values: Any) -> str:
    variants = TEXTS[key]
    template = variants.get(lang) or variants["en"]
    return template.format(**values) if values else template


def button(key: str, lang: str, action: str) -> dict[str, Any]:
    return {"title": text(key, lang), "payload": f"/{action}", "action": action}
