// Logging in and out, and the agent's own status (online / away).
import { byId as $ } from "/static/shared/dom.js";

export function createSession(app) {
  const { state, t } = app;

  function showError(id, error) {
    const node = $(id);
    node.textContent = app.errorText(error);
    node.hidden = !error;
  }

  function showLogin(message) {
    state.me = null;
    app.closeSocket();
    $("main-view").hidden = true;
    $("login-view").hidden = false;
    showError("login-error", message ? { message } : null);
    $("login-username").focus();
  }

  async function start() {
    try {
      state.me = await app.api("GET", "/api/agent/me");
    } catch {
      showLogin();
      return;
    }
    if (state.me.role === "editor") {  // editors take no chats: their page is the unanswered questions
      location.replace("/console/unanswered");
      return;
    }
    $("login-view").hidden = true;
    $("main-view").hidden = false;
    app.renderMe();
    $("my-status").value = state.me.status === "away" ? "away" : "online";
    $("supervisor-panel").hidden = !(state.me.role === "supervisor" || state.me.role === "admin");
    $("dashboard-link").hidden = $("supervisor-panel").hidden;
    $("canned-manage").hidden = $("supervisor-panel").hidden;
    $("unanswered-link").hidden = $("supervisor-panel").hidden;
    $("complaints-link").hidden = $("supervisor-panel").hidden;
    if (state.me.status === "offline") await app.api("POST", "/api/agent/me/status", { status: "online" });
    app.openSocket();
    await Promise.all([app.refresh(), app.loadCanned()]);
    // `/console?chat=<id>` (the complaints page links conversations so) opens that chat once.
    const linked = new URLSearchParams(location.search).get("chat");
    if (linked) {
      history.replaceState(null, "", location.pathname);
      await app.openChat(linked);
    }
  }

  function wireSession() {
    $("login-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await app.api("POST", "/api/agent/login", { username: $("login-username").value, password: $("login-password").value });
        $("login-password").value = "";
        await start();
      } catch (error) {
        showError("login-error", error.status === 401 ? { message: t("login_failed") } : error);
      }
    });
    $("logout").addEventListener("click", async () => {
      try { await app.api("POST", "/api/agent/logout"); } catch { /* already gone */ }
      state.chat = null;
      showLogin();
    });
    $("my-status").addEventListener("change", async (event) => {
      try { state.me = await app.api("POST", "/api/agent/me/status", { status: event.target.value }); }
      catch (error) { app.toast(app.errorText(error), "error"); }
    });
  }

  return { showError, showLogin, start, wireSession };
}
