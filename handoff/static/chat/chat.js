// Borrower chat page: talks to the borrower API (REST + WebSocket) like any mobile app would.
// This module builds the page's parts on one context and starts the conversation.
import { createI18n } from "/static/shared/i18n.js";
import { createCallback } from "/static/chat/callback.js";
import { chip, createChips } from "/static/chat/chips.js";
import { createComposer } from "/static/chat/composer.js";
import { createContext, STORE_CONV, STORE_LANG } from "/static/chat/context.js";
import { STRINGS } from "/static/chat/i18n.js";
import { createLive } from "/static/chat/live.js";
import { createMessages } from "/static/chat/messages.js";
import { createSending } from "/static/chat/sending.js";
import { createSignIn } from "/static/chat/signin.js";
import { createStatus } from "/static/chat/status.js";
import { createSurvey } from "/static/chat/survey.js";

const app = createContext(createI18n(STRINGS, STORE_LANG));
for (const part of [createChips, createMessages, createStatus, createSending, createCallback, createLive, createComposer,
  createSignIn, createSurvey]) {
  Object.assign(app, part(app));
}
const { st, els, t, i18n } = app;

function applyI18n() {
  i18n.apply();
  document.title = t("title");
  els.suggestions.replaceChildren(...t("suggestions").map((q) => {
    const b = chip(q, () => app.sendText(q));
    b.classList.add("suggestion");
    return b;
  }));
  app.updateContactLabel();
  app.renderView();
  app.renderSurvey();
  app.renderSignIn();
}

function patchLanguage() {
  app.api("PATCH", app.convPath(), { lang: i18n.lang }).then(app.applyStateView).catch(() => {});
}

async function startConversation() {
  const created = await app.api("POST", "/api/conversations", { lang: i18n.lang, channel: "web" });
  st.conv = { id: created.id, token: created.token };
  localStorage.setItem(STORE_CONV, JSON.stringify(st.conv));
  st.lastSeq = 0;
  app.applyStateView(created);
}

// Another conversation of this borrower's (resumed at sign-in, signin.js) replaces the one this page
// started: its socket is left, its messages cleared, the other's history shown and followed live.
async function openConversation(conv) {
  const ws = st.ws;
  st.ws = null; st.wsReady = false;  // its close is not a disconnect to recover from
  if (ws) ws.close();
  for (const node of els.messages.querySelectorAll("[data-seq]")) node.remove();
  st.rendered = new Set(); st.lastSeq = 0; st.lastBorrowerSeq = 0;
  st.conv = { id: conv.id, token: conv.token };
  localStorage.setItem(STORE_CONV, JSON.stringify(st.conv));
  const page = await app.api("GET", app.convPath("/messages?after=0&limit=500"));
  page.messages.forEach(app.addMessage);
  app.applyStateView(page);
  if (st.view.lang && st.view.lang !== i18n.lang) patchLanguage();
  app.connect();
}
app.openConversation = openConversation;

// Resume the conversation this browser had (unless it ended or is no longer ours), else start one.
async function boot() {
  applyI18n();
  try {
    const saved = JSON.parse(localStorage.getItem(STORE_CONV) || "null");
    const restored = Boolean(saved && saved.id && saved.token);
    if (restored) {
      st.conv = saved;
      app.restorePending();
      try {
        const page = await app.api("GET", app.convPath("/messages?after=0&limit=500"));
        if (page.state === "closed") { app.dropAllPending(); st.conv = null; localStorage.removeItem(STORE_CONV); }
        else { page.messages.forEach(app.addMessage); app.applyStateView(page); app.resendRestored(); }
      } catch (err) {
        if (err.status === 401 || err.status === 403 || err.status === 404) { app.dropAllPending(); st.conv = null; } else { throw err; }
      }
    }
    const kept = restored && Boolean(st.conv);
    if (!st.conv) await startConversation();
    if (st.view.lang && st.view.lang !== i18n.lang) patchLanguage();
    app.connect();
    app.offerSignIn(kept);
  } catch {
    app.showBanner(t("error_generic"));
    setTimeout(boot, 3000);
  }
}
app.boot = boot;

app.wireCallback();
app.wireComposer();
app.wireScroll();
app.startClock();
els.person.addEventListener("click", () => app.askForPerson("explicit_request"));
els.newChat.addEventListener("click", () => { localStorage.removeItem(STORE_CONV); location.reload(); });
els.leaveQueue.addEventListener("click", app.leaveQueue);
els.lang.addEventListener("click", () => {
  i18n.toggle();
  applyI18n();
  if (st.conv) patchLanguage();
});
window.addEventListener("online", () => { if (!st.ws) app.connect(); app.flushPending(); });

boot();
