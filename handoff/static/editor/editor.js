// The editors' unanswered-questions report: clusters of a date range (count, trend, examples, nearest FAQ),
// and "answered by FAQ X", which files a cluster's wordings as X's test questions. Text goes in through
// textContent only.
import { failureText, request } from "/static/shared/api.js";
import { byId as $, el } from "/static/shared/dom.js";
import { createI18n } from "/static/shared/i18n.js";
import { notice, toast } from "/static/shared/notices.js";
import { STRINGS } from "/static/editor/i18n.js";

const i18n = createI18n(STRINGS, "console_lang");
const t = (key, values) => i18n.t(key, values);
const FILERS = ["editor", "admin"];
const TREND_ICON = { rising: "↑", falling: "↓", steady: "→" };
const PAGE = 24;  // clusters shown at first and per "show more" (a week holds hundreds, most asked once)
let shown = PAGE;
let me = null;
let data = null;
const faqs = { en: [], zh: [] };

function isoDay(date) {
  return new Date(date.getTime() - date.getTimezoneOffset() * 60000).toISOString().slice(0, 10);
}

function query() {
  const params = new URLSearchParams({ from: $("f-from").value, to: $("f-to").value });
  if ($("f-lang").value) params.set("lang", $("f-lang").value);
  return params.toString();
}

function day(iso) {
  return new Date(iso).toLocaleDateString(i18n.lang === "zh" ? "zh-CN" : "en-GB", { day: "numeric", month: "short" });
}

function faqTitle(lang, id) {
  const found = faqs[lang].find((f) => f.id === id);
  return found ? `${found.title} (${id})` : id;
}

function markForm(cluster) {
  const select = el("select", { class: "faq-pick", "aria-label": t("answered_by") },
    [el("option", { value: "", text: t("pick_faq") }),
      ...faqs[cluster.lang].map((f) => el("option", { value: f.id, text: `${f.title} · ${f.id}` }))]);
  select.value = cluster.answered_by || cluster.nearest_faq || "";  // "" when that FAQ is not in the list
  const button = el("button", { type: "submit", class: "mark", text: t("mark") });
  button.disabled = !select.value;
  select.addEventListener("change", () => { button.disabled = !select.value; });
  const form = el("form", { class: "mark-form" }, [el("label", { class: "mark-label", text: t("answered_by") }),
    select, button]);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!select.value) return;
    button.disabled = true;
    try {
      const result = await request("POST", "/api/agent/unanswered/answered",
        { lang: cluster.lang, faq_id: select.value, wordings: cluster.wordings });
      toast(result.added.length ? t("added", { n: result.added.length, faq: select.value })
        : t("added_none", { faq: select.value }));
      await load();  // what is filed now, as the server sees it
    } catch (error) {
      toast(t("mark_failed", { error: failureText(error, t) }), "error");
      button.disabled = false;
    }
  });
  return form;
}

