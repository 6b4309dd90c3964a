// Live updates: the conversation's WebSocket, with polling while it is down; and the borrower's
// "typing" signal to the agent.
import { openSocket } from "/static/shared/api.js";
import { STORE_CONV } from "/static/chat/context.js";

export function createLive(app) {
  const { st } = app;
  let typingSent = false;
  let typingIdle = null;

  async function poll() {
    if (!st.conv) return;
    try {
      const page = await app.api("GET", app.convPath("/messages?after=" + st.lastSeq));
      page.messages.forEach(app.addMessage);
      app.applyStateView(page);
      app.setOnline(true);
    } catch { app.setOnline(false); }
  }

  function startPolling() {
    if (st.pollTimer) return;
    st.pollTimer = setInterval(poll, 3000);
  }

  function stopPolling() { clearInterval(st.pollTimer); st.pollTimer = null; }

  function onFrame(data) {
    switch (data.type) {
      case "message": app.addMessage(data.message); break;
      case "state": app.applyStateView(data); break;
      case "typing": app.showTyping(data.sender, data.on); break;
      case "identity": if (data.expired) app.signInExpired(); break;
      case "ready": st.wsReady = true; st.retry = 0; app.setOnline(true); stopPolling(); app.flushPending(); break;
      case "error": if (data.error) app.showBanner(app.errorText({ status: 400, code: data.error.code, message: data.error.message })); break;
      default: break;
    }
  }

  function connect() {
    if (!st.conv) return;
    st.ws = openSocket("/ws/conversations/" + encodeURIComponent(st.conv.id), {
      onOpen: (ws) => ws.send(JSON.stringify({ type: "auth", token: st.conv.token, after: st.lastSeq })),
      onFrame,
      onClose: (ev, ws) => {
        if (st.ws !== ws) return;
        st.ws = null; st.wsReady = false;
        if (ev.code === 4401 || ev.code === 4403) { localStorage.removeItem(STORE_CONV); st.conv = null; app.boot(); return; }
        app.setOnline(false);
        startPolling();
        setTimeout(connect, Math.min(15000, 1000 * Math.pow(2, st.retry++)));
      },
    });
  }

  function signalTyping() {
    if (!st.ws || !st.wsReady || st.view.state === "bot") return;
    if (!typingSent) { st.ws.send(JSON.stringify({ type: "typing", on: true })); typingSent = true; }
    clearTimeout(typingIdle);
    typingIdle = setTimeout(() => {
      if (st.ws && st.wsReady) st.ws.send(JSON.stringify({ type: "typing", on: false }));
      typingSent = false;
    }, 2500);
  }

  return { poll, connect, signalTyping };
}
