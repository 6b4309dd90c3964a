"""Sensitive topics that always go to a person: hardship, disputes, complaints, repossession,
bereavement, fraud. Matched on the borrower's words (both languages) and on the tags of the FAQ
the knowledge base would answer with."""

from __future__ import annotations

import re
from typing import Final

from contract.codes import Priority

HARDSHIP: Final = "hardship"
DISPUTE: Final = "dispute"
COMPLAINT: Final = "complaint"
REPOSSESSION: Final = "repossession"
BEREAVEMENT: Final = "bereavement"
FRAUD: Final = "fraud"

# Complaints (and regulator threats) are urgent; money trouble and contested charges are high.
# Repossession is treated as hardship and fraud as a contested charge; bereavement is normal.
TOPIC_PRIORITY: Final[dict[str, Priority]] = {
    COMPLAINT: Priority.URGENT,
    HARDSHIP: Priority.HIGH,
    DISPUTE: Priority.HIGH,
    REPOSSESSION: Priority.HIGH,
    FRAUD: Priority.HIGH,
    BEREAVEMENT: Priority.NORMAL,
}

# FAQ tags (knowledge_base/faq/*/*.md) that mark an answer as a sensitive topic.
TAG_TOPICS: Final = {"hardship": HARDSHIP, "complaints": COMPLAINT}

_EN: Final[dict[str, tuple[str, ...]]] = {
    HARDSHIP: (
        "lost my job", "lost our jobs", "unemployed", "laid off", "can't afford", "cannot afford", "cant afford",
        "can't pay", "cannot pay", "cant pay", "can't make my payment", "can't make the payment",
        "cant make my payment", "unable to pay", "struggling", "hardship", "medical emergency",
        "behind on payments", "behind on my payments", "defer", "deferral", "deferment", "extension",
        "bankrupt", "bankruptcy", "out of work", "no income",
    ),
    DISPUTE: (
        "dispute", "disputing", "incorrect charge", "wrong charge", "charged twice", "double charged",
        "billing error", "error on my credit report", "mistake on my credit report", "wrongly reported",
    ),
    COMPLAINT: ("complaint", "complain", "ombudsman", "regulator", "cfpb", "attorney general", "lawsuit"),
    REPOSSESSION: ("repossess", "repossessed", "repossession", "repo", "towed", "took my car", "seized"),
    BEREAVEMENT: ("passed away", "died", "death", "deceased", "funeral", "estate of", "widow", "widowed"),
    FRAUD: (
        "fraud", "fraudulent", "identity theft", "stolen identity", "identity was stolen", "in my name",
        "unauthorized", "didn't make this payment", "did not make this payment", "hacked", "phishing",
    ),
}
_ZH: Final[dict[str, tuple[str, ...]]] = {
    HARDSHIP: (
        "失业", "下岗", "还不上", "还不起", "付不起", "没钱还", "经济困难", "资金困难", "周转不过来", "延期还款",
        "缓缴", "停息挂账", "破产", "困难", "生病住院",
    ),
    DISPUTE: ("异议", "申诉", "争议", "扣错", "多扣", "重复扣款", "扣了两次", "征信有误", "征信记录有错"),
    COMPLAINT: ("投诉", "举报", "银保监", "12378", "金融监管", "监管部门", "起诉"),
    REPOSSESSION: ("收车", "被收走", "拖走", "扣车", "收回车", "车被收", "车会被收"),
    BEREAVEMENT: ("去世", "过世", "死亡", "身故", "遗产", "丧事", "离世"),
    FRAUD: ("诈骗", "欺诈", "盗刷", "冒用", "冒名", "被盗", "钓鱼", "不是我操作"),
}


def _pattern(term: str) -> re.Pattern[str]:
    escaped = re.escape(term).replace(r"\ ", r"\s+").replace("'", "['’]?")
    return re.compile(rf"(?<![a-z]){escaped}(?![a-z])")


_EN_PATTERNS: Final = {topic: [_pattern(t) for t in terms] for topic, terms in _EN.items()}


def detect_topics(text: str) -> list[str]:
    """Sensitive topics named in the text, in a stable order (most urgent first)."""
    lowered = text.lower()
    found = {topic for topic, patterns in _EN_PATTERNS.items() if any(p.search(lowered) for p in patterns)}
    found |= {topic for topic, terms in _ZH.items() if any(term in text for term in terms)}
    return sort_topics(found)


def topics_from_tags(tags: tuple[str, ...] | list[str]) -> list[str]:
    return sort_topics({TAG_TOPICS[tag] for tag in tags if tag in TAG_TOPICS})


def sort_topics(topics: set[str] | list[str]) -> list[str]:
    order = list(TOPIC_PRIORITY)
    return sorted(set(topics), key=order.index)
