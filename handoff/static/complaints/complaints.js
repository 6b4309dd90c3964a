// The supervisors' complaints page: open and overdue complaints first (reference, the borrower's language,
// opened, deadline in the business time zone, owner, status, a link to the conversation), and for each a
// form that assigns an owner, moves the status on, marks it complex and records the outcome, all through
// PATCH /api/agent/supervisor/complaints/{id}. Text goes in through textContent only.
import { failureText, request } from "/static/shared/api.js";
import { byId as $, el } from "/static/shared/dom.js";
import { createI18n } from "/static/shared/i18n.js";
import { notice, toast } from "/static/shared/notices.js";
import { STRINGS } from "/static/complaints/i18n.js";

const i18n = createI18n(STRINGS, "console_lang");  // the console's key: one language choice for both
const t = (key, values) => i18n.t(key, values);
const STATUSES = ["open", "in_progress", "resolved"];
const PAGE = 20;  // complaints per request; "Show more" fetches the next page with the API's cursor
let data = null;  // { complaints (every page loaded so far), next_cursor, counts, tz }
let owners = [];

const locale = () => (i18n.lang === "zh" ? "zh-CN" : "en-GB");

// A moment in the business time zone; with `zone`, the zone's short name ("GMT+8", "EST") after the time.
function when(iso, zone = false) {
  const parts = new Intl.DateTimeFormat(locale(), { timeZone: data.tz, day: "numeric", month: "short", year: "numeric",
    hour: "2-digit", minute: "2-digit", timeZoneName: "short" }).formatToParts(new Date(iso));
  const text = parts.filter((p) => p.type !== "timeZoneName").map((p) => p.value).join("").trim();
  const name = parts.find((p) => p.type === "timeZoneName");
  return zone && name ? [text, el("span", { class: "tz", text: name.value })] : [text];
}

// How far the deadline is: "15 days left", or how long it has passed ("2 days overdue").
function dueText(complaint) {
  const hours = (new Date(complaint.due_at).getTime() - Date.now()) / 3600000;
  const big = Math.abs(hours) >= 24;
  const n = Math.max(1, Math.round(big ? Math.abs(hours) / 24 : Math.abs(hours)));
  const unit = `${big ? "days" : "hours"}${n === 1 ? "_one" : ""}`;
  return t(complaint.overdue ? `late_${unit}` : `left_${unit}`, { n });
}

function statusBadge(complaint) {
  if (complaint.overdue) return el("span", { class: "badge overdue", text: t("overdue") });
  return el("span", { class: `badge status-${complaint.status}`, text: t(`status_${complaint.status}`) });
}

function field(label, value, extra, kind = "") {
  return el("div", { class: `fact ${kind}`.trim() }, [el("dt", { text: label }), el("dd", {}, [].concat(value, extra || []))]);
}

function options(list, selected) {
  return list.map(([value, text]) => {
    const option = el("option", { value, text });
    option.selected = value === selected;
    return option;
  });
}

function editForm(complaint) {
  const ref = complaint.reference;
  const ownerList = owners.some((a) => a.id === complaint.owner_agent_id) || complaint.owner_agent_id === null ? owners
    : [...owners, { id: complaint.owner_agent_id, display_name: complaint.owner_name || `#${complaint.owner_agent_id}` }];
  const owner = el("select", { name: "owner" }, [
    ...(complaint.owner_agent_id === null ? [el("option", { value: "", text: t("no_owner") })] : []),
    ...options(ownerList.map((a) => [String(a.id), a.display_name]), String(complaint.owner_agent_id ?? ""))]);
  const status = el("select", { name: "status" },
    options(STATUSES.map((s) => [s, t(`status_${s}`)]), complaint.status));
  const complex = el("input", { type: "checkbox", name: "complex" });
  complex.checked = complaint.complex;
  const outcome = el("textarea", { name: "outcome", rows: "2", maxlength: "2000", placeholder: t("outcome_hint") });
  outcome.value = complaint.outcome || "";
  const save = el("button", { type: "submit", class: "save", text: t("save"), disabled: "" });
  const form = el("form", { class: "edit", "aria-label": ref }, [
    el("label", { class: "pick" }, [el("span", { text: t("owner") }), owner]),
    el("label", { class: "pick" }, [el("span", { text: t("status") }), status]),
    el("label", { class: "check" }, [complex, el("span", { text: t("complex") })]),
    el("label", { class: "outcome" }, [el("span", { text: t("outcome") }), outcome]),
    el("div", { class: "actions" }, [save]),
  ]);
  const changes = () => {
    const body = {};
    if (owner.value && Number(owner.value) !== complaint.owner_agent_id) body.owner_agent_id = Number(owner.value);
    if (status.value !== complaint.status) body.status = status.value;
    if (complex.checked !== complaint.complex) body.complex = complex.checked;
    if (outcome.value.trim() && outcome.value.trim() !== (complaint.outcome || "")) body.outcome = outcome.value.trim();
    return body;
  };
  form.addEventListener("input", () => { save.disabled = !Object.keys(changes()).length; });  // Save: only with a change
  form.addEventListener("change", () => { save.disabled = !Object.keys(changes()).length; });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = changes();
    if (!Object.keys(body).length) return;
    if (body.status === "resolved" && !outcome.value.trim()) {
      toast(t("outcome_needed", { ref }), "error");
      outcome.focus();
      return;
    }
    save.disabled = true;
    try {
      await request("PATCH", `/api/agent/supervisor/complaints/${complaint.id}`, body);
      toast(t("saved", { ref }));
      await load(true);  // what is stored now, as the server sees it (a resolved one may leave this list)
    } catch (error) {
      toast(t("save_failed", { ref, error: failureText(error, t) }), "error");
      save.disabled = false;
    }
  });
  return form;
}

