// Agent console: login, live queue, the agent's own chats (unread counts, alerts), chat with the
// borrower, handoff packet, callback work items, canned replies, keyboard shortcuts, KB search, notes,
// supervisor views (and their editor of canned replies). This module builds the console's parts on one
// context and starts it. All untrusted text goes through textContent, never innerHTML.
import { byId as $, el } from "/static/shared/dom.js";
import { createI18n } from "/static/shared/i18n.js";
import { createAlerts } from "/static/console/alerts.js";
import { createCallback } from "/static/console/callback.js";
import { createCanned } from "/static/console/canned.js";
import { createCannedAdmin } from "/static/console/canned_admin.js";
import { createChatMore } from "/static/console/chat_more.js";
import { createContext, STORE_LANG } from "/static/console/context.js";
import { createConversation } from "/static/console/conversation.js";
import { REASONS, STRINGS } from "/static/console/i18n.js";
import { createInbox } from "/static/console/inbox.js";
import { createMenu } from "/static/console/menu.js";
import { createPacket } from "/static/console/packet.js";
import { createQueue } from "/static/console/queue.js";
import { createSession } from "/static/console/session.js";
import { createShortcuts } from "/static/console/shortcuts.js";
import { createSidebar } from "/static/console/sidebar.js";
import { createSocket } from "/static/console/socket.js";

const app = createContext(createI18n(STRINGS, STORE_LANG), REASONS);
// A toast; with `onOpen`, a button that opens what it names (and stays longer, so that it can be reached).
app.toast = (text, kind = "info", onOpen = null) => {
  const node = onOpen
    ? el("button", { type: "button", class: `toast ${kind} clickable`, text, onclick: () => { node.remove(); onOpen(); } })
    : el("div", { class: `toast ${kind}`, text, role: "status" });
  $("toasts").append(node);
  setTimeout(() => node.remove(), onOpen ? 15000 : 6000);
};
for (const part of [createSession, createSocket, createQueue, createInbox, createAlerts, createPacket, createCallback,
  createConversation, createChatMore, createSidebar, createCanned, createCannedAdmin, createShortcuts, createMenu]) {
  Object.assign(app, part(app));
}

function applyI18n() {
  app.i18n.apply();
  app.fillResolutions();
  app.renderQueue();
  app.renderAlerts();
  app.renderMe();
  if (app.state.chat) app.renderChat();
  app.renderCannedAdmin();
  app.renderHelp();
  app.setConnection(app.isConnected());
}

app.wireSession();
app.wireQueue();
app.wireConversation();
app.wireChatMore();
app.wireSidebar();
app.wireInbox();
app.wireAlerts();
app.wireCanned();
app.wireCannedAdmin();
app.wireShortcuts();
app.wireMenu();
for (const button of document.querySelectorAll("[data-lang-toggle]")) {
  button.addEventListener("click", () => { app.i18n.toggle(); applyI18n(); });
}

applyI18n();
app.start();
