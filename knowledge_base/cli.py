"""``python -m knowledge_base validate|build|search|evaluate|stats|unanswered``: the only place settings are read
from the env."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from knowledge_base import store
from knowledge_base.build import build_index, ensure_query_export
from knowledge_base.config import KBSettings, UnknownSettingError
from knowledge_base.errors import InvalidKnowledgeBaseError, KBError
from knowledge_base.evaluation import TABLE_HEADER, TEST_QUESTIONS, evaluate, read_test_questions, table_rows
from knowledge_base.kb import KnowledgeBase
from knowledge_base.lint import warnings_for
from knowledge_base.reminder_templates import ReminderTemplates, read_templates
from knowledge_base.source import display_path, read_source
from knowledge_base.unanswered_report import unanswered_report

EXIT_OK, EXIT_CONTENT, EXIT_USAGE, EXIT_RUNTIME = 0, 1, 2, 3


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m knowledge_base", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    v = sub.add_parser("validate", help="check every FAQ file; lists all problems with file:line")
    v.add_argument("--source", type=Path, help="FAQ folder (default knowledge_base/faq, env KB_SOURCE)")
    v.add_argument("--reminders", type=Path,
                   help="reminder template folder (default knowledge_base/reminders, env KB_REMINDERS)")
    b = sub.add_parser("build", help="validate, then build the index incrementally")
    b.add_argument("--source", type=Path)
    b.add_argument("--index", type=Path, help="index folder (default var/kb_index, env KB_INDEX_DIR)")
    b.add_argument("--force", action="store_true", help="write a new version even when nothing changed")
    s = sub.add_parser("search", help="answer queries read one per line from stdin")
    s.add_argument("--index", type=Path)
    s.add_argument("--json", action="store_true", help="one JSON object per line")
    s.add_argument("--lang", choices=["en", "zh"], help="query language (default: detect)")
    s.add_argument("query", nargs="*", help="a query (default: read lines from stdin)")
    e = sub.add_parser("evaluate", help="ask the test questions next to the FAQs; table, confusions, misses")
    e.add_argument("--source", type=Path)
    e.add_argument("--index", type=Path)
    e.add_argument("--questions", type=Path, help=f"test questions (default <source>/{TEST_QUESTIONS})")
    e.add_argument("--all", action="store_true", help="list every miss, not only wrong answers")
    st = sub.add_parser("stats", help="counts per language and tag, and the last build's manifest")
    st.add_argument("--source", type=Path)
    st.add_argument("--index", type=Path)
    u = sub.add_parser("unanswered", help="cluster the questions the bot could not answer (service database)")
    u.add_argument("--since", default="7d", help="how far back: 7d, 24h (default 7d)")
    u.add_argument("--database-url", help="the conversation service's database (default: DATABASE_URL)")
    u.add_argument("--index", type=Path)
    u.add_argument("--distance", type=float, default=None, help="hybrid cosine distance that joins two groups (default 0.6)")
    u.add_argument("--min-count", type=int, default=1, help="leave out clusters asked fewer times")
    u.add_argument("--write-stubs", type=Path, metavar="DIR", help="write a FAQ stub file per cluster under DIR")
    u.add_argument("--json", action="store_true", help="the clusters as one JSON document")
    return p


def _settings(args: argparse.Namespace) -> KBSettings:
    overrides: dict[str, Any] = {}
    if getattr(args, "source", None) is not None:
        overrides["source"] = args.source
    if getattr(args, "index", None) is not None:
        overrides["index_dir"] = args.index
    if getattr(args, "reminders", None) is not None:
        overrides["reminders"] = args.reminders
    return KBSettings(**overrides)


def _validate(settings: KBSettings, out: TextIO, err: TextIO) -> int:
    source = read_source(settings.source_path(), settings.root)
    # A lender's FAQ folder checked on its own (--source elsewhere) need not hold reminder templates; the
    # service refuses to start without them (handoff/reminders/templates.py), so nothing goes unchecked.
    templates = read_templates(settings.reminders_path(), settings.root) if settings.reminders_path().is_dir() \
        else ReminderTemplates({}, [], 0)
    questions = settings.source_path() / TEST_QUESTIONS  # the editors' test questions, when they keep them
    asked = read_test_questions(questions, display_path(questions, settings.root), source.faqs,
                                settings.zh_ratio)[1] if questions.is_file() else []
    issues = sorted(source.issues + templates.issues + asked)
    for issue in issues:
        print(issue, file=err)
    warnings = warnings_for(source.faqs)  # advice, not problems: on stdout, and validate still succeeds
    for warning in warnings:
        print(warning, file=out)
    for warning in source.warnings:  # markdown the pages cannot show: shown, but not a reason to refuse it
        print(warning, file=err)
    if issues:
        print(f"{len(issues)} problem(s) in {source.files + templates.files} file(s); fix them and run validate "
              "again", file=err)
        return EXIT_CONTENT
    langs = Counter(f.lang for f in source.faqs)
    advice = f"; {len(warnings)} warning(s)" if warnings else ""
    warned = f"; {len(source.warnings)} warning(s) about markdown the pages cannot show" if source.warnings else ""
    print(f"ok: {source.files} file(s), " + ", ".join(f"{n} {lang}" for lang, n in sorted(langs.items()))
          + f"; {templates.files} reminder template(s)" + advice + warned, file=out)
    return EXIT_OK


def _evaluate(settings: KBSettings, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    source = read_source(settings.source_path(), settings.root)
    path = args.questions or settings.source_path() / TEST_QUESTIONS
    rel = display_path(path, settings.root)
    if not path.is_file():
        print(f"{rel}:0: no test questions; write one question per line, a tab, then the FAQ id it should "
              "get (or none)", file=err)
        return EXIT_CONTENT
    questions, issues = read_test_questions(path, rel, source.faqs, settings.zh_ratio)
    for issue in source.issues + issues:
        print(issue, file=err)
    if source.issues or issues:
        return EXIT_CONTENT
    kb = KnowledgeBase(settings)
    responses = [r for start in range(0, len(questions), 256)
                 for r in kb.search_many([q.text for q in questions[start : start + 256]])]
    ev = evaluate(questions, responses)
    print(f"{len(questions)} test question(s) from {rel}, index version {kb.version}", file=out)
    print(TABLE_HEADER, file=out)
    print("\n".join(table_rows(ev)), file=out)
    if ev.confusions:
        print("\nconfusions (expected -> answered instead):", file=out)
        for (expected, answered), n in ev.confusions.most_common():
            print(f"  {n:3}  {expected} -> {answered}", file=out)
        print("\nFAQs that attract wrong answers:", file=out)
        for faq_id, n in ev.attractors().most_common():
            print(f"  {n:3}  {faq_id}", file=out)
    shown = [(q, r) for q, r in ev.missed if args.all or r.decision == "answer"]
    if shown:
        print("\nmisses (add the wording to the right FAQ's questions, or make the two FAQs more distinct):",
              file=out)
    for q, r in shown:
        got = ", ".join(h.id for h in r.results[:3]) or "-"
        print(f"{rel}:{q.line}: {q.text!r}: {r.decision} ({got}); expected {q.expected}", file=out)
    return EXIT_OK


def _build(settings: KBSettings, force: bool, out: TextIO, err: TextIO) -> int:
    try:
        report = build_index(settings, progress=err.isatty(), force=force)
    except InvalidKnowledgeBaseError as exc:
        for issue in exc.issues:
            print(issue, file=err)
        print(f"{exc}; fix the files and run build again", file=err)
        return EXIT_CONTENT
    for line in report.lines():
        print(line, file=out)
    export = ensure_query_export(settings)  # what searches embed queries with, without PyTorch
    if export is not None:
        print(f"query model (ONNX): {export}", file=out)
    return EXIT_OK


def _search(settings: KBSettings, args: argparse.Namespace, stdin: TextIO, out: TextIO) -> int:
    kb = KnowledgeBase(settings)
    queries = [" ".join(args.query)] if args.query else (line.rstrip("\n") for line in stdin)
    for query in queries:
        resp = kb.search(query, lang=args.lang)
        if args.json:
            print(json.dumps(resp.to_json(), ensure_ascii=False), file=out, flush=True)
            continue
        print(f"{resp.decision} [{resp.lang}] {query}", file=out)
        for hit in resp.results:
            print(f"  {hit.score:.3f}  {hit.id:32} {hit.title}  ({hit.source})", file=out)
        out.flush()
    return EXIT_OK


def _stats(settings: KBSettings, out: TextIO) -> int:
    source = read_source(settings.source_path(), settings.root)
    langs = Counter(f.lang for f in source.faqs)
    tags = Counter((f.lang, t) for f in source.faqs for t in (f.tags or ("(untagged)",)))
    print(f"source {settings.source_path()}: {source.files} file(s), {len(source.issues)} problem(s)", file=out)
    for lang, n in sorted(langs.items()):
        print(f"  {lang}: {n} FAQ(s)", file=out)
        for (tag_lang, tag), count in sorted(tags.items(), key=lambda kv: (-kv[1], kv[0][1])):
            if tag_lang == lang:
                print(f"    {tag}: {count}", file=out)
    try:
        manifest = store.read_manifest(settings.index_path())
    except KBError as exc:
        print(f"index: {exc}", file=out)
        return EXIT_OK
    print(f"index {settings.index_path()} (last build):", file=out)
    print(json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True), file=out)
    return EXIT_OK


def main(argv: Sequence[str] | None = None, *, stdin: TextIO | None = None, stdout: TextIO | None = None,
         stderr: TextIO | None = None) -> int:
    stdin, out, err = stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr
    args = _parser().parse_args(argv)
    try:
        settings = _settings(args)
    except ValidationError as exc:
        for e in exc.errors():
            print(f"setting {'.'.join(str(p) for p in e['loc'])}: {e['msg']} (KB_* environment)", file=err)
        return EXIT_USAGE
    except UnknownSettingError as exc:
        print(f"error: {exc}", file=err)
        return EXIT_USAGE
    try:
        if args.command == "validate":
            return _validate(settings, out, err)
        if args.command == "build":
            return _build(settings, args.force, out, err)
        if args.command == "search":
            return _search(settings, args, stdin, out)
        if args.command == "evaluate":
            return _evaluate(settings, args, out, err)
        if args.command == "unanswered":
            database_url = args.database_url or os.environ.get("DATABASE_URL")  # the entry point reads it, once
            if not database_url:
                print("error: unanswered needs --database-url (or DATABASE_URL): the service's database", file=err)
                return EXIT_USAGE
            return unanswered_report(settings, args, database_url=database_url, out=out, err=err)
        return _stats(settings, out)
    except KBError as exc:
        print(f"error: {exc}", file=err)
        return EXIT_RUNTIME
    except KeyboardInterrupt:
        return 130
