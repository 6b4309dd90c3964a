// Supervisor dashboard: figures for a date range and filters, the live "waiting without an answer"
// counter (refreshed every few seconds), charts, tables and their CSV. Text goes in through textContent.
import { failureText, request } from "/static/shared/api.js";
import { byId as $, el } from "/static/shared/dom.js";
import { createI18n } from "/static/shared/i18n.js";
import { bars, resizeAll, staffing } from "/static/dashboard/charts.js";
import { clock, compact, duration, number, percent } from "/static/dashboard/format.js";
import { REASONS, STRINGS } from "/static/dashboard/i18n.js";
import { barTable, heatmap, table } from "/static/dashboard/tables.js";
import "/static/dashboard/reminders.js"; // the repayment-reminder card: its own request, same filters

const i18n = createI18n(STRINGS, "console_lang");
const t = (key, values) => i18n.t(key, values);
const LIVE_EVERY_MS = 5000;
const FAQ_ROWS = 10;  // the CSV has them all
let data = null;


function isoDay(date) {
  return new Date(date.getTime() - date.getTimezoneOffset() * 60000).toISOString().slice(0, 10);
}

function query({ live = false } = {}) {
  const params = new URLSearchParams();
  if (!live) { params.set("from", $("f-from").value); params.set("to", $("f-to").value); }
  if ($("f-lang").value) params.set("lang", $("f-lang").value);
  if ($("f-channel").value) params.set("channel", $("f-channel").value);
  if (!live && $("f-team").value) params.set("team", $("f-team").value);
  return params.toString();
}

function notice(text) {
  $("notice").textContent = text || "";
  $("notice").hidden = !text;
}

function renderWaiting(w) {
  $("waiting-count").textContent = String(w.count);
  $("waiting-oldest").textContent = w.oldest_wait_s === null ? "–" : duration(w.oldest_wait_s, i18n.lang);
  $("waiting-queue").textContent = String(w.in_queue);
  $("waiting-agent").textContent = String(w.with_agent);
  $("waiting-at").textContent = t("updated", { time: clock(w.at, i18n.lang) });
  $("waiting").dataset.level = w.count === 0 ? "zero" : (w.oldest_wait_s > data?.first_response?.sla_s ? "late" : "some");
}

// With a team filter, the figures no team owns (the bot's, the live queue, borrowers who left) say so.
function allTeams(figure) {
  return Boolean(figure && data && data.range.team) && !data.team_scoped.includes(figure);
}

function scopeTag(figure) {
  return allTeams(figure) ? el("span", { class: "scope-tag", text: t("all_teams_note"), title: t("all_teams_hint") }) : null;
}

function kpi(label, value, sub, tone = "", figure = "") {
  return el("div", { class: `kpi ${tone}` }, [
    el("span", { class: "kpi-label" }, [el("span", { text: label }), scopeTag(figure)]),
    el("span", { class: "kpi-value", text: value }), el("span", { class: "kpi-sub", text: sub })]);
}

function renderKpis(d) {
  const fr = d.first_response, c = d.containment, cb = d.callbacks, s = d.satisfaction, h = d.helpfulness;
  const lang = i18n.lang;
  $("kpis").replaceChildren(
    kpi(t("containment"), percent(c.rate), t("containment_sub", { contained: c.contained, total: c.conversations }),
      "", "containment"),
    kpi(t("first_response"), `${compact(fr.p50_s, lang)} / ${compact(fr.p90_s, lang)}`,
      t("first_response_sub", { sla: duration(fr.sla_s, lang), within: percent(fr.within_sla_rate) }),
      `wide ${fr.p90_s !== null && fr.p90_s > fr.sla_s ? "bad" : ""}`),
    kpi(t("breaches"), number(fr.breaches), t("breaches_sub", { answered: fr.answered }), fr.breaches ? "bad" : ""),
    kpi(t("abandonment"), percent(d.abandonment.rate),
      t("abandonment_sub", { abandoned: d.abandonment.abandoned, handoffs: d.abandonment.handoffs }), "", "abandonment"),
    kpi(t("callbacks"), number(cb.open), t("callbacks_sub", { overdue: cb.overdue, hours: cb.overdue_after_h,
      requested: cb.requested }), cb.overdue ? "bad" : ""),
    kpi(t("complaints"), number(d.complaints.open), t("complaints_sub", { overdue: d.complaints.overdue,
      opened: d.complaints.opened }), d.complaints.overdue ? "bad" : ""),
    kpi(t("satisfaction"), s.average === null ? "–" : `${number(s.average, 1)} / 5`, t("satisfaction_sub", { n: s.responses })),
    kpi(t("helpful"), percent(h.rate), t("helpful_sub", { yes: h.helped, n: h.answers }), "", "helpfulness"),
  );
}

