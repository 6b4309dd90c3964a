// Agent console: login, live queue, chat with the borrower, handoff packet, KB search, notes,
// supervisor views. Plain ES module; all untrusted text goes through textContent, never innerHTML.
import { REASONS, STRINGS } from "/static/console/i18n.js";

const RESOLUTIONS = ["resolved", "info_provided", "payment_arranged", "hardship_referred", "complaint_logged",
  "no_response", "duplicate", "other"];
const state = {
  lang: localStorage.getItem("console_lang") || ((navigator.language || "en").toLowerCase().startsWith("zh") ? "zh" : "en"),
  me: null, ws: null, wsRetry: 0, queue: [], queueAt: 0, agents: [], chat: null, lastSeq: 0, typingTimer: null,
  typingSent: false, borrowerTypingTimer: null, refreshTimer: null, pingTimer: null,
};
const $ = (id) => document.getElementById(id);
const t = (key) => (STRINGS[state.lang] && STRINGS[state.lang][key]) ?? STRINGS.en[key] ?? key;

function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null) continue;
    if (key === "text") node.textContent = value;
    else if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of [].concat(children)) if (child) node.append(child);
  return node;
}

function applyI18n() {
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of document.querySelectorAll("[data-i18n-placeholder]")) node.placeholder = t(node.dataset.i18nPlaceholder);
  for (const node of document.querySelectorAll("[data-lang-toggle]")) node.textContent = state.lang === "zh" ? "English" : "中文";
  fillResolutions();
  renderQueue();
  if (state.chat) renderChat();
  setConnection(state.ws && state.ws.readyState === WebSocket.OPEN);
}

// -- HTTP ---------------------------------------------------------------------------------------
async function api(method, path, body) {
  const response = await fetch(path, {
    method, credentials: "same-origin",
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (response.status === 401 && state.me && path !== "/api/agent/login") {
    showLogin(t("session_expired"));
  }
  if (!response.ok) {
    const error = new Error((data.error && data.error.message) || response.statusText);
    error.code = data.error && data.error.code;
    error.status = response.status;
    throw error;
  }
  return data;
}

function toast(text, kind = "info") {
  const node = el("div", { class: `toast ${kind}`, text, role: "status" });
  $("toasts").append(node);
  setTimeout(() => node.remove(), 6000);
}

function showError(id, error) {
  const node = $(id);
  node.textContent = error ? error.message || String(error) : "";
  node.hidden = !error;
}

// -- login --------------------------------------------------------------------------------------
function showLogin(message) {
  state.me = null;
  closeSocket();
  $("main-view").hidden = true;
  $("login-view").hidden = false;
  showError("login-error", message ? { message } : null);
  $("login-username").focus();
}

async function start() {
  try {
    state.me = await api("GET", "/api/agent/me");
  } catch {
    showLogin();
    return;
  }
  $("login-view").hidden = true;
  $("main-view").hidden = false;
  $("me-name").textContent = state.me.display_name;
  $("me-role").textContent = state.me.role;
  $("my-status").value = state.me.status === "away" ? "away" : "online";
  const supervisor = state.me.role === "supervisor" || state.me.role === "admin";
  $("supervisor-panel").hidden = !supervisor;
  if (state.me.status === "offline") await api("POST", "/api/agent/me/status", { status: "online" });
  openSocket();
  await refresh();
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await api("POST", "/api/agent/login", { username: $("login-username").value, password: $("login-password").value });
    $("login-password").value = "";
    await start();
  } catch (error) {
    showError("login-error", error.status === 401 ? { message: t("login_failed") } : error);
  }
});

$("logout").addEventListener("click", async () => {
  try { await api("POST", "/api/agent/logout"); } catch { /* already gone */ }
  state.chat = null;
  showLogin();
});

$("my-status").addEventListener("change", async (event) => {
  try { state.me = await api("POST", "/api/agent/me/status", { status: event.target.value }); } catch (error) { toast(error.message, "error"); }
});

for (const button of document.querySelectorAll("[data-lang-toggle]")) {
  button.addEventListener("click", () => {
    state.lang = state.lang === "zh" ? "en" : "zh";
    localStorage.setItem("console_lang", state.lang);
    applyI18n();
  });
}

