"""FAQ markdown as the pages get it (knowledge_base/markup.py): tables, lists, links and bold rendered; the
output holds only allow-listed tags and safe links whatever an answer contains; and `problems()` names what
the pages cannot show, with the line."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

from handoff.conversations.records import message_html
from knowledge_base.faq import parse_faq
from knowledge_base.markup import ALLOWED_TAGS, LINK_REL, problems, safe_href, sanitise, to_html, to_plain

FAQ_ROOT = Path(__file__).resolve().parents[2] / "knowledge_base" / "faq"


class Collected(HTMLParser):
    """Every start tag with its attributes, and the text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def collected(html: str) -> Collected:
    parser = Collected()
    parser.feed(html)
    parser.close()
    return parser


def answer(lang: str, faq_id: str) -> str:
    path = FAQ_ROOT / lang / f"{faq_id}.md"
    faq, issues = parse_faq(path.read_text(encoding="utf-8"), str(path), lang)
    assert faq is not None and not issues
    return faq.answer


def assert_safe(html: str) -> Collected:
    found = collected(html)
    for tag, attrs in found.tags:
        assert tag in ALLOWED_TAGS, f"<{tag}> in {html!r}"
        for name, value in attrs.items():
            assert not name.startswith("on"), f"{name} on <{tag}> in {html!r}"
            assert name in {"href", "target", "rel", "start", "class", "title"}, f"{name} on <{tag}>"
            if name == "href":
                assert value is not None and safe_href(value), value
        if tag == "a":
            assert attrs.get("target") == "_blank" and attrs.get("rel") == LINK_REL
    assert "<script" not in html.lower() and "<img" not in html.lower()
    return found


def test_the_payment_methods_table_is_a_table_not_pipes() -> None:
    html = to_html(answer("en", "payment-methods"))
    found = assert_safe(html)
    tags = [t for t, _ in found.tags]
    assert tags.count("table") == 1 and tags.count("th") == 3 and tags.count("tr") == 8
    assert "|" not in html and "---" not in html
    assert ("div", {"class": "md-table"}) in found.tags  # wide tables scroll inside their bubble
    assert "$2.50 processing fee" in "".join(found.text)


def test_a_chinese_list_keeps_its_items_and_bold_and_a_chinese_table_renders() -> None:
    html = to_html(answer("zh", "payment-methods-zh"))
    found = assert_safe(html)
    tags = [t for t, _ in found.tags]
    assert tags.count("ol") == 1 and tags.count("li") == 4 and tags.count("strong") == 4
    assert "**" not in html and "1." not in "".join(found.text)
    table = collected(to_html(answer("zh", "payment-posting-time-zh")))
    assert [t for t, _ in table.tags].count("td") == 6 and "还款方式" in "".join(table.text)


def test_a_line_break_inside_a_chinese_paragraph_adds_no_space_but_one_in_english_does() -> None:
    assert to_html("您可以在 App\n首页查看。\n也可以致电。") == "<p>您可以在 App\n首页查看。也可以致电。</p>\n"
    assert "wrapped\nline" in to_html("a wrapped\nline")  # shown as a space by the browser


@pytest.mark.parametrize("faq", sorted(FAQ_ROOT.glob("*/*.md")), ids=lambda p: p.stem)
def test_every_faq_answer_renders_without_markdown_markers(faq: Path) -> None:
    parsed, _ = parse_faq(faq.read_text(encoding="utf-8"), str(faq), faq.parent.name)
    assert parsed is not None
    found = assert_safe(to_html(parsed.answer))
    text = "".join(found.text)
    assert "**" not in text and "|---" not in text and "](" not in text
    assert problems(parsed.answer) == []  # the shipped content has nothing the pages cannot show


ATTACKS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">pay</a>',
    "[pay](javascript:alert(1))",
    "[pay](JaVaScRiPt:alert(1))",
    "[pay](  javascript:alert(1))",
    "[pay](jav&#x61;script:alert(1))",
    "[pay](java\tscript:alert(1))",
    "[pay](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[pay](vbscript:msgbox(1))",
    "<javascript:alert(1)>",
    '[pay](https://example.com "x\\" onmouseover=\\"alert(1)")',
    "![x](https://example.com/a.png\" onerror=\"alert(1))",
    "<svg onload=alert(1)>",
    "<iframe src=https://example.com></iframe>",
    "| a | b |\n|---|---|\n| <img src=x onerror=alert(1)> | [c](javascript:alert(1)) |",
    "- <details open ontoggle=alert(1)>\n- **<b onclick=alert(1)>x</b>**",
    "<style>body{display:none}</style>",
    "[pay](//evil.example/)",
]


