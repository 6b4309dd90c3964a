// What every part of the console shares: its state, its strings, and calls to the agent API (on the
// session cookie; a 401 after login means the session expired and brings back the login form).
import { request } from "/static/shared/api.js";

export const STORE_LANG = "console_lang";
export const RESOLUTIONS = ["resolved", "info_provided", "payment_arranged", "hardship_referred", "complaint_logged",
  "no_response", "duplicate", "other"];

// The console's parts are built on this one object (see console.js) and call each other through it,
// so no module imports another's functions and there is no import cycle.
export function createContext(i18n, reasons) {
  const state = {
    me: null, ws: null, wsRetry: 0, queue: [], queueAt: 0, agents: [], chat: null, lastSeq: 0, typingTimer: null,
    typingSent: false, borrowerTypingTimer: null, refreshTimer: null, pingTimer: null,
    held: new Map(), selfAction: false, deltas: false, agentsTimer: null,
  };
  const app = {
    i18n, state, t: i18n.t,
    reason: (code) => (reasons[i18n.lang] || reasons.en)[code],  // undefined when unknown
    // What to show for a failed call: the translation of the service's error code when there is one
    // (the service's own messages are English), "offline" for a network failure, else the message.
    errorText: (error) => {
      if (!error) return "";
      if (error instanceof TypeError) return i18n.t("err_offline");
      const key = `err_${error.code}`;
      const text = error.code ? i18n.t(key) : key;
      return text !== key ? text : error.message || String(error);
    },
    api: (method, path, body) => request(method, path, body, {
      onUnauthorized: () => { if (state.me && path !== "/api/agent/login") app.showLogin(app.t("session_expired")); },
    }),
  };
  return app;
}
