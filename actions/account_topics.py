"""Which part of their account a borrower asks about, and for which day (a payoff "on December 20").

`ask_account_specific` covers every own-account question; the words of the message pick the answer.
Checked in order: the first topic whose pattern matches wins (a payoff letter is a letter, not a payoff).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Final

TOPIC_LETTER_PAID_IN_FULL: Final = "letter_paid_in_full"
TOPIC_LETTER_PAYOFF: Final = "letter_payoff"
TOPIC_PAYOFF: Final = "payoff"
TOPIC_LAST_PAYMENT: Final = "last_payment"
TOPIC_PAST_DUE: Final = "past_due"
TOPIC_AUTOPAY: Final = "autopay"
TOPIC_RATE: Final = "rate"
TOPIC_NEXT_PAYMENT: Final = "next_payment"
TOPIC_BALANCE: Final = "balance"
TOPIC_SUMMARY: Final = "summary"  # "check my account": balance and next payment

_TOPICS: Final = (
    (TOPIC_LETTER_PAID_IN_FULL, r"paid[- ]in[- ]full|lien release|结清证明|还清证明|结清凭证"),
    (TOPIC_LETTER_PAYOFF, r"payoff (letter|statement)|结清(金额)?(函|通知书)|提前还款(函|通知书)"),
    (TOPIC_PAYOFF, r"pay ?off|pay (it|the loan|my loan) off|close (out )?my loan|结清|还清|一次性还"),
    (TOPIC_LAST_PAYMENT, (r"\b(get|got|receive|received)\b.*payment|"
                          r"payment.*\b(go|went) through|payment.*\b(posted|applied|received)|"
                          r"last payment|payment (history|record)|到账|收到.*还款|扣了|上次还款|还了没有|还款记录")),
    (TOPIC_PAST_DUE, r"past due|overdue|\blate\b|good standing|逾期|滞纳|拖欠"),
    (TOPIC_AUTOPAY, r"auto ?pay|automatic (payment|debit)|自动扣款|自动还款|自动代扣"),
    (TOPIC_RATE, r"interest rate|\bapr\b|\brate\b|利率|年化"),
    (TOPIC_NEXT_PAYMENT, r"next payment|due date|\bdue\b|monthly payment|下次|下个月|还款日|几号还|每个月要还|月供"),
    (TOPIC_BALANCE, r"balance|\bowe\b|left on|remaining|still owe|还欠|余额|还剩|剩余|欠你们|欠多少|还要还多少"),
)
_COMPILED: Final = tuple((topic, re.compile(pattern, re.IGNORECASE)) for topic, pattern in _TOPICS)

MONTHS: Final = {m: i for i, m in enumerate(
    ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december"), start=1)}
_ISO = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_ZH = re.compile(r"(?:(\d{4})年)?(\d{1,2})月(\d{1,2})[日号]")
_EN = re.compile(r"\b(" + "|".join(MONTHS) + "|" + "|".join(m[:3] for m in MONTHS) + r")\.? (\d{1,2})(?:st|nd|rd|th)?\b",
                 re.IGNORECASE)
_SLASH = re.compile(r"\b(\d{1,2})/(\d{1,2})\b")


def account_topic(text: str) -> str:
    for topic, pattern in _COMPILED:
        if pattern.search(text):
            return topic
    return TOPIC_SUMMARY


def _month(name: str) -> int:
    name = name.lower()
    return MONTHS.get(name) or next(i for m, i in MONTHS.items() if m.startswith(name[:3]))


def payoff_day(text: str, *, today: date) -> date | None:
    """The day a payoff is asked for, if the message names one; a month-day already past means next year."""
    try:
        if found := _ISO.search(text):
            return date(int(found[1]), int(found[2]), int(found[3]))
        year = None
        if found := _ZH.search(text):
            year, month, day = (int(found[1]) if found[1] else None), int(found[2]), int(found[3])
        elif found := _EN.search(text):
            month, day = _month(found[1]), int(found[2])
        elif found := _SLASH.search(text):
            month, day = int(found[1]), int(found[2])
        else:
            return None
        candidate = date(year or today.year, month, day)
        if year is None and candidate < today:
            candidate = date(today.year + 1, month, day)
        return candidate
    except ValueError:  # 2/30, 13/1: no such day
        return None
