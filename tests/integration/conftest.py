"""One Rasa server + action server for the whole session, shared by the modules that only talk to them.

Starting the pair (loading the model and the embedding model) costs tens of seconds on 2 cores, so
the modules that need an ordinary, healthy stack share this one; every test uses its own conversation
ids, so they cannot see each other's trackers. Modules that need a special stack (a proxy in front of the
action server, a production endpoints file) still start their own.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from rasa_stack import RasaStack, start_rasa_stack

WARM_UP = {"en": "How do I get a payoff quote?", "zh": "怎么申请提前结清？"}


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RasaStack]:
    with start_rasa_stack(workdir=tmp_path_factory.mktemp("rasa_stack")) as running:
        # The first query per language loads jieba, warms TensorFlow and the embedding model up; a cold
        # start is not what the tests are about (test_faults covers slowness).
        for lang, text in WARM_UP.items():
            running.send(f"warm-up-{lang}", text, lang=lang, timeout_s=120)
        yield running
