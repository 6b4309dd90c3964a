"""`python -m knowledge_base unanswered`: collect, cluster and print the unanswered questions, optionally
writing FAQ stubs (the command line's part; the work is in unanswered.py, clusters.py and stubs.py)."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any, TextIO

from knowledge_base.clusters import DEFAULT_DISTANCE, Cluster, cluster
from knowledge_base.config import KBSettings
from knowledge_base.kb import KnowledgeBase
from knowledge_base.stubs import write_stubs
from knowledge_base.text import Tokenizer
from knowledge_base.unanswered import collect, parse_since


def cluster_json(c: Cluster) -> dict[str, Any]:
    return {"lang": c.lang, "count": c.count, "trend": c.trend, "earlier": c.earlier, "later": c.later,
            "nearest_faq": c.nearest_faq, "nearest_score": c.nearest_score, "kinds": c.kinds,
            "examples": list(c.examples), "wordings": list(c.wordings)}

# Share of the dense vector in the clustering features, per language: Chinese questions are mostly told apart
# by their words (all-MiniLM-L6-v2 is English-only). These were the search's own weights before the
# calibrated decision replaced them.
CLUSTER_DENSE_WEIGHT = {"en": 0.7, "zh": 0.1}


def unanswered_report(settings: KBSettings, args: argparse.Namespace, *, database_url: str, out: TextIO,
                      err: TextIO, now: datetime | None = None) -> int:
    now = now or datetime.now(UTC)
    since = parse_since(args.since, now=now)
    asked = collect(database_url, since=since, until=now)
    clusters: list[Cluster] = []
    if asked:
        kb = KnowledgeBase(settings)
        clusters = cluster(asked, kb.embedder.encode, start=since, end=now, tokens=Tokenizer().tokens,
                           dense_weight=CLUSTER_DENSE_WEIGHT.__getitem__,
                           distance=args.distance if args.distance is not None else DEFAULT_DISTANCE)
    clusters = [c for c in clusters if c.count >= args.min_count]
    written = write_stubs(clusters, args.write_stubs) if args.write_stubs else []
    total = sum(a.count for a in asked)
    if args.json:
        print(json.dumps({"since": since.isoformat(), "until": now.isoformat(), "questions": total,
                          "clusters": [cluster_json(c) for c in clusters],
                          "stubs": [str(p) for p in written]}, ensure_ascii=False, indent=2), file=out)
        return 0
    print(f"{total} unanswered question(s) since {since:%Y-%m-%d %H:%M} UTC in {len(clusters)} cluster(s)",
          file=out)
    for n, c in enumerate(clusters, start=1):
        nearest = f"{c.nearest_faq} ({c.nearest_score})" if c.nearest_faq else "none"
        kinds = ", ".join(f"{k} {v}" for k, v in c.kinds.items())
        print(f"\n#{n} [{c.lang}] {c.count}x, {c.trend} ({c.earlier} -> {c.later}); nearest FAQ: {nearest}; {kinds}",
              file=out)
        for example in c.examples:
            print(f"    - {example}", file=out)
    for path in written:
        print(f"stub: {path}", file=err)
    return 0
