"""Per-message language detection for English / Simplified Chinese.

Pure Python so it runs in the Rasa graph (`bot.components.LanguageDetector`) and in tests.
Borrowers who write Chinese often mix in English loan terms ("我想要 payoff quote"), so a
message counts as Chinese as soon as its CJK characters are at least as many as its Latin
words; a message with neither (``"?"``, ``"123"``) has no language and the conversation keeps
the one it had.
"""

from __future__ import annotations

import re

SUPPORTED_LANGUAGES = ("en", "zh")

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def detect_language(text: str) -> str | None:
    """Return ``"zh"``, ``"en"`` or ``None`` when the text carries no language evidence."""
    cjk = len(_CJK.findall(text))
    latin_words = len(_LATIN_WORD.findall(text))
    if cjk and cjk >= latin_words:
        return "zh"
    if latin_words:
        return "en"
    return None
