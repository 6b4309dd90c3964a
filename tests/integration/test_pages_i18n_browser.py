"""Both pages in headless Chromium, in English and Chinese: the module graph loads under the pages' CSP with
no error and nothing from another origin, every page dictionary has the same keys in both languages, and
every string the HTML asks for (data-i18n, -placeholder, -label) exists and is shown in the page's language."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from service_process import ServiceProcess, run_service

pytestmark = [pytest.mark.integration, pytest.mark.browser]

DICTIONARIES = {"/": ["/static/chat/i18n.js"], "/console": ["/static/console/i18n.js"]}
READY = {"/": "#status-text", "/console": "#login-view:not([hidden])"}

CHECK = """async (modules) => {
  const problems = [];
  const merged = { en: {}, zh: {} };
  for (const url of modules) {
    const module = await import(url);
    for (const [name, dict] of Object.entries(module)) {
      const en = Object.keys(dict.en), zh = Object.keys(dict.zh);
      for (const k of en) if (!(k in dict.zh)) problems.push(`${url} ${name}: '${k}' has no zh`);
      for (const k of zh) if (!(k in dict.en)) problems.push(`${url} ${name}: '${k}' has no en`);
      Object.assign(merged.en, dict.en); Object.assign(merged.zh, dict.zh);
    }
  }
  const wanted = [];
  for (const n of document.querySelectorAll("[data-i18n]")) wanted.push([n.dataset.i18n, n.textContent]);
  for (const n of document.querySelectorAll("[data-i18n-placeholder]")) wanted.push([n.dataset.i18nPlaceholder, n.placeholder]);
  for (const n of document.querySelectorAll("[data-i18n-label]")) wanted.push([n.dataset.i18nLabel, n.getAttribute("aria-label")]);
  const lang = document.documentElement.lang.startsWith("zh") ? "zh" : "en";
  for (const [key, shown] of wanted) {
    if (!(key in merged.en) || !(key in merged.zh)) problems.push(`the page asks for '${key}', missing in a dictionary`);
    else if (shown !== merged[lang][key]) problems.push(`'${key}' shows ${JSON.stringify(shown)}`);
  }
  return problems;
}"""


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    with run_service(tmp_path_factory.mktemp("svc")) as svc:
        yield svc


@pytest.mark.parametrize("path", ["/", "/console"])
@pytest.mark.parametrize(("locale", "html_lang"), [("en-US", "en"), ("zh-CN", "zh-CN")])
def test_page_strings_in_both_languages(service: ServiceProcess, browser: Any, path: str, locale: str,
                                        html_lang: str) -> None:
    context = browser.new_context(locale=locale)
    try:
        page = context.new_page()
        errors: list[str] = []
        foreign: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("request", lambda req: req.url.startswith(service.url) or foreign.append(req.url))
        page.goto(service.url + path)
        page.wait_for_selector(READY[path])
        page.wait_for_load_state("networkidle")
        assert page.evaluate("document.documentElement.lang") == html_lang
        assert page.evaluate(CHECK, DICTIONARIES[path]) == []
        assert errors == [] and foreign == []
    finally:
        context.close()
