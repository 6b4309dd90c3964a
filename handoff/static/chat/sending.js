// What the borrower sends: messages (shown at once as pending, retried when they failed), the request
// for a person and leaving the queue. A message stays in localStorage until the service acknowledges it,
// so one typed just before a reload, a crash or a lost connection is shown again as pending and resent
// with the same client_message_id (the service stores it once, however often it arrives).
import { STORE_PENDING } from "/static/chat/context.js";
import { el } from "/static/shared/dom.js";

function newId() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  return "m" + Date.now().toString(36) + Math.random().toString(36).slice(2, 10);
}

export function createSending(app) {
  const { st, els, t } = app;

  function renderPending(p) {
    if (p.row) p.row.remove();
    const row = el("div", { class: "row mine pending-row " + (p.status === "failed" ? "failed" : "pending") }, [
      el("div", { class: "stack" }, [
        el("div", { class: "bubble", text: p.display }),
        el("div", { class: "meta", text: p.status === "failed" ? t("failed") : t("sending") }),
      ]),
    ]);
    if (p.status === "failed") row.addEventListener("click", () => { p.status = "sending"; renderPending(p); deliver(p); });
    els.messages.appendChild(row);
    p.row = row;
    app.scrollDown();
  }

  function storageKey() { return st.conv ? STORE_PENDING + st.conv.id : null; }

  function savePending() {
    const key = storageKey();
    if (!key) return;
    const kept = [...st.pending.values()].map(({ id, text, display }) => ({ id, text, display }));
    try {
      if (kept.length) localStorage.setItem(key, JSON.stringify(kept)); else localStorage.removeItem(key);
    } catch { /* storage full or disabled: the message is still sent, it just would not survive a reload */ }
  }

  // The service has this message (its reply names the client_message_id), or it can never take it.
  function forgetPending(id) {
    const p = st.pending.get(id);
    if (!p) return;
    if (p.row) p.row.remove();
    st.pending.delete(id);
    savePending();
  }

  // Before the history loads: what this browser had not seen acknowledged, shown as pending again.
  function restorePending() {
    const key = storageKey();
    let saved = [];
    try { saved = JSON.parse(localStorage.getItem(key) || "[]"); } catch { saved = []; }
    for (const s of Array.isArray(saved) ? saved : []) {
      if (!s || typeof s.id !== "string" || typeof s.text !== "string" || st.pending.has(s.id)) continue;
      const p = { id: s.id, text: s.text, display: s.display || s.text, row: null, status: "sending" };
      st.titles.set(p.text, p.display);
      st.pending.set(p.id, p);
      renderPending(p);
      els.welcome.hidden = true;
    }
  }

  // After the history: those still not in it are sent again, one after the other, in the order typed.
  async function resendRestored() {
    for (const p of [...st.pending.values()]) {
      if (st.pending.has(p.id) && p.status === "sending") await deliver(p);
    }
  }

  function dropAllPending() {
    st.pending.forEach((p) => { if (p.row) p.row.remove(); });
    st.pending.clear();
    savePending();
  }

  async function deliver(p) {
    if (st.view.state === "bot") app.showTyping("bot", true);
    try {
      const result = await app.api("POST", app.convPath("/messages"), { text: p.text, client_message_id: p.id });
      result.messages.forEach(app.addMessage);
      app.applyStateView(result);
      app.hideBanner();
    } catch (err) {
      app.showTyping("bot", false);
      if (!st.pending.has(p.id)) return;  // acknowledged meanwhile (the socket delivered it): nothing failed
      app.showBanner(app.errorText(err));
      if (err.status && err.status !== 429 && err.status < 500) { forgetPending(p.id); return; }
      p.status = "failed";
      renderPending(p);
    }
  }

  function sendText(text, display) {
    text = text.trim();
    if (!text || !st.conv) return;
    if (text.length > st.maxChars) { app.showBanner(t("error_too_long")); return; }
    const id = newId();
    const p = { id, text, display: display || text, row: null, status: "sending" };
    st.titles.set(text, p.display);
    st.pending.set(id, p);
    savePending();
    renderPending(p);
    els.welcome.hidden = true;
    deliver(p);
  }

  function flushPending() {
    st.pending.forEach((p) => { if (p.status === "failed") { p.status = "sending"; renderPending(p); deliver(p); } });
  }

  async function askForPerson(reason) {
    if (!st.conv) return;
    els.person.disabled = true;
    try { app.applyStateView(await app.api("POST", app.convPath("/handoff"), { reason: reason || "explicit_request" })); app.poll(); }
    catch (err) { app.showBanner(app.errorText(err)); }
    finally { app.renderView(); }
  }

  async function leaveQueue() {
    try { app.applyStateView(await app.api("POST", app.convPath("/leave-queue"))); app.poll(); }
    catch (err) { app.showBanner(app.errorText(err)); }
  }

  return { sendText, flushPending, askForPerson, leaveQueue, forgetPending, restorePending, resendRestored, dropAllPending };
}
