"""The two pages' front-end under handoff/static: ES modules only, small, one import graph without cycles,
nothing from another origin, and no way for data to reach the page as HTML."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[2] / "handoff" / "static"
VENDOR = STATIC / "vendor"
MODULES = sorted(STATIC.rglob("*.js"))
OWN_MODULES = [m for m in MODULES if VENDOR not in m.parents]  # vendored libraries are checked below
PAGES = sorted(STATIC.rglob("index.html"))
IMPORT = re.compile(r"""^\s*(?:import|export)\b[^;]*?\bfrom\s+["']([^"']+)["']""", re.MULTILINE | re.DOTALL)
HTML_SINKS = ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function")


def imports(module: Path) -> list[Path]:
    found = []
    for spec in IMPORT.findall(module.read_text(encoding="utf-8")):
        assert spec.startswith("/static/"), f"{module.relative_to(STATIC)}: import {spec!r} must be /static/... (same origin)"
        found.append(STATIC / spec.removeprefix("/static/"))
    return found


def test_there_are_modules_for_both_pages() -> None:
    names = {str(m.relative_to(STATIC)) for m in MODULES}
    assert {"shared/api.js", "shared/i18n.js", "chat/chat.js", "console/console.js"} <= names


@pytest.mark.parametrize("module", OWN_MODULES, ids=lambda m: str(m.relative_to(STATIC)))
def test_module_is_small_and_builds_dom_from_text(module: Path) -> None:
    text = module.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 300, f"{module.relative_to(STATIC)} has {len(text.splitlines())} lines (max 300)"
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))
    for sink in HTML_SINKS:
        assert sink not in code, f"{module.relative_to(STATIC)} uses {sink}: build nodes and set textContent"
    assert "http://" not in code.replace("http://www.w3.org/2000/svg", "") and "https://" not in code


def test_imports_resolve_and_have_no_cycle() -> None:
    graph = {m: imports(m) for m in MODULES}
    for module, targets in graph.items():
        for target in targets:
            assert target.is_file(), f"{module.relative_to(STATIC)} imports missing {target.relative_to(STATIC)}"
    done: set[Path] = set()

    def visit(module: Path, path: tuple[Path, ...]) -> None:
        if module in path:
            cycle = " -> ".join(str(p.relative_to(STATIC)) for p in (*path[path.index(module):], module))
            pytest.fail(f"import cycle: {cycle}")
        if module in done:
            return
        for target in graph[module]:
            visit(target, (*path, module))
        done.add(module)

    for module in graph:
        visit(module, ())


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(STATIC)))
def test_page_loads_one_module_script_from_static(page: Path) -> None:
    html = page.read_text(encoding="utf-8")
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts == [f'<script type="module" src="/static/{page.parent.name}/{page.parent.name}.js">'], scripts
    assert not re.search(r"""(?:src|href)=["']https?://""", html), "nothing may come from another origin"


@pytest.mark.parametrize("library", sorted(p for p in VENDOR.iterdir() if p.is_dir()), ids=lambda p: p.name)
def test_vendored_library_keeps_its_licence_and_version_and_writes_no_html(library: Path) -> None:
    """A library copied from its npm package (no CDN): its licence and package.json come with it."""
    assert (library / "LICENSE").is_file() and (library / "package.json").is_file()
    for module in library.glob("*.js"):
        code = module.read_text(encoding="utf-8")
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
            assert sink not in code, f"{module.relative_to(STATIC)} uses {sink}"


# Characters drawn only by a colour-emoji font (Emoji_Presentation): where none is installed, as on many Linux
# desktops and this machine, they show as an empty box. Symbols that ordinary text fonts carry (★ ● ↗) are fine.
EMOJI = re.compile(
    "[\U0001F000-\U0001FAFF\uFE0F\u200D\u231A\u231B\u23E9-\u23EC\u23F0\u23F3\u25FD\u25FE\u2614\u2615"
    "\u2648-\u2653\u267F\u2693\u26A1\u26AA\u26AB\u26BD\u26BE\u26C4\u26C5\u26CE\u26D4\u26EA\u26F2\u26F3\u26F5"
    "\u26FA\u26FD\u2705\u270A\u270B\u2728\u274C\u274E\u2753-\u2755\u2757\u2795-\u2797\u27B0\u27BF\u2B1B\u2B1C"
    "\u2B50\u2B55]"
)
ROOT = STATIC.parents[1]
SHOWN_TEXTS = [*OWN_MODULES, *PAGES, *sorted(STATIC.rglob("*.css")), ROOT / "handoff" / "texts.py",
               ROOT / "handoff" / "notices.py", *sorted((ROOT / "bot" / "domain").glob("*.yml")),
               *sorted((ROOT / "knowledge_base" / "faq").rglob("*.md"))]


def test_nothing_shown_needs_an_emoji_font() -> None:
    found = [f"{path.relative_to(ROOT)}:{n}: {match.group()!r}"
             for path in SHOWN_TEXTS
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
             for match in EMOJI.finditer(line)]
    assert found == [], "use an inline SVG or plain text instead: " + ", ".join(found)


def test_only_the_rich_text_module_parses_html() -> None:
    """A bot answer's sanitised html is parsed in one place, which copies it through its allow-list."""
    parsers = [str(m.relative_to(STATIC)) for m in OWN_MODULES if "DOMParser" in m.read_text(encoding="utf-8")]
    assert parsers == ["shared/richtext.js"]
