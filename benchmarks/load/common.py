"""What the load scripts (run.py, scale.py, agent_delivery.py) share: the repository's paths, the test helpers
on sys.path (importing this module puts them there), and the service settings every benchmark run uses."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RESULTS = ROOT / "benchmarks" / "results"
for _helpers in (ROOT / "tests", ROOT / "tests" / "integration"):
    if str(_helpers) not in sys.path:
        sys.path.insert(0, str(_helpers))

# Every simulated borrower comes from 127.0.0.1, so the per-address limit is lifted for the run; the
# per-conversation limit stays as configured (a borrower sends far fewer than 30 messages a minute here).
SERVICE_ENV = {"RATE_LIMIT_CLIENT_PER_MIN": "1000000", "LOG_LEVEL": "WARNING"}


def shown(path: Path) -> str:
    """A path as the reports print it: relative to the repository when it is inside it."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
