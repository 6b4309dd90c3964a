// Quick-reply chips under a message, and which of them may still be pressed.
import { el } from "/static/shared/dom.js";

export function chip(label, onClick) {
  return el("button", { type: "button", class: "chip", text: label, onclick: onClick });
}

export function createChips(app) {
  const { st, els } = app;

  // Buttons that act on the conversation only make sense in some states.
  function refreshActionChips(scope) {
    const state = st.view.state;
    (scope || els.messages).querySelectorAll(".quick .chip").forEach((b) => {
      const a = b.dataset.action;
      const ok = a === "handoff" ? state === "bot"
        : a === "callback" ? (state === "bot" || state === "queued") && !st.view.callback_requested
        : a === "leave_queue" ? state === "queued" : state === "bot";  // bot quick replies only reach the bot
      const row = b.closest(".quick");
      const stale = !a && row && Number(row.dataset.forSeq) < st.lastBorrowerSeq;
      b.disabled = !ok || stale || b.dataset.used === "1";
    });
  }

  function disableOldChips() {
    els.messages.querySelectorAll(".quick").forEach((row) => {
      if (Number(row.dataset.forSeq) < st.lastBorrowerSeq) row.querySelectorAll("button").forEach((x) => { x.disabled = true; });
    });
  }

  function onButton(b, m, row) {
    if (b.action === "handoff") {
      app.askForPerson(((m.payload || {}).custom || {}).type === "bot_unavailable" ? "bot_unavailable" : "explicit_request");
      return;
    }
    if (b.action === "callback") { app.openCallback(); return; }
    if (b.action === "leave_queue") { app.leaveQueue(); return; }
    row.querySelectorAll("button").forEach((x) => { x.disabled = true; x.dataset.used = "1"; });
    app.sendText(b.payload || b.title, b.title);
  }

  function chipRow(buttons, m) {
    const row = el("div", { class: "quick" });
    row.dataset.forSeq = String(m.seq);
    buttons.forEach((b) => {
      const c = chip(b.title, () => onButton(b, m, row));
      if (b.action) c.dataset.action = b.action;
      if (b.action === "handoff") c.classList.add("primary");
      row.appendChild(c);
    });
    if (m.seq < st.lastBorrowerSeq) row.querySelectorAll("button").forEach((x) => { x.disabled = true; });
    refreshActionChips(row);
    return row;
  }

  return { refreshActionChips, disableOldChips, chipRow };
}
