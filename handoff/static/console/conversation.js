// The open chat: its transcript (live), the operations of the agent who holds it (release, transfer,
// hand back to the bot, close with a resolution), the reply box and the agent's typing signal.
import { byId as $, el } from "/static/shared/dom.js";
import { RESOLUTIONS } from "/static/console/context.js";

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
      renderChat();
      app.send({ type: "watch", conversation_id: conversationId, after: state.lastSeq });
    } catch (error) {
      app.toast(error.message, "error");
    }
  }

  async function reloadChat() {
    if (!state.chat) return;
    try {
      const detail = await app.api("GET", chatPath(""));
      state.chat = detail;
      state.lastSeq = Math.max(state.lastSeq, lastSeqOf(detail));
      renderChat();
    } catch { /* no longer visible to us */ }
  }

  function senderLabel(message) {
    if (message.sender === "agent") return message.agent_name || t("sender_agent");
    return t(`sender_${message.sender}`);
  }

  function messageItem(message) {
    return el("li", { class: `msg ${message.sender}`, "data-seq": message.seq }, [
      el("span", { class: "who", text: senderLabel(message) }),
      el("span", { class: "text", text: message.text }),
      el("time", { text: message.created_at ? new Date(message.created_at).toLocaleTimeString() : "" }),
    ]);
  }

  function appendMessage(message) {
    const list = $("transcript");
    list.append(messageItem(message));
    list.scrollTop = list.scrollHeight;
  }

  function fillResolutions() {
    $("resolution").replaceChildren(...RESOLUTIONS.map((code) => el("option", { value: code, text: t(`res_${code}`) })));
  }

  function fillTransferTargets() {
    const current = state.chat && state.chat.entry && state.chat.entry.assigned_agent;
    const options = state.agents.filter((a) => a.status === "online" && a.role !== "admin" && (!current || a.id !== current.id));
    $("transfer-to").replaceChildren(el("option", { value: "", text: t("transfer_to") }),
      ...options.map((a) => el("option", { value: a.id, text: a.display_name })));
  }

  function renderChat() {
    const chat = state.chat;
    $("chat-empty").hidden = Boolean(chat);
    $("chat").hidden = !chat;
    if (!chat) return;
    $("chat-id").textContent = chat.conversation.id.slice(0, 8);
    $("chat-state").textContent = t(chat.conversation.state);
    $("chat-lang").textContent = chat.conversation.lang;
    const { entry, holder } = chat;
    const supervisor = state.me.role !== "agent";
    $("claim-this").hidden = !(entry && entry.status === "waiting");
    for (const id of ["release", "transfer", "transfer-to", "hand-back", "handback-note", "close", "resolution"]) {
      $(id).disabled = !(holder || (supervisor && entry && entry.status === "assigned"));
    }
    $("reply-text").disabled = !holder;
    $("reply-send").disabled = !holder;
    app.renderPacket(chat.packet || {}, entry);
    $("transcript").replaceChildren(...chat.messages.map(messageItem));
    $("transcript").scrollTop = $("transcript").scrollHeight;
    $("notes-list").replaceChildren(...chat.notes.map((n) => el("li", {}, [el("b", { text: `${n.agent}: ` }), el("span", { text: n.text })])));
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
    } catch (error) { app.showError("chat-error", error); }
  }

  // An operation on the open chat, then the chat as it is now.
  const operate = (suffix, body) => async () => {
    await app.act(() => app.api("POST", chatPath(suffix), body && body()));
    await reloadChat();
  };

  function wireConversation() {
    $("claim-this").addEventListener("click", () => state.chat && state.chat.entry && app.claim(state.chat.entry.id));
    $("release").addEventListener("click", operate("/release"));
    $("transfer").addEventListener("click", async () => {
      const target = Number($("transfer-to").value);
      if (target) await operate("/transfer", () => ({ agent_id: target }))();
    });
    $("hand-back").addEventListener("click", async () => {
      const note = $("handback-note").value;
      await app.act(() => app.api("POST", chatPath("/hand-back"), { note }));
      $("handback-note").value = "";
      await reloadChat();
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
  }

  return { openChat, reloadChat, appendMessage, renderChat, fillResolutions, fillTransferTargets, wireConversation };
}