function reasonLabel(code) {
  return (REASONS[i18n.lang] || REASONS.en)[code] || code;
}

function renderCharts(d) {
  const weekdays = t("weekdays").split(",");
  staffing($("chart-hours"), d.hours, { arrivals: t("arrivals_per_hour"), depth: t("queue_depth"),
    online: t("agents_online") }, weekdays);
  heatmap($("heatmap"), d.hours, weekdays, t("hour"));
  bars($("chart-satisfaction"), d.satisfaction.distribution.map((r) => `${r.rating}★`),
    d.satisfaction.distribution.map((r) => r.count), { color: "rgba(6,118,71,.75)", height: 180 });
}

function renderTables(d) {
  const lang = i18n.lang, none = t("no_data");
  const secs = (v) => duration(v, lang);
  barTable($("table-reasons"), d.handoffs_by_reason.map((r) => ({ label: reasonLabel(r.reason), value: r.count })), none);
  table($("table-agents"), [{ key: "name", label: t("agent") }, { key: "chats", label: t("chats"), num: true },
    { key: "first_response_p50_s", label: t("first_p50"), num: true, format: secs },
    { key: "handle_time_p50_s", label: t("handle_p50"), num: true, format: secs },
    { key: "satisfaction", label: t("satisfaction"), num: true, format: (v) => (v === null ? "–" : number(v, 1)) },
    { key: "ratings", label: t("ratings"), num: true }], d.agents, none);
  table($("table-faqs"), [{ key: "faq_id", label: t("faq"), format: (v) => (v === "(clarify)" ? t("faq_clarify") : v) },
    { key: "answers", label: t("answers"), num: true }, { key: "helped", label: t("helped"), num: true },
    { key: "rate", label: t("rate"), num: true, format: percent }], d.helpfulness.faqs.slice(0, FAQ_ROWS), none);
  table($("table-outcomes"), [{ key: "kind", label: t("kind"), format: (v) => t(`kind_${v}`) },
    { key: "count", label: t("count"), num: true }], d.bot_outcomes, none);
  for (const link of document.querySelectorAll("a.csv")) {
    link.href = `/api/agent/dashboard/${link.dataset.table}.csv?${query()}`;
    link.setAttribute("download", `dashboard-${link.dataset.table}.csv`);
  }
}

function renderTeams(d) {
  const select = $("f-team"), chosen = d.range.team || select.value;
  select.replaceChildren(el("option", { value: "", text: t("all_teams") }),
    ...d.teams.map((team) => el("option", { value: team, text: team })));
  select.value = d.teams.includes(chosen) ? chosen : "";
  for (const node of document.querySelectorAll("[data-figure]")) {
    node.querySelector(":scope > .scope-tag, :scope > header > .scope-tag")?.remove();
    const tag = scopeTag(node.dataset.figure);
    const header = node.querySelector(":scope > header");
    if (tag && header) header.insertBefore(tag, header.querySelector(".csv"));
    else if (tag) node.append(tag);
  }
}

function render() {
  if (!data) return;
  renderTeams(data);
  renderWaiting(data.waiting);
  renderKpis(data);
  renderCharts(data);
  renderTables(data);
}

function failed(error) {
  if (error.status === 401) notice(t("login_first"));
  else if (error.status === 403) notice(t("supervisors_only"));
  else notice(t("load_failed", { error: failureText(error, t) }));
  $("board").hidden = true;
}

async function load() {
  try {
    data = await request("GET", `/api/agent/dashboard?${query()}`);
  } catch (error) {
    failed(error);
    return;
  }
  notice("");
  $("board").hidden = false;
  render();
}

async function refreshLive() {
  if (!data) return;
  try {
    data.waiting = await request("GET", `/api/agent/dashboard/waiting?${query({ live: true })}`);
    renderWaiting(data.waiting);
  } catch { /* the next tick tries again; a lost session shows on the next load */ }
}

function start() {
  const today = new Date();
  $("f-to").value = isoDay(today);
  $("f-from").value = isoDay(new Date(today.getTime() - 6 * 86400000));
  $("filters").addEventListener("submit", (event) => { event.preventDefault(); load(); });
  for (const button of document.querySelectorAll("[data-lang-toggle]")) {
    button.addEventListener("click", () => { i18n.toggle(); i18n.apply(); render(); });
  }
  let resizeTimer = null;
  window.addEventListener("resize", () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(resizeAll, 120); });
  i18n.apply();
  load();
  setInterval(refreshLive, LIVE_EVERY_MS);
}

start();