function card(complaint) {
  const resolved = complaint.status === "resolved";
  const facts = [
    field(t("opened"), when(complaint.opened_at)),
    field(t("deadline"), el("time", { datetime: complaint.due_at }, when(complaint.due_at, true)),
      resolved ? null : el("span", { class: `due${complaint.overdue ? " late" : ""}`, text: dueText(complaint) }), "deadline"),
    field(t("owner"), complaint.owner_name || el("span", { class: "muted", text: t("no_owner") })),
    field(t("source"), t(`source_${complaint.source}`)),
    resolved && complaint.resolved_at ? field(t("resolved_at"), when(complaint.resolved_at)) : null,
    resolved && complaint.outcome ? field(t("outcome"), complaint.outcome, null, "wide") : null,
  ];
  const form = editForm(complaint);
  return el("article", { class: `complaint${complaint.overdue ? " is-overdue" : ""} ${complaint.status}`,
    "data-id": complaint.id, "data-reference": complaint.reference }, [
    el("header", { class: "complaint-head" }, [
      el("code", { class: "ref", text: complaint.reference }),
      statusBadge(complaint),
      complaint.overdue ? el("span", { class: `badge status-${complaint.status}`, text: t(`status_${complaint.status}`) }) : null,
      el("span", { class: "lang-tag", title: t("borrower_lang"), text: t(`lang_${complaint.lang}`) }),
    ]),
    complaint.summary ? el("p", { class: "said", text: `“${complaint.summary}”` }) : null,
    el("dl", { class: "facts" }, facts),
    el("a", { class: "chat-link", href: `/console?chat=${encodeURIComponent(complaint.conversation_id)}`, text: `${t("open_chat")} →` }),
    // A resolved complaint keeps its form folded away: reopening it or correcting the outcome is the exception.
    resolved ? el("details", { class: "edit-fold" }, [el("summary", { text: t("reopen") }), form]) : form,
  ]);
}

// How many complaints the filter has in all (the API's totals), for "Showing 20 of 45".
function total(which) {
  const { open, overdue, resolved } = data.counts;
  return which === "all" ? open + resolved : which === "overdue" ? overdue : open;
}

function render() {
  if (!data) return;
  const which = $("f-which").value;
  const list = data.complaints;
  const { open, overdue, resolved } = data.counts;
  $("summary").textContent = which === "all" ? t("summary_all", { open, overdue, resolved }) : t("summary", { open, overdue });
  $("tz-note").textContent = t("tz_note", { tz: data.tz });
  $("complaints").replaceChildren(...(list.length ? list.map(card) : [el("p", { class: "empty", text: t(`none_${which}`) })]));
  const all = Math.max(total(which), list.length);
  $("paging").hidden = !data.next_cursor && list.length <= PAGE;
  $("shown").textContent = t("shown", { shown: list.length, total: all });
  $("more").hidden = !data.next_cursor;
  $("more").textContent = t("show_more", { n: Math.min(PAGE, Math.max(1, all - list.length)) });
}

function failed(error) {
  if (error.status === 401) notice(t("login_first"), { href: "/console", text: t("login_link") });
  else if (error.status === 403) notice(t("not_allowed"));
  else notice(t("load_failed", { error: failureText(error, t) }));
  $("report").hidden = true;
}

function page(cursor, limit) {
  const query = new URLSearchParams({ which: $("f-which").value, limit: String(limit) });
  if (cursor) query.set("cursor", cursor);
  return request("GET", `/api/agent/supervisor/complaints?${query}`);
}

// The first page; after a save (`keep`) as many as were shown, so the supervisor keeps their place.
async function load(keep = false) {
  try {
    if (!owners.length) {
      const me = await request("GET", "/api/agent/me");
      $("me").textContent = me.display_name;
      const agents = (await request("GET", "/api/agent/supervisor/agents")).agents;
      owners = agents.filter((a) => a.role !== "editor" && !a.disabled);
    }
    const shown = keep && data ? data.complaints.length : 0;
    data = await page(null, Math.min(200, Math.max(PAGE, shown)));
  } catch (error) {
    failed(error);
    return;
  }
  notice("");
  $("report").hidden = false;
  render();
}

async function more() {
  const button = $("more");
  button.disabled = true;
  try {
    const next = await page(data.next_cursor, PAGE);
    const seen = new Set(data.complaints.map((c) => c.id));  // a complaint that moved up since is not shown twice
    data = { ...next, complaints: [...data.complaints, ...next.complaints.filter((c) => !seen.has(c.id))] };
    render();
  } catch (error) {
    toast(t("load_failed", { error: failureText(error, t) }), "error");
  } finally {
    button.disabled = false;
  }
}

$("more").addEventListener("click", () => more());
$("f-which").addEventListener("change", () => load());
for (const button of document.querySelectorAll("[data-lang-toggle]")) {
  button.addEventListener("click", () => { i18n.toggle(); i18n.apply(); $("toast").hidden = true; render(); });
}
i18n.apply();
load();
