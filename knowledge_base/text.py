"""Language detection and lexical tokens (jieba words + character bigrams for zh, stemmed words for en)."""

from __future__ import annotations

import re
import threading
import unicodedata
from typing import Any

from knowledge_base.concepts import concept_tokens

TOKENS_VERSION = 3  # stored with each index: a change of the tokens below makes the next build rebuild
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\ufeff\ud800-\udfff]")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


EN_STOP = _words(
    "a an the i me my mine we our you your he she it its they them their is am are was were be been being "
    "do does did doing have has had having can could would should will shall may might must to of in on at "
    "by for with about from into as and or but if so than then that this these those there here what which "
    "who whom how when where why please hi hello thanks thank just any some get got"
)
ZH_STOP = _words("的 了 吗 呢 吧 啊 呀 么 嘛 我 你 您 他 她 它 们 我们 是 在 有 和 与 及 或 请问 请 一下 这 那 个 就 都 也 还 要 会 能 可以 "
                    "怎么 怎样 如何 什么 为什么 哪里 多少 吗？ ， 。 ？ ！")


def clean(text: str) -> str:
    """NFKC, control characters removed, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text)
    return " ".join(_CONTROL.sub(" ", text).split())


def detect_lang(text: str, zh_ratio: float) -> str:
    """'zh' when CJK characters make up at least ``zh_ratio`` of CJK characters + Latin words."""
    cjk = len(_CJK.findall(text))
    if cjk == 0:
        return "en"
    words = len(_LATIN_WORD.findall(text.lower()))
    return "zh" if cjk / (cjk + words) >= zh_ratio else "en"


def _stem(word: str) -> str:
    """Tiny suffix stripper: enough to join pay/pays/paying/paid-style variants of FAQ words."""
    if len(word) <= 3 or word.isdigit():
        return word
    for suffix, repl in (("ies", "y"), ("ied", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", ""),
                         ("ly", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)] + repl
            break
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiouls":
        word = word[:-1]
    return word


class Tokenizer:
    """Lexical tokens for both languages. Chinese words come from rjieba (jieba-rs: jieba's dictionary and
    algorithm in Rust), which gives Python jieba's `lcut(HMM=True)` words exactly (all 10,698 distinct Chinese
    runs of the FAQs, test questions and training data here) in about 30 MB instead of 66 and without the
    second of building jieba's prefix dictionary; it is imported on the first Chinese text."""

    def __init__(self, concepts: bool = True) -> None:
        """``concepts``: add the ``~concept`` tokens of knowledge_base/concepts.py."""
        self._concepts = concepts
        self._cut: Any = None
        self._lock = threading.Lock()

    def _zh_words(self, run: str) -> list[str]:
        if self._cut is None:
            with self._lock:
                if self._cut is None:
                    import rjieba

                    self._cut = rjieba.cut
        return [w for w in self._cut(run, hmm=True) if w.strip()]

    def tokens(self, text: str) -> list[str]:
        text = clean(text).lower()
        out = [_stem(w.replace("'", "")) for w in _LATIN_WORD.findall(text) if w not in EN_STOP]
        for run in _CJK_RUN.findall(text):
            out.extend(w for w in self._zh_words(run) if w not in ZH_STOP)
            out.extend(run[i : i + 2] for i in range(len(run) - 1))
        if self._concepts:
            out.extend(concept_tokens(text))
        return out
