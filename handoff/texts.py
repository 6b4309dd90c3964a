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
    "queued_bot_down": {
        "en": "Our automated assistant is having trouble right now, so we are connecting you with a person. "
        "Nothing you wrote is lost; they will see everything you have said so far.",
        "zh": "智能助手暂时出现故障，正在为您转接人工客服。您发送的内容都已保存，客服会看到您之前的全部对话。",
    },
    "after_hours": {
        "en": "Our team is not on shift right now (hours: {hours}). We are next available {opens}. You can "
        "stay in the queue, or leave a callback request and we will contact you.",
        "zh": "人工客服当前不在服务时间（服务时间：{hours}）。下一个服务时段从{opens}开始。您可以继续排队，"
        "也可以留下回电请求，我们会主动联系您。",
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
        "en": "Thank you. We will contact you by {method} ({contact}){when}, at the latest by {due}. "
        "Your reference number is {reference} (ticket #{ticket}).",
        "zh": "谢谢。我们将通过{method}（{contact}）与您联系{when}，最迟不晚于{due}。您的回电编号是 {reference}"
        "（工单 #{ticket}）。",
    },
    "callback_exists": {
        "en": "You already have a callback request ({reference}); we will contact you by {due}.",
        "zh": "您已提交过回电请求（编号 {reference}），我们将在{due}前与您联系。",
    },
    "complaint_opened": {
        "en": "We have recorded your complaint under reference {reference}. We will give you a full answer "
        "by {due} at the latest. {channels}",
        "zh": "我们已登记您的投诉，编号 {reference}。我们最迟将于{due}前给您完整答复。{channels}",
    },
    "abandoned": {
        "en": "This chat was closed because you left. Start a new chat any time; nothing you wrote is lost.",
        "zh": "由于您已离开，本次会话已关闭。您可以随时发起新的会话，您之前发送的内容都已保存。",
    },
    # Live-chat pushes to a borrower whose app has no socket open (handoff.conversations.pushes): what a
    # lock screen shows, so no loan details (the reply's preview has every digit hidden).
    "push_joined_title": {"en": "An agent has joined your chat", "zh": "人工客服已接入您的会话"},
    "push_joined_body": {
        "en": "{agent} is here to help. Open the app to continue.", "zh": "{agent}将为您服务，请打开应用继续对话。",
    },
    "push_reply_title": {"en": "New reply from {agent}", "zh": "{agent}回复了您"},
    "push_reply_hidden": {"en": "Open the app to read it.", "zh": "请打开应用查看。"},
    "wait_under_minute": {"en": "less than a minute", "zh": "不到 1 分钟"},
    "wait_minutes": {"en": "{n} min", "zh": "{n} 分钟"},
    "wait_hours": {"en": "{h} h", "zh": "{h} 小时"},
    "wait_and_minutes": {"en": " {n} min", "zh": " {n} 分钟"},
    "wait_about": {"en": "about {amount}", "zh": "约 {amount}"},
    "wait_opens": {"en": "from {opens}, when our team is next on shift", "zh": "{opens}起，届时客服上班"},
    "button_person": {"en": "Talk to a person", "zh": "转人工客服"},
    "button_callback": {"en": "Request a callback", "zh": "预约回电"},
    "method_phone": {"en": "phone", "zh": "电话"},
    "method_email": {"en": "e-mail", "zh": "电子邮件"},
    "when": {"en": ", preferred time: {time}", "zh": "，期望时间：{time}"},
    # Quick replies under a repayment reminder (handoff/reminders): sent as the borrower's own words.
    "reminder_reply_pay": {"en": "How do I pay?", "zh": "怎么还款？"},
    "reminder_reply_hardship": {"en": "I can't pay this month", "zh": "这个月还不上"},
}


def wait_text(seconds: int, lang: str, *, opens: str = "") -> str:
    """"about 2 h 10 min" / "约 2 小时 10 分钟", "less than a minute"; with `opens` (nobody on shift until
    then): "from Monday 08:00 (Eastern Time, US), about 3 min after that"."""
    if opens:
        return text("wait_opens", lang, opens=opens)
    minutes = max(0, round(seconds / 60))
    if minutes < 1:
        return text("wait_under_minute", lang)  # not "about less than a minute"
    if minutes < 60:
        amount = text("wait_minutes", lang, n=minutes)
    else:
        hours, rest = divmod(minutes, 60)
        amount = text("wait_hours", lang, h=hours) + (text("wait_and_minutes", lang, n=rest) if rest else "")
    return text("wait_about", lang, amount=amount)


def text(key: str, lang: str, **values: Any) -> str:
    variants = TEXTS[key]
    template = variants.get(lang) or variants["en"]
    return template.format(**values) if values else template


def button(key: str, lang: str, action: str) -> dict[str, Any]:
    return {"title": text(key, lang), "payload": f"/{action}", "action": action}
