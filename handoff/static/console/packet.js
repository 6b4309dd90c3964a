// The handoff packet of the open chat: why the borrower was handed over, a summary, the FAQs the bot
// tried (each opens its source), the borrower's turns with intent, confidence and anger.
import { byId as $, el } from "/static/shared/dom.js";

const BARS = "▁▂▃▄▅▆▇█";

function sparkline(values) {
  return values.map((v) => BARS[Math.max(0, Math.min(7, Math.round(Number(v || 0) * 7)))]).join("");
}

export function createPacket(app) {
  const { t } = app;
  const kv = (label, value) => el("div", { class: "kv" }, [el("b", { text: `${t(label)}: ` }), value]);

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

  function faqLink(candidate) {
    const match = /faq\/(en|zh)\/([a-z0-9-]+)\.md$/.exec(candidate.source || "");
    const label = `${candidate.title || candidate.id} (${Number(candidate.score || 0).toFixed(2)})`;
    if (!match) return el("span", { text: label });
    return el("a", { href: "#", text: label, onclick: (e) => { e.preventDefault(); showSource(match[1], match[2]); } });
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
    rows.push(el("div", { class: "kv" }, [el("b", { text: `${t("reason")}: ` }), el("span", { id: "packet-reason", text: reason }),
      el("b", { text: `  ${t("priority")}: ` }), el("span", { text: t(`priority_${(entry && entry.priority) || packet.priority || "normal"}`) })]));
    rows.push(kv("summary", el("span", { id: "packet-summary", text: packet.summary || (entry && entry.summary) || "" })));
    if (packet.topics && packet.topics.length) rows.push(kv("topics", el("span", { text: packet.topics.join(", ") })));
    if (packet.borrower) rows.push(borrowerRow(packet.borrower));
    if (packet.reminder) rows.push(reminderRow(packet.reminder));
    const candidates = packet.faq_candidates || [];
    rows.push(kv("faq_candidates", candidates.length
      ? el("ul", { class: "candidates" }, candidates.map((c) => el("li", {}, [faqLink(c)]))) : el("span", { text: t("none") })));
    const turns = packet.turns || [];
    if (turns.length) {
      rows.push(turnsTable(turns));
      const scores = turns.map((turn) => (turn.anger && turn.anger.score) || 0);
      rows.push(el("div", { class: "kv" }, [el("b", { text: `${t("anger_trend")}: ` }), el("span", { class: "spark", text: sparkline(scores) }),
        el("span", { class: "muted", text: packet.anger ? `  max ${Number(packet.anger.max || 0).toFixed(2)}` : "" })]));
    }
    if (packet.previous_handoff && packet.previous_handoff.note) {
      rows.push(kv("previous_handoff", el("span", { text: packet.previous_handoff.note })));
    }
    $("packet").replaceChildren(...rows);
  }

  return { renderPacket, showSource };
}
