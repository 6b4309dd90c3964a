// The chats this agent holds: each with its unread count and a preview of its last message, borrower
// messages arriving in them live (`held_message`, open on screen or not), what this browser has shown
// (read marks kept per agent in localStorage), a word when a chat is taken away, and the countdown
// before the idle requeue takes one.
import { byId as $, el } from "/static/shared/dom.js";

const WARN_BEFORE_S = 60;

const short = (id) => id.slice(0, 8);

function clockText(seconds) {
  const s = Math.max(0, Math.ceil(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

export function createInbox(app) {
  const { state, t } = app;
  const unread = new Map();  // conversation id -> borrower seqs not shown yet
  const live = new Map();    // conversation id -> messages that arrived since the last queue view
  let reads = null;          // conversation id -> last seq shown
  let readsKey = null;

  const storeKey = () => `console_read_${state.me ? state.me.id : 0}`;
  const isOpen = (id) => Boolean(state.chat && state.chat.conversation.id === id);

  function readMarks() {
    if (readsKey !== storeKey()) {
      readsKey = storeKey();
      try { reads = JSON.parse(localStorage.getItem(storeKey()) || "{}") || {}; } catch { reads = {}; }
    }
    return reads;
  }

  function saveReads() {
    const kept = {};
    for (const id of state.held.keys()) if (readMarks()[id]) kept[id] = reads[id];
    reads = kept;
    localStorage.setItem(storeKey(), JSON.stringify(kept));
  }

  const mine = (entry) => entry.status === "assigned" && entry.assigned_agent && state.me && entry.assigned_agent.id === state.me.id;

  function tellLost(id) {
    const now = state.queue.find((e) => e.conversation_id === id);
    if (now && isOpen(id) && state.chat.taken && now.assigned_agent && !state.selfAction
      && (!state.chat.notice || state.chat.notice.key === "chat_not_yours")) {
      // The open chat was frozen before this delta said who has it now: say it.
      state.chat.notice = { key: "chat_transferred", values: { agent: now.assigned_agent.display_name } };
      app.renderChat();
      return;
    }
    if (!now || state.selfAction || isOpen(id)) return;  // closed, our own doing, or said in the chat
    const label = app.chatLabel(id);
    if (now.status === "waiting") app.toast(t("toast_requeued", { id: label }), "warning", () => app.openChat(id));
    else if (now.assigned_agent) app.toast(t("toast_transferred", { id: label, agent: now.assigned_agent.display_name }));
  }

  // After each queue view: the unread messages of a held chat are the ones the service counts as
  // unanswered, plus those that arrived live since, that this browser has not shown.
  function syncHeld() {
    const held = state.queue.filter(mine);
    const ids = new Set(held.map((e) => e.conversation_id));
    for (const id of state.held.keys()) {
      if (!ids.has(id)) { tellLost(id); unread.delete(id); live.delete(id); }
    }
    state.held = new Map(held.map((e) => [e.conversation_id, e]));
    for (const entry of held) {
      const id = entry.conversation_id;
      const seen = readMarks()[id] || 0;
      const known = entry.last_message ? entry.last_message.seq : 0;
      const arrived = (live.get(id) || []).filter((m) => m.seq > known);
      live.set(id, arrived);
      const seqs = [...(entry.unanswered_seqs || []), ...arrived.map((m) => m.seq)].filter((seq) => seq > seen);
      unread.set(id, new Set(isOpen(id) ? [] : seqs));
    }
    saveReads();
  }

  function markRead(id, seq) {
    readMarks()[id] = Math.max(readMarks()[id] || 0, seq);
    localStorage.setItem(storeKey(), JSON.stringify(reads));
    const seqs = unread.get(id);
    if (seqs) for (const s of [...seqs]) if (s <= seq) seqs.delete(s);
    renderMyChats();
    app.updateTitle();
  }

  function onHeldMessage(event) {
    const id = event.conversation_id;
    const message = event.message;
    live.set(id, [...(live.get(id) || []), message]);
    if (!isOpen(id)) {
      if (!unread.has(id)) unread.set(id, new Set());
      unread.get(id).add(message.seq);
    }
    const entry = state.held.get(id);
    // The reply clock as the service keeps it (handoff.queue.sla.reply_pending_since): from the claim until
    // the first reply, then from the borrower's latest message after the last reply.
    if (entry && entry.reply_pending_since !== entry.assigned_at) entry.reply_pending_since = message.created_at || new Date().toISOString();
    renderMyChats();
    if (!isOpen(id) || document.hidden) app.alertMessage(id, message);
    if (!entry) app.scheduleRefresh();  // a chat we did not know we hold: its delta may still be on its way
  }

  // The holder replied: nothing is owed until the borrower writes again, and the card previews the reply.
  function replied(id, message) {
    const entry = state.held.get(id);
    if (entry) { entry.reply_pending_since = null; entry.unanswered_seqs = []; }
    if (entry && message) { live.set(id, [...(live.get(id) || []), message]); renderMyChats(); } else tick();
  }

  const totalUnread = () => [...state.held.keys()].reduce((n, id) => n + ((unread.get(id) || new Set()).size), 0);

  function lastMessage(entry) {
    const arrived = live.get(entry.conversation_id) || [];
    return arrived.length ? arrived[arrived.length - 1] : entry.last_message;
  }

  // Seconds left before the idle requeue takes this chat, or null when no reply is owed.
  function secondsLeft(entry) {
    const target = state.me && state.me.agent_response_target_s;
    if (!target || !entry.reply_pending_since) return null;
    return target - (Date.now() - Date.parse(entry.reply_pending_since)) / 1000;
  }

  function heldItem(entry) {
    const id = entry.conversation_id;
    const count = (unread.get(id) || new Set()).size;
    const last = lastMessage(entry);
    const preview = last ? t("preview", { who: t(`sender_${last.sender}`), text: last.text || "…" }) : t("preview_none");
    return el("li", { class: `held-chat${isOpen(id) ? " open" : ""}${count ? " has-unread" : ""}`, "data-conversation-id": id,
      tabindex: "0", onclick: () => app.openChat(id), onkeydown: (e) => { if (e.key === "Enter") app.openChat(id); } }, [
      el("div", { class: "held-head" }, [
        el("span", { class: "held-title", text: [entry.borrower_name, app.reason(entry.reason) || entry.reason].filter(Boolean).join(" · ") }),
        el("code", { class: "held-id", text: short(id) }),
        el("span", { class: "unread-count", hidden: count ? null : "", "aria-label": t("unread", { n: count }),
          text: count > 99 ? "99+" : String(count) }),
      ]),
      el("div", { class: "held-preview", title: last ? last.text || "" : "", text: preview }),
      el("div", { class: "held-meta" }, [
        el("span", { class: `badge priority-${entry.priority}`, text: t(`priority_${entry.priority}`) }),
        el("span", { class: "badge", text: entry.lang }),
        el("span", { class: "countdown", "data-countdown": "", hidden: "" }),
      ]),
    ]);
  }

  function renderMyChats() {
    const held = [...state.held.values()];
    $("my-chats").replaceChildren(...held.map(heldItem));
    $("my-chats-empty").hidden = held.length > 0;
    $("my-chats-count").textContent = held.length ? String(held.length) : "";
    app.updateTitle();
    tick();
  }

  // The countdowns: on each held chat that owes a reply within a minute, and above the open chat.
  function tick() {
    let open = null;
    for (const node of document.querySelectorAll("#my-chats [data-countdown]")) {
      const entry = state.held.get(node.closest("li").dataset.conversationId);
      const left = entry ? secondsLeft(entry) : null;
      node.hidden = left === null || left > WARN_BEFORE_S;
      if (!node.hidden) node.textContent = t("reply_due_short", { time: clockText(left) });
    }
    if (state.chat && state.chat.holder) {
      const entry = state.held.get(state.chat.conversation.id);
      open = entry ? secondsLeft(entry) : null;
    }
    const warning = $("idle-warning");
    warning.hidden = open === null || open > WARN_BEFORE_S;
    if (!warning.hidden) warning.textContent = t("reply_due", { time: clockText(open) });
  }

  function wireInbox() { setInterval(tick, 1000); }

  return { syncHeld, markRead, onHeldMessage, replied, totalUnread, renderMyChats, wireInbox };
}
