"""Warnings about FAQs the bot will find badly (``validate`` prints them; they never fail it).

- An FAQ with no alternative questions is found by its title alone: borrowers' other wordings miss it.
- Two FAQs whose title and questions say nearly the same are hard for the bot to tell apart: it will ask
  the borrower to choose, or pick the wrong one. Measured on the pooled words of title and questions
  (the same tokens search uses), so it needs no model and no index.
"""

from __future__ import annotations

from knowledge_base.errors import Issue
from knowledge_base.faq import FAQ
from knowledge_base.lexical import LexicalIndex
from knowledge_base.text import Tokenizer

TOO_SIMILAR = 0.6  # pooled TF-IDF cosine from which two FAQs are reported as near twins


def warnings_for(faqs: list[FAQ], tokenizer: Tokenizer | None = None,
                 too_similar: float = TOO_SIMILAR) -> list[Issue]:
    tokenizer = tokenizer or Tokenizer()
    out: list[Issue] = []
    for faq in faqs:
        if not faq.questions:
            out.append(Issue(faq.source, faq.lines.get("title", 1), "warning: no alternative questions; add 2 "
                             "to 5 other ways borrowers ask this under `questions:` so the bot finds it"))
    for lang in sorted({f.lang for f in faqs}):
        group = [f for f in faqs if f.lang == lang]
        docs = [[t for text in (f.title, *f.questions) for t in tokenizer.tokens(text)] for f in group]
        index = LexicalIndex(docs)
        for i, faq in enumerate(group):
            scores = index.scores(docs[i])
            for j in range(i + 1, len(group)):
                if scores[j] >= too_similar:
                    other = group[j]
                    out.append(Issue(faq.source, faq.lines.get("title", 1), f"warning: too similar to "
                                     f"{other.source} ({other.id}; {scores[j]:.2f}): the bot may not tell them "
                                     "apart; say in each title and question what makes it different, or merge "
                                     "them"))
    return sorted(out)