function clusterCard(cluster) {
  const [first, ...others] = cluster.examples;
  const kinds = Object.entries(cluster.kinds).map(([kind, n]) => el("span", { class: "chip", text: `${t(`kind_${kind}`)} ${n}` }));
  const nearest = cluster.nearest_faq
    ? [el("span", { class: "faq-id", text: faqTitle(cluster.lang, cluster.nearest_faq) }),
      cluster.nearest_score === null ? null : el("span", { class: "score", text: t("score", { score: cluster.nearest_score.toFixed(2) }) })]
    : [el("span", { class: "muted", text: t("nearest_none") })];
  const rest = cluster.wordings.slice(cluster.examples.length);
  const filed = cluster.answered_by
    ? el("p", { class: "filed", text: `✓ ${t("filed_as", { faq: faqTitle(cluster.lang, cluster.answered_by) })}` })
    : (cluster.filed ? el("p", { class: "filed partial", text: t("filed_some", { filed: cluster.filed, n: cluster.distinct_wordings }) }) : null);
  return el("article", { class: `cluster${cluster.answered_by ? " done" : ""}`, "data-id": cluster.id, "data-lang": cluster.lang }, [
    el("header", { class: "cluster-head" }, [
      el("span", { class: "count", text: t("asked", { count: cluster.count }) }),
      el("span", { class: `trend ${cluster.trend}`, title: t("trend_detail", { earlier: cluster.earlier, later: cluster.later }),
        text: `${TREND_ICON[cluster.trend]} ${t(`trend_${cluster.trend}`)} · ${cluster.earlier} → ${cluster.later}` }),
      el("span", { class: "lang-tag", text: t(`lang_${cluster.lang}`) }),
    ]),
    el("h2", { class: "lead", text: `“${first}”` }),
    others.length ? el("ul", { class: "examples" }, others.map((w) => el("li", { text: w }))) : null,
    rest.length ? el("details", { class: "wordings" }, [el("summary", { text: t("more_wordings", { n: cluster.distinct_wordings }) }),
      el("ul", { class: "examples" }, rest.map((w) => el("li", { text: w })))]) : null,
    el("div", { class: "kinds" }, kinds),
    el("dl", { class: "nearest" }, [el("dt", { text: t("nearest") }), el("dd", {}, nearest)]),
    filed,
    me && FILERS.includes(me.role) ? markForm(cluster) : null,
  ]);
}

function renderClusters() {
  if (!data) return;
  const end = new Date(new Date(data.range.to).getTime() - 1);
  $("summary").textContent = t("summary", { questions: data.questions, clusters: data.clusters.length,
    from: day(data.range.from), to: day(end.toISOString()) });
  const left = data.clusters.length - shown;
  const more = left > 0 ? el("button", { type: "button", class: "more", id: "more",
    text: t("show_more", { n: Math.min(PAGE, left), left }),
    onclick: () => { shown += PAGE; renderClusters(); } }) : null;
  $("clusters").replaceChildren(...(data.clusters.length ? data.clusters.slice(0, shown).map(clusterCard)
    : [el("p", { class: "empty", text: t("no_clusters") })]));
  $("more-slot").replaceChildren(...(more ? [more] : []));
}

function failed(error) {
  if (error.status === 401) notice(t("login_first"), { href: "/console", text: t("login_link") });
  else if (error.status === 403) notice(t("not_allowed"));
  else notice(t("load_failed", { error: failureText(error, t) }));
  $("report").hidden = true;
}

async function loadFaqs() {
  const found = await request("GET", "/api/agent/unanswered/faqs");
  faqs.en = found.faqs.filter((f) => f.lang === "en");
  faqs.zh = found.faqs.filter((f) => f.lang === "zh");
}

async function load() {
  try {
    if (!me) {
      me = await request("GET", "/api/agent/me");
      $("me").textContent = me.display_name;
      $("dashboard-link").hidden = !["supervisor", "admin"].includes(me.role);
      $("console-link").hidden = me.role === "editor";
      $("logout").hidden = me.role !== "editor";
      await loadFaqs();
    }
    const fresh = await request("GET", `/api/agent/unanswered?${query()}`);
    if (!data || data.range.from !== fresh.range.from || data.range.lang !== fresh.range.lang) shown = PAGE;
    data = fresh;
  } catch (error) {
    failed(error);
    return;
  }
  notice("");
  $("report").hidden = false;
  renderClusters();
}

function start() {
  const today = new Date();
  $("f-to").value = isoDay(today);
  $("f-from").value = isoDay(new Date(today.getTime() - 6 * 86400000));
  $("filters").addEventListener("submit", (event) => { event.preventDefault(); load(); });
  $("logout").addEventListener("click", async () => {
    try { await request("POST", "/api/agent/logout"); } catch { /* already gone */ }
    location.assign("/console");
  });
  for (const button of document.querySelectorAll("[data-lang-toggle]")) {
    button.addEventListener("click", () => { i18n.toggle(); i18n.apply(); renderClusters(); });
  }
  i18n.apply();
  load();
}

start();
