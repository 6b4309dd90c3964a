"""Custom Rasa 3.6 NLU graph components: language detection and anger scoring.

Both are stateless and untrained; the scoring logic lives in `bot.language` and `bot.anger`
so it can be tested without Rasa. The Rasa server must run with the repository root on
PYTHONPATH (scripts/run_rasa.sh does) for `bot.components.*` to resolve.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_CONFIDENCE,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    EXTRACTOR,
    INTENT,
    INTENT_NAME_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot import speedups
from bot.anger import ANGRY_THRESHOLD, score_anger
from bot.language import detect_language

speedups.install()  # loaded into the Rasa server with the model: see bot/speedups.py

ANGER_KEY = "anger"
LANG_ENTITY = "lang"
ANGER_INTENT = "express_anger"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class LanguageDetector(GraphComponent):
    """Adds a `lang` entity (en|zh) when the text shows its language; the `lang` slot maps from it."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LanguageDetector:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            lang = detect_language(text)
            if lang is None:
                continue
            entity = {
                ENTITY_ATTRIBUTE_TYPE: LANG_ENTITY,
                ENTITY_ATTRIBUTE_VALUE: lang,
                ENTITY_ATTRIBUTE_START: 0,
                ENTITY_ATTRIBUTE_END: len(text),
                ENTITY_ATTRIBUTE_CONFIDENCE: 1.0,
                EXTRACTOR: self.__class__.__name__,
            }
            message.set(ENTITIES, [*message.get(ENTITIES, []), entity], add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class AngerScorer(GraphComponent):
    """Scores anger per message (`anger`: {"score", "cues"} in the parse result).

    Placed after the intent classifiers: a clearly angry message becomes `express_anger`
    (the original intent is kept in `anger.overridden_intent`) so the dialogue's one anger
    rule applies whatever the borrower was also asking. Intents listed in
    `keep_intents` (an explicit request for a person) are never overridden.
    """

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"override_threshold": ANGRY_THRESHOLD, "keep_intents": ["request_human", ANGER_INTENT]}

    def __init__(self, config: dict[str, Any]) -> None:
        self._threshold = float(config["override_threshold"])
        self._keep = set(config["keep_intents"])

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> AngerScorer:
        return cls(config)

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            signal = score_anger(message.get(TEXT) or "")
            result: dict[str, Any] = signal.as_dict()
            intent = message.get(INTENT) or {}
            name = intent.get(INTENT_NAME_KEY)
            if signal.score >= self._threshold and name not in self._keep:
                result["overridden_intent"] = {**intent}
                message.set(
                    INTENT,
                    {INTENT_NAME_KEY: ANGER_INTENT, PREDICTED_CONFIDENCE_KEY: signal.score},
                    add_to_output=True,
                )
            message.set(ANGER_KEY, result, add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
