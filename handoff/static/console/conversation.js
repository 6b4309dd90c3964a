// The open chat: its transcript (live), the operations of the agent who holds it (release, transfer,
// hand back to the bot, close with a resolution), the reply box and the agent's typing signal.
import { byId as $, el, keepLastInView } from "/static/shared/dom.js";
import { RESOLUTIONS } from "/static/console/context.js";
import { messageItem as transcriptItem } from "/static/console/transcript.js";

const lastSeqOf = (detail) => (detail.messages.length ? detail.messages[detail.messages.length - 1].seq : 0);

export function createConversation(app) {
  const { state, t } = app;
  const chatPath = (suffix) => `/api/agent/conversations/${state.chat.conversation.id}${suffix}`;

  async function openChat(conversationId) {
    try {
      const detail = await app.api("GET", `/api/agent/conversations/${conversationId}`);
      if (state.chat && state.chat.conversation.id !== conversationId) app.send({ type: "unwatch", conversation_id: state.chat.conversation.id });
      state.chat = detail;
      state.lastSeq = lastSeqOf(detail);
      app.closePicker(false);
      renderChat();
      app.send({ type: "watch", conversation_id: conversationId, after: state.lastSeq });
      app.markRead(conversationId, state.lastSeq);
      app.loadTicket();
      // One column on a phone: the chat is below the lists, so bring it into view.
      if (window.matchMedia("(max-width: 700px)").matches) $("chat").scrollIntoView({ block: "start" });
    } catch (error) {
      app.toast(app.errorText(error), "error");
    }
  }

  // Why the open chat is no longer ours, said in the agent's language; null when nothing was lost
  // (or we did it ourselves: release, transfer, close).
  function lostNotice(detail, event) {
    const entry = detail && detail.entry;
    if (entry && entry.status === "waiting") return { key: "chat_requeued" };
    const agent = (event && event.agent_name) || (entry && entry.assigned_agent && entry.assigned_agent.display_name);
    return agent ? { key: "chat_transferred", values: { agent } } : { key: "chat_not_yours" };
  }

  // The chat as it is now. `event`: the `state` event that made us look (it names the new holder).
  async function reloadChat(event) {
    if (!state.chat) return;
    const wasHolder = state.chat.holder || state.chat.taken;
    const self = state.selfAction;
    let detail = null;
    try {
      detail = await app.api("GET", chatPath(""));
    } catch (error) {
      if (error.status !== 403 && error.status !== 404) return;  // offline: keep what we show
    }
    if (!state.chat) return;
    const prior = state.chat.notice;  // as of now: a frame may have said more while we waited
    const { ticket, ticketNotice, taken } = state.chat;
    if (detail) {
      state.chat = { ...detail, ticket, ticketNotice, taken: taken && !detail.holder };
      state.lastSeq = Math.max(state.lastSeq, lastSeqOf(detail));
    } else {
      state.chat = { ...state.chat, holder: false, entry: null, frozen: true };  // no longer ours to see: freeze it
    }
    const lost = wasHolder && !state.chat.holder && !self && state.chat.conversation.state !== "closed";
    const notice = lost ? lostNotice(detail, event) : null;
    // A later look that knows less (no name) keeps what an earlier one said.
    if (!state.chat.holder && !self) state.chat.notice = notice && !(prior && notice.key === "chat_not_yours") ? notice : prior;
    else if (state.chat.holder) state.chat.notice = null;  // ours (again): nothing to explain
    else state.chat.notice = prior;  // our own doing (release, transfer): what that said stays
    renderChat();
  }

  // The service stopped streaming the open chat to us (`unwatched`: someone else holds it, or it ended). It is
  // frozen at once, with the reason in the agent's words; a look at the chat then says more when it can.
  function unwatched(event) {
    if (!state.chat || state.chat.conversation.id !== event.conversation_id || state.selfAction) return;
    if (!state.chat.holder) return;  // only watching (a waiting chat): the next look says what changed
    // The queue as last seen may still name us (its delta can come after this frame): then it says nothing.
    const entry = state.queue.find((e) => e.conversation_id === event.conversation_id);
    const known = entry && !(entry.assigned_agent && entry.assigned_agent.id === state.me.id) ? { entry } : null;
    state.chat = { ...state.chat, holder: false, frozen: true, taken: true,
      notice: event.reason === "finished" ? { key: "chat_finished" } : lostNotice(known, event) };
    renderChat();
    reloadChat(event);
  }

  const messageItem = (message) => transcriptItem(message, t);

  function appendMessage(message) {
    const list = $("transcript");
    list.append(messageItem(message));
    list.scrollTop = list.scrollHeight;
  }

  function fillResolutions() {
    const chosen = $("resolution").value;
    $("resolution").replaceChildren(...RESOLUTIONS.map((code) => el("option", { value: code, text: t(`res_${code}`) })));
    if (chosen) $("resolution").value = chosen;
  }

  function fillTransferTargets() {
    const current = state.chat && state.chat.entry && state.chat.entry.assigned_agent;
    const lang = state.chat && state.chat.conversation.lang;
    const options = state.agents.filter((a) => a.status === "online" && a.role !== "admin" && (!current || a.id !== current.id)
      && (!lang || !a.languages || a.languages.includes(lang)));
    const chosen = $("transfer-to").value;  // a live refresh must not undo the agent's choice
    $("transfer-to").replaceChildren(el("option", { value: "", text: t("transfer_to") }),
      ...options.map((a) => el("option", { value: a.id, text: a.display_name })));
    if (options.some((a) => String(a.id) === chosen)) $("transfer-to").value = chosen;
  }

  function renderChat() {
    const chat = state.chat;
    $("chat-empty").hidden = Boolean(chat);
    $("chat").hidden = !chat;
    if (!chat) return;
    $("chat-id").textContent = chat.conversation.id.slice(0, 8);
    $("chat-state").textContent = t(app.isWorkItem(chat) ? "callback" : chat.conversation.state);
    $("chat-lang").textContent = chat.conversation.lang;
    const { entry, holder } = chat;
    const supervisor = state.me.role !== "agent";
    $("claim-this").hidden = !(entry && entry.status === "waiting");
    for (const id of ["release", "transfer", "transfer-to", "hand-back", "handback-note", "close", "resolution"]) {
      $(id).disabled = !(holder || (supervisor && entry && entry.status === "assigned"));
    }
    const workItem = app.isWorkItem(chat);
    $("reply-form").hidden = workItem;
    document.querySelector("#chat .chat-actions").hidden = workItem;
    if (workItem || !holder) app.closePicker(false);
    $("canned-open").disabled = !holder;
    $("note-text").disabled = Boolean(chat.frozen);
    $("chat-notice").hidden = !chat.notice;
    $("chat-notice").textContent = chat.notice ? t(chat.notice.key, chat.notice.values) : "";
    if (chat.notice) app.showError("chat-error", null);
    $("reply-text").disabled = !holder;
    $("reply-send").disabled = !holder;
    app.renderPacket(chat.packet || {}, entry);
    app.renderCallback();
    $("transcript").replaceChildren(...chat.messages.map(messageItem));
    $("transcript").scrollTop = $("transcript").scrollHeight;
    $("notes-list").replaceChildren(...chat.notes.map((n) => el("li", {}, [el("b", { text: t("label", { label: n.agent }) }), el("span", { text: n.text })])));
    fillTransferTargets();
  }

  function stopTyping() {
    clearTimeout(state.typingTimer);
    if (state.typingSent && state.chat) app.send({ type: "typing", conversation_id: state.chat.conversation.id, on: false });
    state.typingSent = false;
  }

  async function reply(event) {
    event.preventDefault();
    const text = $("reply-text").value.trim();
    if (!text || !state.chat) return;
    const id = state.chat.conversation.id;
    try {
      const result = await app.api("POST", `/api/agent/conversations/${id}/messages`, {
        text, client_message_id: `c-${Date.now()}-${Math.random().toString(36).slice(2, 10)}` });
      $("reply-text").value = "";
      stopTyping();
      app.showError("chat-error", null);
      if (result.message.seq > state.lastSeq && state.chat && state.chat.conversation.id === id) {
        state.lastSeq = result.message.seq; state.chat.messages.push(result.message); appendMessage(result.message);
      }
      app.markRead(id, state.lastSeq);
      app.replied(id, result.message);  // the reply clock of this chat stops; its card shows the reply
    } catch (error) { app.showError("chat-error", error); }
  }

  // An operation on the open chat, then the chat as it is now.
  const operate = (suffix, body) => async () => {
    state.selfAction = true;
    try {
      const result = await app.act(() => app.api("POST", chatPath(suffix), body && body()));
      await reloadChat();
      return result;
    } finally { state.selfAction = false; }
  };

  function wireConversation() {
    $("claim-this").addEventListener("click", () => state.chat && state.chat.entry && app.claim(state.chat.entry.id));
    $("release").addEventListener("click", operate("/release"));
    $("transfer").addEventListener("click", async () => {
      const target = Number($("transfer-to").value);
      const moved = target && await operate("/transfer", () => ({ agent_id: target }))();
      if (moved && state.chat && !state.chat.holder) {  // ours no more: say to whom it went
        state.chat.notice = { key: "chat_transferred", values: { agent: moved.assigned_agent.display_name } };
        renderChat();
      }
    });
    $("hand-back").addEventListener("click", async () => {
      const note = $("handback-note").value;
      await operate("/hand-back", () => ({ note }))();
      $("handback-note").value = "";
    });
    $("close").addEventListener("click", operate("/close", () => ({ resolution_code: $("resolution").value })));
    $("reply-form").addEventListener("submit", reply);
    $("reply-text").addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); $("reply-form").requestSubmit(); }
    });
    $("reply-text").addEventListener("input", () => {
      if (!state.chat || !state.chat.holder) return;
      if (!state.typingSent) { app.send({ type: "typing", conversation_id: state.chat.conversation.id, on: true }); state.typingSent = true; }
      clearTimeout(state.typingTimer);
      state.typingTimer = setTimeout(stopTyping, 3000);
    });
    // A notice or the reply countdown above the transcript must not hide its last message.
    keepLastInView($("transcript"));
  }

  return { openChat, reloadChat, unwatched, appendMessage, renderChat, fillResolutions, fillTransferTargets, wireConversation };
}
