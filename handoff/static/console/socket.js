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
      case "queue_changed": app.scheduleRefresh(); break;  // a service without deltas
      case "queue_delta": app.applyQueueDelta(event); break;
      case "sla": app.slaToast(event); break;  // the queue itself changes by its delta
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
        if (event.conversation_id === chatId) app.reloadChat(event);
        break;
      case "unwatched": app.unwatched(event); break;  // no longer ours to see: the chat freezes with a notice
      case "error":
        if (event.conversation_id && event.conversation_id === chatId) {
          if (!state.chat.frozen) app.showError("chat-error", event.error);  // a frozen chat already says why
        }
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
        send({ type: "queue_deltas" });  // the whole queue once, then changes as deltas: no re-read per change
        if (state.chat && !state.chat.frozen) send({ type: "watch", conversation_id: state.chat.conversation.id, after: state.lastSeq });
        app.loadAgents();
        state.pingTimer = setInterval(() => send({ type: "ping" }), 20000);
      },
      onFrame,
      onClose: (event) => {
        clearInterval(state.pingTimer);
        state.deltas = false;  // until the next socket's first delta, operations re-read the queue
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
