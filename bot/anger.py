"""Per-message anger signal from a bilingual lexicon and surface cues.

Pure Python (no Rasa import) so the same scoring runs inside the Rasa NLU graph
(`bot.components.AngerScorer`) and in the app-env unit tests.

The score is a noisy-OR of cue weights: every cue independently "explains" some
anger, so two mild cues add up without one strong cue being needed, and the
score never exceeds 1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Scores at or above this are treated as an angry message by the dialogue.
ANGRY_THRESHOLD = 0.6
# Scores at or above this count as a "negative turn" for conversation-level frustration.
NEGATIVE_THRESHOLD = 0.25

INSULT_WEIGHT = 0.7
PROFANITY_WEIGHT = 0.6
REGULATOR_WEIGHT = 0.75
COMPLAINT_WEIGHT = 0.45
FRUSTRATION_WEIGHT = 0.3
SHOUTING_WEIGHT = 0.45
REPEATED_PUNCT_WEIGHT = 0.2
LONG_REPEATED_PUNCT_WEIGHT = 0.3

# English terms are matched on word boundaries, lower-cased; Chinese terms as substrings.
_EN_LEXICON: dict[str, tuple[str, ...]] = {
    "insult": (
        "idiot", "idiots", "stupid", "useless", "incompetent", "moron", "morons", "dumb", "pathetic",
        "garbage", "trash", "scam", "scammers", "scammer", "thieves", "crooks", "liars", "clowns",
        "worst company", "worthless", "joke of a company", "rip off", "ripoff", "ripping me off",
    ),
    "profanity": ("fuck", "fucking", "f*ck", "shit", "bullshit", "crap", "damn", "wtf", "screw you", "hell"),
    "regulator": (
        "cfpb", "regulator", "regulators", "attorney general", "bbb", "better business bureau", "ftc",
        "lawyer", "attorney", "sue", "suing", "lawsuit", "legal action", "court", "ombudsman",
        "report you", "reporting you", "consumer protection",
    ),
    "complaint": ("complaint", "complain", "complaining", "file a complaint", "formal complaint"),
    "frustration": (
        "ridiculous", "unacceptable", "fed up", "sick of", "tired of", "waste of time", "wasting my time",
        "seriously", "ugh", "annoyed", "annoying", "frustrated", "frustrating", "angry", "furious", "upset",
        "mad", "disappointed", "terrible", "awful", "horrible", "outrageous", "disgusting", "hate",
        "sucks", "nobody", "no one", "never answer", "still waiting", "again and again", "for the last time",
    ),
}
_ZH_LEXICON: dict[str, tuple[str, ...]] = {
    "insult": (
        "垃圾", "白痴", "傻", "笨蛋", "蠢", "骗子", "骗人", "坑人", "无耻", "混蛋", "废物", "黑心", "流氓",
        "吸血", "强盗", "破公司", "什么破", "烂公司", "智障",
    ),
    "profanity": ("妈的", "他妈", "操你", "滚蛋", "尼玛"),
    "regulator": (
        "银保监", "金融监管", "监管局", "监管部门", "12378", "消费者协会", "消协", "律师", "起诉", "告你们",
        "法院", "曝光", "媒体", "报警", "12315", "维权",
    ),
    "complaint": ("投诉", "举报"),
    "frustration": (
        "生气", "愤怒", "失望", "不满", "太慢", "浪费时间", "到底", "怎么还没", "怎么还不", "怎么还是", "怎么还要", "怎么还在", "烦死", "受不了", "受够",
        "离谱", "太过分", "过分", "没人管", "没人回", "不像话", "气死", "恶心", "忍无可忍", "搞什么",
        "什么鬼", "太差", "差劲", "无语",
    ),
}
_WEIGHTS = {
    "insult": INSULT_WEIGHT,
    "profanity": PROFANITY_WEIGHT,
    "regulator": REGULATOR_WEIGHT,
    "complaint": COMPLAINT_WEIGHT,
    "frustration": FRUSTRATION_WEIGHT,
}
_NEGATIONS = ("not ", "no ", "n't ", "never ")

_REPEATED_PUNCT = re.compile(r"[!?！？]{2,}")
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z']*")


@dataclass(frozen=True)
class AngerSignal:
    """Anger score in [0, 1] and the cues that produced it (e.g. ``insult:idiot``)."""

    score: float
    cues: list[str] = field(default_factory=list)

    @property
    def is_angry(self) -> bool:
        return self.score >= ANGRY_THRESHOLD

    def as_dict(self) -> dict[str, object]:
        return {"score": self.score, "cues": list(self.cues)}


def _en_pattern(term: str) -> re.Pattern[str]:
    escaped = re.escape(term).replace(r"\ ", r"\s+")
    return re.compile(rf"(?<![a-z]){escaped}(?![a-z])")


_EN_PATTERNS: dict[str, list[tuple[str, re.Pattern[str]]]] = {
    kind: [(term, _en_pattern(term)) for term in terms] for kind, terms in _EN_LEXICON.items()
}


def _negated(lowered: str, start: int) -> bool:
    """`not angry`, `no complaint`: a negation right before the cue cancels it."""
    window = lowered[max(0, start - 8) : start]
    return any(window.endswith(neg) for neg in _NEGATIONS)


def _lexicon_cues(text: str) -> list[tuple[str, str]]:
    lowered = text.lower()
    found: list[tuple[str, str]] = []
    for kind, patterns in _EN_PATTERNS.items():
        for term, pattern in patterns:
            match = pattern.search(lowered)
            if match and not _negated(lowered, match.start()):
                found.append((kind, term))
    for kind, terms in _ZH_LEXICON.items():
        for term in terms:
            index = text.find(term)
            if index >= 0 and text[max(0, index - 1) : index] not in ("不", "没"):
                found.append((kind, term))
    return found


def _is_shouting(text: str) -> bool:
    words = [w for w in _LATIN_WORD.findall(text) if len(w) > 1]
    letters = "".join(words)
    if len(words) < 2 or len(letters) < 8:
        return False
    upper = sum(1 for c in letters if c.isupper())
    return upper / len(letters) >= 0.7


def score_anger(text: str) -> AngerSignal:
    """Score one message. Empty or neutral text scores 0."""
    cues: list[str] = []
    weights: list[float] = []
    seen_kinds: dict[str, int] = {}
    for kind, term in _lexicon_cues(text):
        # Diminishing returns: the same kind of cue repeated adds less each time.
        repeat = seen_kinds.get(kind, 0)
        seen_kinds[kind] = repeat + 1
        weights.append(_WEIGHTS[kind] / (1 + repeat))
        cues.append(f"{kind}:{term}")
    if _is_shouting(text):
        weights.append(SHOUTING_WEIGHT)
        cues.append("shouting")
    runs = _REPEATED_PUNCT.findall(text)
    if runs:
        longest = max(runs, key=len)
        weights.append(LONG_REPEATED_PUNCT_WEIGHT if len(longest) >= 3 else REPEATED_PUNCT_WEIGHT)
        cues.append(f"punctuation:{longest}")
    calm = 1.0
    for weight in weights:
        calm *= 1.0 - weight
    return AngerSignal(score=round(1.0 - calm, 3), cues=cues)