@pytest.mark.parametrize("lang_text", ["You can pay here: ", "您可以在这里还款："])
@pytest.mark.parametrize("attack", ATTACKS)
def test_no_markdown_can_smuggle_markup_or_a_dangerous_link(attack: str, lang_text: str) -> None:
    html = to_html(f"{lang_text}**late fee** {attack}\n\n1. {attack}")
    found = assert_safe(html)
    assert all(tag != "a" or safe_href(attrs.get("href") or "") for tag, attrs in found.tags)
    assert lang_text.strip() in "".join(found.text)
    # Anything that was not markdown is shown as its words, never run.
    hrefs = " ".join(str(attrs.get("href")) for _tag, attrs in found.tags)
    assert "javascript" not in hrefs.lower() and "data:" not in hrefs and "evil.example" not in hrefs


@pytest.mark.parametrize("html", [
    '<p onclick="x()">a<script>alert(1)</script></p>',
    '<a href="javascript:alert(1)">x</a><a href="/relative">y</a>',
    '<table><tr><td style="background:url(javascript:x)">z</td></tr></table>',
    '<img src=x onerror=alert(1)><iframe srcdoc="<script>x</script>"></iframe>',
])
def test_the_allow_list_alone_strips_hostile_html(html: str) -> None:
    cleaned = sanitise(html)
    assert_safe(cleaned)
    assert "alert" not in cleaned and "style" not in cleaned and "href" not in cleaned


def test_links_open_in_a_new_tab_with_every_safe_scheme() -> None:
    found = collected(to_html("[site](https://northwind-auto.example/pay) [mail](mailto:help@example.com) "
                              "[call](tel:+18005550142) [plain](http://example.com)"))
    hrefs = [attrs["href"] for tag, attrs in found.tags if tag == "a"]
    assert hrefs == ["https://northwind-auto.example/pay", "mailto:help@example.com", "tel:+18005550142",
                     "http://example.com"]


def test_plain_text_for_an_agents_reply_has_no_markers() -> None:
    plain = to_plain(answer("en", "payment-methods"))
    assert "|" not in plain and "**" not in plain
    assert "Method: Autopay · Cost: free · Posts: on the draft date you choose" in plain.splitlines()
    zh = to_plain(answer("zh", "payment-methods-zh"))
    assert "1. 自动扣款：每期还款日从绑定的借记卡自动扣款，推荐使用；" in zh.splitlines()
    assert to_plain("see [the app](https://a.example) or **call**") == "see the app (https://a.example) or call"


@pytest.mark.parametrize(("text", "line", "words"), [
    ("ok\n\n<div>raw</div>", 2, "raw HTML"),
    ("a <b>bold</b> word", 0, "raw HTML"),
    ("intro\n\n## Fees", 2, "headings"),
    ("one\n\n![map](https://example.com/m.png)", 2, "images are not shown"),
    ("text[^1]", 0, "footnotes"),
    ("para\n\n    indented", 2, "code blocks"),
    ("> quoted", 0, "quotes"),
    ("a\n\n---\n\nb", 2, "horizontal rules"),
    ("- item\n\n  | a | b |\n  |---|---|\n  | 1 | 2 |", 2, "table inside a list"),
    ("see [the page](/pay)", 0, "only absolute https://"),
    ("还款方式：\n1、自动扣款\n2、主动还款", 1, "'1、' does not start a numbered list"),
])
def test_problems_name_the_line_and_the_fix(text: str, line: int, words: str) -> None:
    found = problems(text)
    assert any(n == line and words in message for n, message in found), found


@pytest.mark.parametrize("sender", ["borrower", "agent", "system"])
def test_only_bot_messages_get_html(sender: str) -> None:
    assert message_html(sender, "**late fee** <img src=x onerror=alert(1)>") is None
    assert message_html("bot", "**late fee**") == "<p><strong>late fee</strong></p>\n"
    assert message_html("bot", "") is None
