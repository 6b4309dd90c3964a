// The agent WebSocket: queue changes, SLA alerts, borrower messages in every chat the agent holds, and
// the live messages, typing and state of the conversation being watched. Reconnects with backoff; pings to stay open.
import { openSocket as open, sendFrame } from "/static/shared/api.js";
import { byId as $ } from "/static/shared/dom.js";

export function createSocket(app) {
  const { state, t } = app;

  function setConnection(up) {
    const node = $("connection");
    node.dataset.state = up ? "online" : "offline";
    node.textContent = up ? t("connected") : t("disconnected");
  }

  function closeSocket() {
    clearInterval(state.pingTimer);
    if (state.ws) { state.ws.onclose = null; state.ws.close(); state.ws = null; }
  }

  const send = (frame) => sendFrame(state.ws, frame);

  function onFrame(event) {
    const chatId = state.chat && state.chat.conversation.id;
    switch (event.type) {
      case "queue_changed": app.scheduleRefresh(); break;
      case "queue_delta": app.applyQueueDelta(event); break;
      case "sla":
        app.toast(`${t(event.level === "breach" ? "sla_breach" : "sla_warning")}: ${event.conversation_id}`, event.level);
        app.scheduleRefresh();
        break;
      case "message":
        if (event.conversation_id === chatId && event.message.seq > state.lastSeq) {
          state.lastSeq = event.message.seq;
          state.chat.messages.push(event.message);
          app.appendMessage(event.message);
          app.markRead(chatId, event.message.seq);
          if (event.message.sender === "borrower") $("typing").hidden = true;
        }
        break;
      case "typing":
        if (event.conversation_id === chatId && event.sender === "borrower") {
          $("typing").hidden = !event.on;
          clearTimeout(state.borrowerTypingTimer);
          if (event.on) state.borrowerTypingTimer = setTimeout(() => { $("typing").hidden = true; }, 8000);
        }
        break;
      case "held_message": app.onHeldMessage(event); break;
      case "state":
      case "unwatched":  // no longer ours to see (transferred, closed): the chat freezes with a notice
        if (event.conversation_id === chatId) app.reloadChat(event);
        break;
      case "error":
        if (event.conversation_id && event.conversation_id === chatId) app.showError("chat-error", event.error);
        else if (event.error) app.toast(app.errorText(event.error), "error");
        break;
      default: break;
    }
  }

  function openSocket() {
    closeSocket();
    state.ws = open("/ws/agent", {
      onOpen: () => {
        state.wsRetry = 0;
        setConnection(true);
        send({ type: "queue_deltas" });  // changes as deltas, not a re-read of the queue per change
        if (state.chat) send({ type: "watch", conversation_id: state.chat.conversation.id, after: state.lastSeq });
        app.refresh();
        state.pingTimer = setInterval(() => send({ type: "ping" }), 20000);
      },
      onFrame,
      onClose: (event) => {
        clearInterval(state.pingTimer);
        setConnection(false);
        if (event.code === 4401) { app.showLogin(t("session_expired")); return; }
        state.wsRetry = Math.min(state.wsRetry + 1, 6);
        setTimeout(() => { if (state.me) openSocket(); }, 500 * 2 ** state.wsRetry);
      },
    });
  }

  const isConnected = () => Boolean(state.ws && state.ws.readyState === WebSocket.OPEN);

  return { setConnection, closeSocket, send, openSocket, isConnected };
}