// -- WebSocket ----------------------------------------------------------------------------------
function setConnection(up) {
  const node = $("connection");
  node.dataset.state = up ? "online" : "offline";
  node.textContent = up ? t("connected") : t("disconnected");
}

function closeSocket() {
  clearInterval(state.pingTimer);
  if (state.ws) { state.ws.onclose = null; state.ws.close(); state.ws = null; }
}

function send(frame) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(frame));
}

function openSocket() {
  closeSocket();
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/agent`);
  state.ws = ws;
  ws.onopen = () => {
    state.wsRetry = 0;
    setConnection(true);
    if (state.chat) send({ type: "watch", conversation_id: state.chat.conversation.id, after: state.lastSeq });
    refresh();
    state.pingTimer = setInterval(() => send({ type: "ping" }), 20000);
  };
  ws.onmessage = (event) => onEvent(JSON.parse(event.data));
  ws.onclose = (event) => {
    clearInterval(state.pingTimer);
    setConnection(false);
    if (event.code === 4401) { showLogin(t("session_expired")); return; }
    state.wsRetry = Math.min(state.wsRetry + 1, 6);
    setTimeout(() => { if (state.me) openSocket(); }, 500 * 2 ** state.wsRetry);
  };
}

function onEvent(event) {
  const chatId = state.chat && state.chat.conversation.id;
  switch (event.type) {
    case "queue_changed": scheduleRefresh(); break;
    case "sla":
      toast(`${t(event.level === "breach" ? "sla_breach" : "sla_warning")}: ${event.conversation_id}`, event.level);
      scheduleRefresh();
      break;
    case "message":
      if (event.conversation_id === chatId && event.message.seq > state.lastSeq) {
        state.lastSeq = event.message.seq;
        state.chat.messages.push(event.message);
        appendMessage(event.message);
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
    case "state":
      if (event.conversation_id === chatId) reloadChat();
      break;
    case "error":
      if (event.conversation_id && event.conversation_id === chatId) showError("chat-error", event.error);
      else if (event.error) toast(event.error.message, "error");
      break;
    default: break;
  }
}

// -- queue --------------------------------------------------------------------------------------
function scheduleRefresh() {
  clearTimeout(state.refreshTimer);
  state.refreshTimer = setTimeout(refresh, 150);
}

async function refresh() {
  if (!state.me) return;
  try {
    const data = await api("GET", "/api/agent/queue");
    state.queue = data.entries;
    state.queueAt = Date.now();
    if (state.me.role !== "agent") {
      state.agents = (await api("GET", "/api/agent/supervisor/agents")).agents;
      renderAgents();
    } else {
      state.agents = (await api("GET", "/api/agent/colleagues")).agents;
    }
    renderQueue();
    fillTransferTargets();
  } catch (error) {
    if (error.status !== 401) toast(error.message, "error");
  }
}

function waited(entry) {
  const seconds = entry.waiting_s + Math.floor((Date.now() - state.queueAt) / 1000);
  const m = Math.floor(seconds / 60);
  return `${m}:${String(seconds % 60).padStart(2, "0")}`;
}

function entryItem(entry) {
  const mine = entry.assigned_agent && state.me && entry.assigned_agent.id === state.me.id;
  const reason = (REASONS[state.lang] || REASONS.en)[entry.reason] || entry.reason;
  const actions = [];
  if (entry.status === "waiting") {
    actions.push(el("button", { type: "button", class: "primary claim", text: t("claim"),
      onclick: (e) => { e.stopPropagation(); claim(entry.id); } }));
  }
  if (entry.status === "callback") {
    actions.push(el("button", { type: "button", class: "callback-done", text: t("callback_done"),
      onclick: async (e) => { e.stopPropagation(); await act(() => api("POST", `/api/agent/queue/${entry.id}/callback-done`)); } }));
  }
  if (state.me && state.me.role !== "agent" && entry.status !== "callback" && !mine) {
    const select = el("select", { class: "assign-to", "aria-label": t("assign") },
      [el("option", { value: "", text: t("assign") }),
        ...state.agents.filter((a) => a.role !== "admin").map((a) => el("option", { value: a.id, text: `${a.display_name} (${a.load})` }))]);
    select.addEventListener("click", (e) => e.stopPropagation());
    select.addEventListener("change", async (e) => {
      if (e.target.value) await act(() => api("POST", `/api/agent/queue/${entry.id}/assign`, { agent_id: Number(e.target.value) }));
    });
    actions.push(select);
  }
  const meta = [
    el("span", { class: `badge priority-${entry.priority}`, text: t(`priority_${entry.priority}`) }),
    el("span", { class: "badge", text: entry.lang }),
    el("span", { class: "badge", text: t(entry.status) }),
    el("span", { class: "wait", "data-wait": "", text: waited(entry) }),
  ];
  if (entry.sla !== "ok") meta.push(el("span", { class: `badge sla-${entry.sla}`, text: t(entry.sla === "breached" ? "sla_breach" : "sla_warning") }));
  if (entry.assigned_agent) meta.push(el("span", { class: "held", text: `${t("held_by")} ${mine ? t("you") : entry.assigned_agent.display_name}` }));
  const body = [el("div", { class: "entry-meta" }, meta), el("div", { class: "entry-reason", text: reason }),
    el("div", { class: "entry-summary", text: entry.summary || "" })];
  if (entry.callback) {
    body.push(el("div", { class: "entry-callback", text: `${t("contact")}: ${entry.callback.contact} · ${t("preferred_time")}: ${entry.callback.preferred_time || "-"}` }));
  }
  body.push(el("div", { class: "entry-actions" }, actions));
  return el("li", { class: `entry ${mine ? "mine" : ""}`, "data-entry-id": entry.id, "data-conversation-id": entry.conversation_id,
    onclick: () => openChat(entry.conversation_id) }, body);
}

function renderQueue() {
  const list = $("queue-list");
  if (!list || !state.me) return;
  list.replaceChildren(...state.queue.map(entryItem));
  $("queue-empty").hidden = state.queue.length > 0;
  const breaches = state.queue.filter((e) => e.sla !== "ok");
  $("breach-list").replaceChildren(...breaches.map(entryItem));
}

function renderAgents() {
  $("agents-list").replaceChildren(...state.agents.map((a) => el("li", { class: `agent status-${a.status}` }, [
    el("span", { class: "dot" }), el("span", { text: `${a.display_name} (${a.role})` }),
    el("span", { class: "muted", text: ` ${t(`status_${a.status}`)} · ${t("load")} ${a.load}/${a.max_concurrent} · ${a.languages.join(",")}` }),
  ])));
}

setInterval(() => { for (const node of document.querySelectorAll("#queue-list .wait")) {
  const entry = state.queue.find((e) => String(e.id) === node.closest("li").dataset.entryId);
  if (entry) node.textContent = waited(entry);
} }, 1000);

async function act(fn) {
  try { const result = await fn(); showError("chat-error", null); await refresh(); return result; } catch (error) {
    toast(error.message, "error"); showError("chat-error", error); return null;
  }
}

async function claim(entryId) {
  const entry = await act(() => api("POST", `/api/agent/queue/${entryId}/claim`));
  if (entry) await openChat(entry.conversation_id);
}

$("take-next").addEventListener("click", async () => {
  const result = await act(() => api("POST", "/api/agent/queue/next"));
  if (result && result.entry) await openChat(result.entry.conversation_id);
  else if (result) toast(t("nothing_waiting"));
});

// -- chat ---------------------------------------------------------------------------------------
async function openChat(conversationId) {
  try {
    const detail = await api("GET", `/api/agent/conversations/${conversationId}`);
    if (state.chat && state.chat.conversation.id !== conversationId) send({ type: "unwatch", conversation_id: state.chat.conversation.id });
    state.chat = detail;
    state.lastSeq = detail.messages.length ? detail.messages[detail.messages.length - 1].seq : 0;
    renderChat();
    send({ type: "watch", conversation_id: conversationId, after: state.lastSeq });
  } catch (error) {
    toast(error.message, "error");
  }
}

async function reloadChat() {
  if (!state.chat) return;
  try {
    const detail = await api("GET", `/api/agent/conversations/${state.chat.conversation.id}`);
    state.chat = detail;
    state.lastSeq = Math.max(state.lastSeq, detail.messages.length ? detail.messages[detail.messages.length - 1].seq : 0);
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

function faqLink(candidate) {
  const match = /faq\/(en|zh)\/([a-z0-9-]+)\.md$/.exec(candidate.source || "");
  const label = `${candidate.title || candidate.id} (${Number(candidate.score || 0).toFixed(2)})`;
  if (!match) return el("span", { text: label });
  return el("a", { href: "#", text: label, onclick: (e) => { e.preventDefault(); showSource(match[1], match[2]); } });
}

async function showSource(lang, id) {
  try {
    const data = await api("GET", `/api/agent/kb/faq/${lang}/${id}`);
    const win = window.open("", "_blank");
    if (win) { win.document.title = data.source; const pre = win.document.createElement("pre"); pre.textContent = data.markdown; win.document.body.append(pre); }
  } catch (error) { toast(error.message, "error"); }
}

function sparkline(values) {
  const bars = "▁▂▃▄▅▆▇█";
  return values.map((v) => bars[Math.max(0, Math.min(7, Math.round(Number(v || 0) * 7)))]).join("");
}

function renderPacket(packet, entry) {
  const rows = [];
  const reason = (REASONS[state.lang] || REASONS.en)[packet.reason || (entry && entry.reason)] || packet.reason || "";
  rows.push(el("div", { class: "kv" }, [el("b", { text: `${t("reason")}: ` }), el("span", { id: "packet-reason", text: reason }),
    el("b", { text: `  ${t("priority")}: ` }), el("span", { text: t(`priority_${(entry && entry.priority) || packet.priority || "normal"}`) })]));
  rows.push(el("div", { class: "kv" }, [el("b", { text: `${t("summary")}: ` }), el("span", { id: "packet-summary", text: packet.summary || (entry && entry.summary) || "" })]));
  if (packet.topics && packet.topics.length) rows.push(el("div", { class: "kv" }, [el("b", { text: `${t("topics")}: ` }), el("span", { text: packet.topics.join(", ") })]));
  const candidates = packet.faq_candidates || [];
  rows.push(el("div", { class: "kv" }, [el("b", { text: `${t("faq_candidates")}: ` }),
    candidates.length ? el("ul", { class: "candidates" }, candidates.map((c) => el("li", {}, [faqLink(c)]))) : el("span", { text: t("none") })]));
  const turns = packet.turns || [];
  if (turns.length) {
    rows.push(el("table", { class: "turns" }, [
      el("thead", {}, [el("tr", {}, [t("text"), t("intent"), t("confidence"), t("anger")].map((h) => el("th", { text: h })))]),
      el("tbody", {}, turns.map((turn) => el("tr", {}, [
        el("td", { text: turn.text || "" }), el("td", { text: turn.intent || "" }),
        el("td", { text: turn.confidence === undefined ? "" : Number(turn.confidence).toFixed(2) }),
        el("td", { text: turn.anger && turn.anger.score !== undefined ? Number(turn.anger.score).toFixed(2) : "" }),
      ]))),
    ]));
    const scores = turns.map((turn) => (turn.anger && turn.anger.score) || 0);
    rows.push(el("div", { class: "kv" }, [el("b", { text: `${t("anger_trend")}: ` }), el("span", { class: "spark", text: sparkline(scores) }),
      el("span", { class: "muted", text: packet.anger ? `  max ${Number(packet.anger.max || 0).toFixed(2)}` : "" })]));
  }
  if (packet.previous_handoff && packet.previous_handoff.note) {
    rows.push(el("div", { class: "kv" }, [el("b", { text: `${t("previous_handoff")}: ` }), el("span", { text: packet.previous_handoff.note })]));
  }
  $("packet").replaceChildren(...rows);
}

function renderChat() {
  const chat = state.chat;
  $("chat-empty").hidden = Boolean(chat);
  $("chat").hidden = !chat;
  if (!chat) return;
  $("chat-id").textContent = chat.conversation.id.slice(0, 8);
  $("chat-state").textContent = t(chat.conversation.state);
  $("chat-lang").textContent = chat.conversation.lang;
  const entry = chat.entry;
  const holder = chat.holder;
  const supervisor = state.me.role !== "agent";
  $("claim-this").hidden = !(entry && entry.status === "waiting");
  for (const id of ["release", "transfer", "transfer-to", "hand-back", "handback-note", "close", "resolution"]) {
    $(id).disabled = !(holder || (supervisor && entry && entry.status === "assigned"));
  }
  $("reply-text").disabled = !holder;
  $("reply-send").disabled = !holder;
  renderPacket(chat.packet || {}, entry);
  $("transcript").replaceChildren(...chat.messages.map(messageItem));
  $("transcript").scrollTop = $("transcript").scrollHeight;
  $("notes-list").replaceChildren(...chat.notes.map((n) => el("li", {}, [el("b", { text: `${n.agent}: ` }), el("span", { text: n.text })])));
  fillTransferTargets();
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

$("claim-this").addEventListener("click", () => state.chat && state.chat.entry && claim(state.chat.entry.id));
$("release").addEventListener("click", async () => {
  await act(() => api("POST", `/api/agent/conversations/${state.chat.conversation.id}/release`));
  await reloadChat();
});
$("transfer").addEventListener("click", async () => {
  const target = Number($("transfer-to").value);
  if (!target) return;
  await act(() => api("POST", `/api/agent/conversations/${state.chat.conversation.id}/transfer`, { agent_id: target }));
  await reloadChat();
});
$("hand-back").addEventListener("click", async () => {
  await act(() => api("POST", `/api/agent/conversations/${state.chat.conversation.id}/hand-back`, { note: $("handback-note").value }));
  $("handback-note").value = "";
  await reloadChat();
});
$("close").addEventListener("click", async () => {
  await act(() => api("POST", `/api/agent/conversations/${state.chat.conversation.id}/close`, { resolution_code: $("resolution").value }));
  await reloadChat();
});

$("reply-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = $("reply-text").value.trim();
  if (!text || !state.chat) return;
  const id = state.chat.conversation.id;
  try {
    const result = await api("POST", `/api/agent/conversations/${id}/messages`, {
      text, client_message_id: `c-${Date.now()}-${Math.random().toString(36).slice(2, 10)}` });
    $("reply-text").value = "";
    stopTyping();
    showError("chat-error", null);
    if (result.message.seq > state.lastSeq && state.chat && state.chat.conversation.id === id) {
      state.lastSeq = result.message.seq; state.chat.messages.push(result.message); appendMessage(result.message);
    }
  } catch (error) { showError("chat-error", error); }
});

$("reply-text").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); $("reply-form").requestSubmit(); }
});

function stopTyping() {
  clearTimeout(state.typingTimer);
  if (state.typingSent && state.chat) send({ type: "typing", conversation_id: state.chat.conversation.id, on: false });
  state.typingSent = false;
}

$("reply-text").addEventListener("input", () => {
  if (!state.chat || !state.chat.holder) return;
  if (!state.typingSent) { send({ type: "typing", conversation_id: state.chat.conversation.id, on: true }); state.typingSent = true; }
  clearTimeout(state.typingTimer);
  state.typingTimer = setTimeout(stopTyping, 3000);
});

// -- notes and KB -------------------------------------------------------------------------------
$("note-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = $("note-text").value.trim();
  if (!text || !state.chat) return;
  try {
    await api("POST", `/api/agent/conversations/${state.chat.conversation.id}/notes`, { text });
    $("note-text").value = "";
    await reloadChat();
  } catch (error) { toast(error.message, "error"); }
});

$("kb-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const q = $("kb-query").value.trim();
  if (!q) return;
  const lang = state.chat ? state.chat.conversation.lang : "";
  try {
    const data = await api("GET", `/api/agent/kb/search?q=${encodeURIComponent(q)}${lang ? `&lang=${lang}` : ""}`);
    showError("kb-error", null);
    const items = data.results.map((hit) => el("li", { class: "hit" }, [
      el("div", { class: "hit-title", text: `${hit.title} (${hit.score.toFixed(2)})` }),
      el("div", { class: "hit-answer", text: hit.answer }),
      el("div", { class: "hit-actions" }, [
        el("button", { type: "button", class: "insert", text: t("insert"), onclick: () => {
          const box = $("reply-text");
          box.value = box.value ? `${box.value}\n${hit.answer}` : hit.answer;
          box.focus();
        } }),
        el("a", { href: "#", text: t("source"), onclick: (e) => { e.preventDefault(); showSource(hit.lang, hit.id); } }),
      ]),
    ]));
    $("kb-results").replaceChildren(...(items.length ? items : [el("li", { class: "muted", text: t("kb_none") })]));
  } catch (error) { showError("kb-error", error); $("kb-results").replaceChildren(); }
});

applyI18n();
start();
