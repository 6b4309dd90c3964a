// A callback work item: the open chat's callback ticket (reference, due time, preferred time, attempts)
// above its transcript. The number stays masked until this agent starts the callback; then the service
// shows it in full to this agent only (and records each showing). The agent records the outcome:
// reached / wrong number finish it, no answer / try again later put it back in the list.
import { byId as $, el } from "/static/shared/dom.js";

export const OUTCOMES = ["reached", "no_answer", "wrong_number", "retry"];
const FINAL = ["reached", "wrong_number"];

export function createCallback(app) {
  const { state, t } = app;
  const base = (ticket) => `/api/agent/callbacks/${ticket.ticket_id}`;

  // The ticket of the open chat: what the service said last (start, outcome, view), else the queue entry's copy.
  function ticketOf(chat) {
    if (!chat) return null;
    const fromEntry = chat.entry && chat.entry.status === "callback" ? chat.entry.callback : null;
    return chat.ticket || fromEntry;
  }

  const isMine = (ticket) => ticket.status === "in_progress" && state.me && ticket.worked_by_agent_id === state.me.id;
  const when = (iso) => (iso ? new Date(iso).toLocaleString(app.i18n.lang === "zh" ? "zh-CN" : "en-US",
    { weekday: "short", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" }) : "-");
  const kv = (label, value) => el("div", { class: "kv" }, [el("b", { text: t("label", { label: t(label) }) }), value]);

  // What the service said about `chat`'s ticket, kept on the chat shown now too: a reload of the chat while
  // we waited replaced state.chat with a fresh object that still holds the ticket as it was before.
  function keep(chat, fields) {
    Object.assign(chat, fields);
    const now = state.chat;
    if (now && now !== chat && now.conversation && chat.conversation && now.conversation.id === chat.conversation.id) {
      Object.assign(now, fields);
    }
  }

  // A chat opened on a callback that this agent is working: ask for the full number (audited).
  async function loadTicket() {
    const chat = state.chat;
    const ticket = ticketOf(chat);
    if (!ticket || chat.ticket || !isMine(ticket)) return;
    try {
      const full = await app.api("GET", base(ticket));
      keep(chat, { ticket: full });
      renderCallback();
    } catch (error) { app.showError("chat-error", error); }
  }

  async function start() {
    const chat = state.chat;
    try {
      keep(chat, { ticket: await app.api("POST", `${base(ticketOf(chat))}/start`) });
      app.showError("chat-error", null);
    } catch (error) { app.showError("chat-error", error); }
    renderCallback();
  }

  async function record() {
    const chat = state.chat;
    const outcome = $("cb-outcome").value;
    try {
      const ticket = await app.api("POST", `${base(ticketOf(chat))}/outcome`, { outcome, note: $("cb-note").value });
      const words = t(`outcome_${outcome}`);
      keep(chat, { ticket, ticketNotice: FINAL.includes(outcome) ? t("cb_done", { outcome: words })
        : t("cb_again", { outcome: words, due: when(ticket.due_at) }) });
      app.showError("chat-error", null);
    } catch (error) { app.showError("chat-error", error); }
    renderCallback();
  }

  function contact(ticket) {
    if (isMine(ticket) && ticket.contact_full) {
      const dial = ticket.contact_method === "phone" ? `tel:${ticket.contact.replace(/[^\d+]/g, "")}` : null;
      return dial ? el("a", { id: "cb-contact", class: "cb-contact full", href: dial, text: ticket.contact })
        : el("span", { id: "cb-contact", class: "cb-contact full", text: ticket.contact });
    }
    return el("span", { id: "cb-contact", class: "cb-contact masked", text: ticket.contact || "-" });
  }

  function controls(ticket) {
    if (ticket.status === "done") return [];
    if (isMine(ticket)) {
      return [el("div", { class: "cb-outcome" }, [
        el("label", {}, [el("span", { text: t("cb_outcome") }),
          el("select", { id: "cb-outcome" }, OUTCOMES.map((o) => el("option", { value: o, text: t(`outcome_${o}`) })))]),
        el("input", { id: "cb-note", maxlength: "1000", placeholder: t("cb_note"), "aria-label": t("cb_note") }),
        el("button", { type: "button", id: "cb-record", class: "primary", text: t("cb_record"), onclick: record }),
      ])];
    }
    if (ticket.worked_by_agent_id) return [el("p", { class: "muted", text: t("cb_other") })];
    return [el("button", { type: "button", id: "cb-start", class: "primary", text: t("cb_start"), onclick: start })];
  }

  function renderCallback() {
    const chat = state.chat;
    const ticket = ticketOf(chat);
    $("callback-panel").hidden = !ticket;
    if (!ticket) return;
    const overdue = ticket.escalated || (ticket.status !== "done" && ticket.due_at && Date.parse(ticket.due_at) < Date.now());
    const head = el("div", { class: "cb-head" }, [
      el("h3", { text: t("cb_title", { ref: ticket.reference || "" }) }),
      el("span", { class: `badge cb-status-${ticket.status}`, text: t(`cb_status_${ticket.status}`) }),
      overdue ? el("span", { class: "badge sla-breached", text: t("cb_overdue") }) : null,
    ]);
    const facts = el("div", { class: "cb-facts" }, [
      kv("cb_number", contact(ticket)), kv("cb_preferred", el("span", { text: ticket.preferred_time || "-" })),
      kv("cb_due", el("span", { text: when(ticket.due_at) })), kv("cb_attempts", el("span", { text: String(ticket.attempts || 0) })),
    ]);
    const hint = ticket.status === "done" ? null
      : el("p", { class: "muted cb-hint", text: t(isMine(ticket) ? "cb_mine_hint" : "cb_masked_hint") });
    const notice = chat.ticketNotice ? el("p", { id: "cb-notice", class: "notice", role: "status", text: chat.ticketNotice }) : null;
    $("callback-panel").replaceChildren(...[head, facts, hint, notice, ...controls(ticket)].filter(Boolean));
  }

  const isWorkItem = (chat) => Boolean(ticketOf(chat));

  return { renderCallback, loadTicket, isWorkItem };
}
