// The handoff packet of the open chat: why the borrower was handed over, a summary, the FAQs the bot
// tried and answered (each opens its source), the borrower's turns with intent, confidence and anger.
import { byId as $, el } from "/static/shared/dom.js";

const BARS = "▁▂▃▄▅▆▇█";

function sparkline(values) {
  return values.map((v) => BARS[Math.max(0, Math.min(7, Math.round(Number(v || 0) * 7)))]).join("");
}

export function createPacket(app) {
  const { t } = app;
  const kv = (label, value) => el("div", { class: "kv" }, [el("b", { text: t("label", { label: t(label) }) }), value]);

  async function showSource(lang, id) {
    try {
      const data = await app.api("GET", `/api/agent/kb/faq/${lang}/${id}`);
      const win = window.open("", "_blank");
      if (win) {
        win.document.title = data.source;
        const pre = win.document.createElement("pre");
        pre.textContent = data.markdown;
        win.document.body.append(pre);
      }
    } catch (error) { app.toast(app.errorText(error), "error"); }
  }

  function faqLink(faq) {
    const match = /faq\/(en|zh)\/([a-z0-9-]+)\.md$/.exec(faq.source || "");
    const title = String(faq.title || faq.id || "");
    if (!match) return el("span", { class: "faq-title", text: title });
    return el("a", { href: "#", class: "faq-title", text: title, title: t("faq_open_source"),
      onclick: (e) => { e.preventDefault(); showSource(match[1], match[2]); } });
  }

  // The FAQs the bot tried (`faq_candidates`, with their search scores) and the ones it answered with
  // (`faq_answered`, added by the service): one per line, the answered ones first, then by score.
  function faqsTried(packet) {
    const answered = new Set((packet.faq_answered || []).map((a) => String(a.faq_id)));
    const rows = new Map();
    for (const c of packet.faq_candidates || []) rows.set(String(c.id), { ...c, id: String(c.id) });
    for (const a of packet.faq_answered || []) {
      const id = String(a.faq_id);
      rows.set(id, { id, title: a.title, source: a.source, ...rows.get(id) });
    }
    const score = (f) => (f.score === null || f.score === undefined ? -1 : Number(f.score));
    return [...rows.values()].map((f) => ({ ...f, answered: answered.has(f.id) }))
      .sort((a, b) => (b.answered - a.answered) || (score(b) - score(a)));
  }

  function faqRow(faq) {
    const hasScore = faq.score !== null && faq.score !== undefined && !Number.isNaN(Number(faq.score));
    const value = hasScore ? Math.max(0, Math.min(1, Number(faq.score))) : 0;
    const fill = el("i");
    fill.style.width = `${Math.round(value * 100)}%`;  // CSSOM, not a style attribute: the CSP has no unsafe-inline
    return el("li", { class: `faq-row${faq.answered ? " answered" : ""}`, "data-faq-id": faq.id }, [
      faqLink(faq),
      el("span", { class: "faq-outcome" }, faq.answered ? [el("span", { class: "faq-tag", text: t("faq_answered_tag") })] : []),
      el("span", { class: "faq-score", title: t("faq_score_hint") }, hasScore ? [
        el("span", { class: "faq-bar", "aria-hidden": "true" }, [fill]),
        el("span", { class: "faq-value", text: value.toFixed(2) }),
      ] : []),
    ]);
  }

  function turnsTable(turns) {
    return el("table", { class: "turns" }, [
      el("thead", {}, [el("tr", {}, [t("text"), t("intent"), t("confidence"), t("anger")].map((h) => el("th", { text: h })))]),
      el("tbody", {}, turns.map((turn) => el("tr", {}, [
        el("td", { text: turn.text || "" }), el("td", { text: turn.intent || "" }),
        el("td", { text: turn.confidence === undefined ? "" : Number(turn.confidence).toFixed(2) }),
        el("td", { text: turn.anger && turn.anger.score !== undefined ? Number(turn.anger.score).toFixed(2) : "" }),
      ]))),
    ]);
  }

  // A signed-in borrower: who they are and why the chat was routed as it was (handoff.queue.routing).
  function borrowerRow(borrower) {
    const tier = borrower.tier === "vip" ? t("tier_vip") : t("tier_standard");
    const who = `${borrower.name || borrower.borrower_id} (${borrower.borrower_id}, ${tier})`;
    return kv("verified_borrower", el("span", { id: "packet-borrower", text: `${who}. ${t(`routing_${borrower.routing}`)}` }));
  }

  // The repayment reminder the borrower was answering (handoff/reminders/context.py).
  function reminderRow(r) {
    const amount = r.amount ? ` · ${r.amount} ${r.currency || ""}` : "";
    const text = `${t(`reminder_${r.kind}`)} · ${r.loan || ""} · ${t("reminder_due")} ${r.due_on}${amount}`;
    return kv("reminder", el("span", { id: "packet-reminder", text }));
  }

  function renderPacket(packet, entry) {
    const rows = [];
    const reason = app.reason(packet.reason || (entry && entry.reason)) || packet.reason || "";
    const priority = (entry && entry.priority) || packet.priority || "normal";
    rows.push(el("div", { class: "kv kv-pair" }, [
      el("span", {}, [el("b", { text: t("label", { label: t("reason") }) }), el("span", { id: "packet-reason", text: reason })]),
      el("span", {}, [el("b", { text: t("label", { label: t("priority") }) }), el("span", { class: `badge priority-${priority}`, text: t(`priority_${priority}`) })]),
    ]));
    rows.push(kv("summary", el("span", { id: "packet-summary", text: packet.summary || (entry && entry.summary) || "" })));
    if (packet.topics && packet.topics.length) rows.push(kv("topics", el("span", { text: packet.topics.join(", ") })));
    if (packet.borrower) rows.push(borrowerRow(packet.borrower));
    if (packet.reminder) rows.push(reminderRow(packet.reminder));
    const tried = faqsTried(packet);
    rows.push(el("div", { class: tried.length ? "kv faqs" : "kv" }, [el("b", { text: tried.length ? t("faq_candidates") : t("label", { label: t("faq_candidates") }) }),
      tried.length ? el("ol", { id: "packet-faqs", class: "faq-list" }, tried.map(faqRow)) : el("span", { text: t("none") })]));
    const turns = packet.turns || [];
    if (turns.length) {
      rows.push(turnsTable(turns));
      const scores = turns.map((turn) => (turn.anger && turn.anger.score) || 0);
      rows.push(el("div", { class: "kv" }, [el("b", { text: t("label", { label: t("anger_trend") }) }), el("span", { class: "spark", text: sparkline(scores) }),
        el("span", { class: "muted anger-max", text: packet.anger ? t("anger_max", { n: Number(packet.anger.max || 0).toFixed(2) }) : "" })]));
    }
    if (packet.previous_handoff && packet.previous_handoff.note) {
      rows.push(kv("previous_handoff", el("span", { text: packet.previous_handoff.note })));
    }
    $("packet").replaceChildren(...rows);
  }

  return { renderPacket, showSource };
}
