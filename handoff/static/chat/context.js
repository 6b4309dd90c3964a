// What every part of the chat page shares: its elements, its state, and calls to the borrower API
// made with the conversation's token.
import { request } from "/static/shared/api.js";
import { byId } from "/static/shared/dom.js";

export const STORE_CONV = "carloan.chat.conversation";
export const STORE_LANG = "carloan.chat.lang";
export const STORE_PENDING = "carloan.chat.pending.";  // + conversation id: messages not yet acknowledged

function findElements() {
  return {
    messages: byId("messages"), welcome: byId("welcome"), suggestions: byId("suggestions"), input: byId("input"),
    composer: byId("composer"), send: byId("send-btn"), typing: byId("typing"), typingText: byId("typing-text"),
    person: byId("person-btn"), lang: byId("lang-toggle"), statusText: byId("status-text"), statusDot: byId("status-dot"),
    queue: byId("queue-panel"), queueDetail: byId("queue-detail"), callbackOffer: byId("callback-offer"),
    leaveQueue: byId("leave-queue"), agentBar: byId("agent-bar"), agentText: byId("agent-text"),
    agentAvatar: byId("agent-avatar"), banner: byId("banner"), counter: byId("counter"),
    dialog: byId("callback-dialog"), callbackForm: byId("callback-form"), contact: byId("contact"),
    contactLabel: byId("contact-label"), preferred: byId("preferred-time"), callbackError: byId("callback-error"),
    callbackCancel: byId("callback-cancel"), ended: byId("ended"), newChat: byId("new-chat"), survey: byId("survey"),
    disclosure: byId("disclosure"), disclosureText: byId("disclosure-text"),
  };
}

// The page's parts are built on this one object (see chat.js) and call each other through it, so no
// module imports another's functions and there is no import cycle.
export function createContext(i18n) {
  const st = {
    conv: null, lastSeq: 0, rendered: new Set(), pending: new Map(), titles: new Map(), view: { state: "bot" },
    queuedAt: null, ws: null, wsReady: false, retry: 0, pollTimer: null, typingTimer: null, bannerTimer: null,
    maxChars: 2000, lastBorrowerSeq: 0, online: true,
  };
  const app = {
    i18n, st, els: findElements(), t: i18n.t,
    api: (method, path, body) => request(method, path, body, { token: st.conv && st.conv.token }),
    convPath: (suffix) => `/api/conversations/${encodeURIComponent(st.conv.id)}${suffix || ""}`,
    // A failed request in the borrower's language: the service's own messages are English and written
    // for developers ("contact: String should have at least 3 characters"), so they are never shown.
    errorText(err) {
      if (!err || !err.status) return i18n.t("error_offline");
      if (err.status === 429 || err.code === "rate_limited") return i18n.t("error_rate");
      if (err.status === 413 || err.code === "message_too_long") return i18n.t("error_too_long");
      if (err.status === 401 || err.status === 403) return i18n.t("error_session");
      if (err.code === "conflict" && /closed/.test(err.message || "")) return i18n.t("error_closed");
      return i18n.t("error_generic");
    },
  };
  return app;
}
