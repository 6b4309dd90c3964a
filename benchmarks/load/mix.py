"""What simulated borrowers say: FAQ questions in both languages (from the evaluation sets), out-of-scope
questions, small talk and requests for a person, drawn with fixed weights."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

EVAL_DIR = Path(__file__).resolve().parents[1] / "eval"
SMALL_TALK = {
    "en": ["hi", "hello there", "thanks", "thank you, that helps", "ok", "good morning"],
    "zh": ["你好", "谢谢", "好的", "早上好", "谢谢你的帮助"],
}
ASK_FOR_PERSON = {
    "en": ["I want to talk to a person", "can I speak to a human agent please", "agent"],
    "zh": ["转人工", "我要找人工客服", "请帮我转接真人客服"],
}
# Share of each kind of turn; a request for a person ends the borrower's conversation.
WEIGHTS = {"faq": 0.65, "small_talk": 0.20, "out_of_scope": 0.07, "handoff": 0.08}
LANG_WEIGHTS = {"en": 0.6, "zh": 0.4}


def _questions(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.split("\t", 1)[0].strip() for line in lines if line.strip() and not line.startswith("#")]


@dataclass
class Mix:
    faq: dict[str, list[str]]
    out_of_scope: dict[str, list[str]]
    weights: dict[str, float] = field(default_factory=lambda: dict(WEIGHTS))

    @classmethod
    def load(cls, eval_dir: Path = EVAL_DIR) -> Mix:
        faq = {lang: _questions(eval_dir / f"{lang}.tsv") for lang in ("en", "zh")}
        oos = {lang: _questions(eval_dir / f"oos_{lang}.txt") for lang in ("en", "zh")}
        for lang in ("en", "zh"):
            if not faq[lang]:
                raise ValueError(f"{eval_dir / (lang + '.tsv')}: no questions")
            oos[lang] = oos[lang] or faq[lang]
        return cls(faq=faq, out_of_scope=oos)

    def language(self, rng: random.Random) -> str:
        return rng.choices(list(LANG_WEIGHTS), weights=list(LANG_WEIGHTS.values()))[0]

    def turn(self, lang: str, rng: random.Random) -> tuple[str, str]:
        """(kind, text) of the next borrower message."""
        kind = rng.choices(list(self.weights), weights=list(self.weights.values()))[0]
        pool = {
            "faq": self.faq[lang], "small_talk": SMALL_TALK[lang],
            "out_of_scope": self.out_of_scope[lang], "handoff": ASK_FOR_PERSON[lang],
        }[kind]
        return kind, rng.choice(pool)
