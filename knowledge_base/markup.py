"""FAQ markdown as the pages show it: sanitised HTML, plain text, and what the pages cannot show.

The service renders every bot answer here (markdown-it-py), and the result passes the nh3 allow-list
before it leaves the server; the pages insert nothing else as markup. `problems()` is the same
renderer's view of what it drops or changes, so `python -m knowledge_base validate` warns about exactly
that. Imported by name (`knowledge_base.markup`), not from the package root: Rasa's side never needs it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

ALLOWED_TAGS = frozenset({
    "p", "br", "strong", "em", "del", "code", "ul", "ol", "li", "a",
    "div", "table", "thead", "tbody", "tr", "th", "td",
})
URL_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
LINK_REL = "noopener noreferrer nofollow"
TABLE_WRAP = "md-table"  # a wide table scrolls inside its bubble instead of widening it
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):", re.IGNORECASE)
_CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")
_FOOTNOTE = re.compile(r"\[\^[^\]\s]+\]")
_CJK_LIST = re.compile(r"^\s*\d+[、）)]\s*\S")
CACHE_SIZE = 4096

_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags={"script", "style"},
    attributes={"a": {"href"}, "ol": {"start"}},
    allowed_classes={"div": {TABLE_WRAP}},
    url_schemes=set(URL_SCHEMES),
    url_relative="deny",
    link_rel=LINK_REL,
    set_tag_attribute_values={"a": {"target": "_blank"}},
    strip_comments=True,
)


def safe_href(href: str) -> bool:
    """A link the pages may open: an absolute http(s), mailto or tel address (never javascript:, data:,
    a relative path or anything else)."""
    match = _SCHEME.match(href.strip())
    return match is not None and match.group(1).lower() in URL_SCHEMES


def _unlink_unsafe(state: StateCore) -> None:
    """A link to anything but http(s)/mailto/tel keeps its words and loses the link."""
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        kept: list[Token] = []
        dropping: list[bool] = []
        for token in block.children:
            if token.type == "link_open":
                bad = not safe_href(str(token.attrGet("href") or ""))
                dropping.append(bad)
                if bad:
                    continue
            elif token.type == "link_close" and dropping and dropping.pop():
                continue
            kept.append(token)
        block.children = kept


def _join_cjk_lines(state: StateCore) -> None:
    """A line break inside a Chinese paragraph is a soft wrap, not a space between two characters."""
    for block in state.tokens:
        children = block.children or []
        for n, token in enumerate(children):
            if token.type != "softbreak" or n == 0 or n + 1 >= len(children):
                continue
            before, after = children[n - 1].content, children[n + 1].content
            if before and after and _CJK.match(before[-1]) and _CJK.match(after[0]):
                token.type, token.content = "text", ""


def _heading_open(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict,
                  env: EnvType) -> str:
    return "<p><strong>"


def _heading_close(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict,
                   env: EnvType) -> str:
    return "</strong></p>\n"


def _table_open(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict,
                env: EnvType) -> str:
    return f'<div class="{TABLE_WRAP}"><table>\n'


def _table_close(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict,
                 env: EnvType) -> str:
    return "</table></div>\n"


def _image(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    return escapeHtml(tokens[idx].content)  # an image is not shown: its description is


def _parser(*, html: bool) -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": html, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.validateLink = lambda url: True  # type: ignore[method-assign]  # schemes are judged in _unlink_unsafe
    return md


def _renderer() -> MarkdownIt:
    md = _parser(html=False)  # raw HTML in an answer is shown as text, never as markup
    md.core.ruler.push("unlink_unsafe", _unlink_unsafe)
    md.core.ruler.push("join_cjk_lines", _join_cjk_lines)
    md.add_render_rule("heading_open", _heading_open)
    md.add_render_rule("heading_close", _heading_close)
    md.add_render_rule("image", _image)
    md.add_render_rule("table_open", _table_open)
    md.add_render_rule("table_close", _table_close)
    return md


_RENDER = _renderer()
_INSPECT = _parser(html=True)


@functools.lru_cache(maxsize=CACHE_SIZE)
def to_html(text: str) -> str:
    """Sanitised HTML of a markdown text: only ALLOWED_TAGS, links with a safe scheme that open in a new
    tab with rel=LINK_REL. Identical texts (the same FAQ answered again) render once."""
    return str(_CLEANER.clean(_RENDER.render(text)))


def sanitise(html: str) -> str:
    """The allow-list alone, for HTML that did not come from `to_html`."""
    return str(_CLEANER.clean(html))


def _inline_plain(token: Token) -> str:
    out: list[str] = []
    href = ""
    words: list[str] = []
    for child in token.children or []:
        if child.type == "link_open":
            href, words = str(child.attrGet("href") or ""), []
            continue
        if child.type == "link_close":
            label = "".join(words)
            out.append(label if label == href or not href else f"{label} ({href})")
            href = ""
            continue
        piece = child.content if child.type in ("text", "code_inline") else (
            "\n" if child.type == "hardbreak" else ("" if child.type == "softbreak" and not out else
                                                     " " if child.type == "softbreak" else ""))
        (words if href else out).append(piece)
    return "".join(out)


def to_plain(text: str) -> str:
    """The answer as an agent can paste it into a reply (shown as plain text): no markers, lists as
    "- " / "1. " lines, each table row as "Header: value · Header: value", links as "words (address)"."""
    tokens = _RENDER.parse(text)
    lines: list[str] = []
    header: list[str] = []
    row: list[str] = []
    numbers: list[int | None] = []
    in_head = False
    for n, token in enumerate(tokens):
        kind = token.type
        if kind in ("bullet_list_open", "ordered_list_open"):
            numbers.append(int(token.attrGet("start") or 1) if kind == "ordered_list_open" else None)
        elif kind in ("bullet_list_close", "ordered_list_close"):
            numbers.pop()
            if not numbers:
                lines.append("")
        elif kind == "thead_open":
            in_head, header = True, []
        elif kind == "thead_close":
            in_head = False
        elif kind == "tr_open":
            row = []
        elif kind == "tr_close" and not in_head:
            lines.append(" · ".join(f"{h}: {v}" if h else v for h, v in zip(header + [""] * len(row), row, strict=False)))
        elif kind == "inline":
            words = _inline_plain(token)
            parent = tokens[n - 1].type if n else ""
            if parent in ("th_open", "td_open"):
                (header if in_head else row).append(words.strip())
            elif parent == "paragraph_open" and n >= 2 and tokens[n - 2].type == "list_item_open":
                number = numbers[-1] if numbers else None
                marker = "- " if number is None else f"{number}. "
                if number is not None:
                    numbers[-1] = number + 1
                lines.append("  " * (len(numbers) - 1) + marker + words)
            else:
                lines.append(words)
        elif kind in ("paragraph_close", "table_close") and token.level == 0:
            lines.append("")
    return "\n".join(lines).strip()


def _line(token: Token) -> int:
    return token.map[0] if token.map else 0


BLOCK_PROBLEMS = {
    "html_block": "raw HTML is shown as text, not as markup; use markdown (**bold**, - lists, | tables |) instead",
    "heading_open": "headings are shown as a bold line inside an answer; write **the words** on their own line "
                    "instead",
    "fence": "code blocks are not shown as blocks; remove the ``` fence",
    "code_block": "code blocks are not shown as blocks (indenting 4 spaces makes one); remove the indent",
    "blockquote_open": "quotes ('> ') are shown as plain text; remove the '>'",
    "hr": "horizontal rules are not shown; remove the line or start a new paragraph",
}
NESTED_TABLE = ("a table inside a list or quote is squeezed into its indent and too narrow on a phone; put the "
                "table on its own, after a blank line, at the start of the line")
FOOTNOTE = "footnotes ([^1]) are not supported; write the note in the sentence or below the answer"
CJK_LIST = "'1、' does not start a numbered list; write '1. ' (digit, full stop, space)"
CONTAINERS = ("bullet_list", "ordered_list", "blockquote")


def problems(text: str) -> list[tuple[int, str]]:
    """What the pages cannot show as written: (0-based line within `text`, message with the fix)."""
    found: list[tuple[int, str]] = []
    depth = 0
    for token in _INSPECT.parse(text):
        kind = token.type
        depth += (kind in {f"{c}_open" for c in CONTAINERS}) - (kind in {f"{c}_close" for c in CONTAINERS})
        if kind in BLOCK_PROBLEMS:
            found.append((_line(token), BLOCK_PROBLEMS[kind]))
        elif kind == "table_open" and depth > 0:
            found.append((_line(token), NESTED_TABLE))
        elif kind == "inline":
            found.extend((_line(token), message) for message in _inline_problems(token))
    for number, line in enumerate(text.splitlines()):
        if _FOOTNOTE.search(line):
            found.append((number, FOOTNOTE))
        if _CJK_LIST.match(line):
            found.append((number, CJK_LIST))
    return sorted(set(found))


def _inline_problems(token: Token) -> list[str]:
    out: list[str] = []
    for child in token.children or []:
        if child.type == "html_inline":
            out.append(f"raw HTML {child.content!r} is shown as text; use markdown instead (**bold**, [words](https://...))")
        elif child.type == "image":
            out.append("images are not shown; describe it in words or link to it: [photo](https://...)")
        elif child.type == "link_open" and not safe_href(str(child.attrGet("href") or "")):
            out.append(f"link {str(child.attrGet('href') or '')!r} is shown as plain words: only absolute "
                       "https://, http://, mailto: and tel: links open; write the full address")
    return out

