"""FAQ stub files for the clusters of unanswered questions: valid front matter with the borrowers' wordings
as the alternative questions, and an answer for an editor to write. They go to their own folder (not the
FAQ source) so that `validate` and `build` never pick up a half-written entry."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

import yaml

from knowledge_base.clusters import Cluster

MAX_QUESTIONS: Final = 12
TODO: Final = {
    "en": "TODO: write the answer. Borrowers asked this {count} times ({trend}); the nearest FAQ was {nearest}.",
    "zh": "待办：请撰写答案。客户共问过 {count} 次（{trend}）；最接近的常见问题是 {nearest}。",
}
TRENDS: Final = {"en": {"rising": "rising", "falling": "falling", "steady": "steady"},
                 "zh": {"rising": "上升", "falling": "下降", "steady": "平稳"}}


def stub_id(cluster: Cluster, number: int) -> str:
    """`draft-<words of the most asked wording>` (ASCII words only), else `draft-<lang>-<number>`."""
    words = re.findall(r"[a-z0-9]+", cluster.wordings[0].lower())[:6]
    return "draft-" + ("-".join(words) if words else f"{cluster.lang}-{number}")


def stub_text(cluster: Cluster, faq_id: str) -> str:
    front = {
        "id": faq_id, "lang": cluster.lang, "title": cluster.wordings[0],
        "questions": list(cluster.wordings[1:MAX_QUESTIONS + 1]), "tags": ["unanswered"],
    }
    nearest = f"{cluster.nearest_faq} ({cluster.nearest_score})" if cluster.nearest_faq else "-"
    body = TODO[cluster.lang if cluster.lang in TODO else "en"].format(
        count=cluster.count, trend=TRENDS.get(cluster.lang, TRENDS["en"])[cluster.trend], nearest=nearest)
    return "---\n" + yaml.safe_dump(front, allow_unicode=True, sort_keys=False) + "---\n" + body + "\n"


def write_stubs(clusters: list[Cluster], folder: Path) -> list[Path]:
    """One file per cluster under `folder/<lang>/`; an existing file is left alone (an editor may have
    started on it). Returns the files written."""
    written = []
    for number, cluster in enumerate(clusters, start=1):
        faq_id = stub_id(cluster, number)
        path = folder / cluster.lang / f"{faq_id}.md"
        if path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(stub_text(cluster, faq_id), encoding="utf-8")
        written.append(path)
    return written
