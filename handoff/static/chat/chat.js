/* Borrower chat page: talks to the borrower API (REST + WebSocket) like any mobile app would. */
"use strict";
(function () {
  const T = window.CHAT_I18N;
  const $ = (id) => document.getElementById(id);
  const els = {
    messages: $("messages"), welcome: $("welcome"), suggestions: $("suggestions"), input: $("input"),
    composer: $("composer"), send: $("send-btn"), typing: $("typing"), typingText: $("typing-text"),
    person: $("person-btn"), lang: $("lang-toggle"), statusText: $("status-text"), statusDot: $("status-dot"),
    queue: $("queue-panel"), queueDetail: $("queue-detail"), callbackOffer: $("callback-offer"),
    leaveQueue: $("leave-queue"), agentBar: $("agent-bar"), agentText: $("agent-text"), agentAvatar: $("agent-avatar"), banner: $("banner"),
    counter: $("counter"), dialog: $("callback-dialog"), callbackForm: $("callback-form"),
    contact: $("contact"), contactLabel: $("contact-label"), preferred: $("preferred-time"),
    callbackError: $("callback-error"), callbackCancel: $("callback-cancel"), ended: $("ended"), newChat: $("new-chat"),
  };
  const STORE_CONV = "carloan.chat.conversation";
  const STORE_LANG = "carloan.chat.lang";

  const st = {
    lang: pickLanguage(), conv: null, lastSeq: 0, rendered: new Set(), pending: new Map(),
    titles: new Map(), view: { state: "bot" }, queuedAt: null, ws: null, wsReady: false,
    retry: 0, pollTimer: null, typingTimer: null, maxChars: 2000, lastBorrowerSeq: 0, online: true,
  };

  function pickLanguage() {
    const saved = localStorage.getItem(STORE_LANG);
    if (saved === "en" || saved === "zh") return saved;
    const langs = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || "en"];
    for (const l of langs) {
      const low = String(l).toLowerCase();
      if (low.startsWith("zh")) return "zh";
      if (low.startsWith("en")) return "en";
    }
    return "en";
  }

  function t(key, values) {
    let s = (T[st.lang] && T[st.lang][key]) || T.en[key] || key;
    if (values) for (const [k, v] of Object.entries(values)) s = s.split("{" + k + "}").join(String(v));
    return s;
  }

  function applyI18n() {
    document.documentElement.lang = t("html_lang");
    document.title = t("title");
    document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
    document.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
    els.lang.textContent = t("lang_switch");
    els.lang.setAttribute("aria-label", t("lang_switch_label"));
    els.send.setAttribute("aria-label", t("send"));
    els.suggestions.replaceChildren(...T[st.lang].suggestions.map((q) => {
      const b = chip(q, () => sendText(q));
      b.classList.add("suggestion");
      return b;
    }));
    updateContactLabel();
    renderView();
  }

  // ---- API -------------------------------------------------------------------------------
  async function api(method, path, body) {
    const headers = { "Content-Type": "application/json" };
    if (st.conv) headers.Authorization = "Bearer " + st.conv.token;
    const resp = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    let data = null;
    try { data = await resp.json(); } catch (_) { data = null; }
    if (!resp.ok) {
      const err = new Error((data && data.error && data.error.message) || resp.statusText);
      err.status = resp.status;
      err.code = data && data.error && data.error.code;
      throw err;
    }
    return data;
  }
  const convPath = (suffix) => "/api/conversations/" + encodeURIComponent(st.conv.id) + (suffix || "");

  async function startConversation() {
    const created = await api("POST", "/api/conversations", { lang: st.lang, channel: "web" });
    st.conv = { id: created.id, token: created.token };
    localStorage.setItem(STORE_CONV, JSON.stringify(st.conv));
    st.lastSeq = 0;
    applyStateView(created);
  }

  async function boot() {
    applyI18n();
    try {
      const saved = JSON.parse(localStorage.getItem(STORE_CONV) || "null");
      if (saved && saved.id && saved.token) {
        st.conv = saved;
        try {
          const page = await api("GET", convPath("/messages?after=0&limit=500"));
          if (page.state === "closed") { st.conv = null; localStorage.removeItem(STORE_CONV); }
          else { page.messages.forEach(addMessage); applyStateView(page); }
        } catch (err) {
          if (err.status === 401 || err.status === 403 || err.status === 404) { st.conv = null; } else { throw err; }
        }
      }
      if (!st.conv) await startConversation();
      if (st.view.lang && st.view.lang !== st.lang) api("PATCH", convPath(), { lang: st.lang }).then(applyStateView).catch(() => {});
      connect();
    } catch (err) {
      showBanner(t("error_generic"));
      setTimeout(boot, 3000);
    }
  }

  // ---- live updates: WebSocket, with polling while it is down -----------------------------
  function connect() {
    if (!st.conv) return;
    const proto = location.protocol === "https:" ? "wss://" : "ws://";
    const ws = new WebSocket(proto + location.host + "/ws/conversations/" + encodeURIComponent(st.conv.id));
    st.ws = ws;
    ws.onopen = () => ws.send(JSON.stringify({ type: "auth", token: st.conv.token, after: st.lastSeq }));
    ws.onmessage = (ev) => {
      let data;
      try { data = JSON.parse(ev.data); } catch (_) { return; }
      handleEvent(data);
    };
    ws.onclose = (ev) => {
      if (st.ws !== ws) return;
      st.ws = null; st.wsReady = false;
      if (ev.code === 4401 || ev.code === 4403) { localStorage.removeItem(STORE_CONV); st.conv = null; boot(); return; }
      setOnline(false);
      startPolling();
      const delay = Math.min(15000, 1000 * Math.pow(2, st.retry++));
      setTimeout(connect, delay);
    };
  }

  function handleEvent(data) {
    switch (data.type) {
      case "message": addMessage(data.message); break;
      case "state": applyStateView(data); break;
      case "typing": showTyping(data.sender, data.on); break;
      case "ready": st.wsReady = true; st.retry = 0; setOnline(true); stopPolling(); flushPending(); break;
      case "error": if (data.error) showBanner(data.error.message); break;
      default: break;
    }
  }

  function startPolling() {
    if (st.pollTimer) return;
    st.pollTimer = setInterval(poll, 3000);
  }
  function stopPolling() { clearInterval(st.pollTimer); st.pollTimer = null; }
  async function poll() {
    if (!st.conv) return;
    try {
      const page = await api("GET", convPath("/messages?after=" + st.lastSeq));
      page.messages.forEach(addMessage);
      applyStateView(page);
      setOnline(true);
    } catch (_) { setOnline(false); }
  }

  // ---- messages ---------------------------------------------------------------------------
  function addMessage(m) {
    if (!m || st.rendered.has(m.seq)) return;
    st.rendered.add(m.seq);
    if (m.seq > st.lastSeq) st.lastSeq = m.seq;
    if (m.client_message_id && st.pending.has(m.client_message_id)) {
      const p = st.pending.get(m.client_message_id);
      if (p.row) p.row.remove();
      st.pending.delete(m.client_message_id);
    }
    if (m.sender === "borrower") { st.lastBorrowerSeq = Math.max(st.lastBorrowerSeq, m.seq); disableOldChips(); }
    if (m.sender !== "borrower") showTyping(m.sender, false);
    els.welcome.hidden = true;
    const node = renderMessage(m);
    if (node) insertInOrder(node, m.seq);
    scrollDown();
  }

  function insertInOrder(node, seq) {
    node.dataset.seq = String(seq);
    const rows = els.messages.querySelectorAll("[data-seq]");
    for (const row of rows) {
      if (Number(row.dataset.seq) > seq) { els.messages.insertBefore(node, row); return; }
    }
    const firstPending = els.messages.querySelector(".pending-row");
    els.messages.insertBefore(node, firstPending);
  }

  // FAQ answers are markdown. Render the small subset editors use (paragraphs, lists, **bold**) by
  // building DOM nodes: text is never parsed as HTML, so nothing in a message can inject markup.
  function inline(parent, text) {
    text.split("**").forEach((part, i) => {
      if (!part) return;
      if (i % 2 === 1) { const b = document.createElement("strong"); b.textContent = part; parent.appendChild(b); }
      else parent.appendChild(document.createTextNode(part));
    });
  }

  function renderMarkdown(text) {
    const lines = [];
    text.replace(/\r\n?/g, "\n").split("\n").forEach((line) => {
      const prev = lines.length ? lines[lines.length - 1] : "";
      if (/^\s{2,}\S/.test(line) && prev.trim()) lines[lines.length - 1] = prev + " " + line.trim();
      else lines.push(line);
    });
    const frag = document.createDocumentFragment();
    const blocks = lines.join("\n").split(/\n\s*\n/);
    const item = /^\s*(?:[-*]|\d+[.)、])\s+/;
    blocks.forEach((block) => {
      const rows = block.split("\n").filter((r) => r.trim());
      if (!rows.length) return;
      if (rows.every((r) => item.test(r))) {
        const list = document.createElement(/^\s*\d/.test(rows[0]) ? "ol" : "ul");
        rows.forEach((r) => { const li = document.createElement("li"); inline(li, r.replace(item, "")); list.appendChild(li); });
        frag.appendChild(list);
        return;
      }
      const p = document.createElement("p");
      // a single newline inside a paragraph is a soft wrap (markdown); no space between Chinese characters
      const joined = rows.map((r) => r.trim()).reduce((acc, r) =>
        acc + (/[\u3000-\u9fff\uff00-\uffef]$/.test(acc) && /^[\u3000-\u9fff\uff00-\uffef]/.test(r) ? "" : " ") + r);
      inline(p, joined);
      frag.appendChild(p);
    });
    return frag;
  }

  function renderMessage(m) {
    const payload = m.payload || {};
    const custom = payload.custom || {};
    const buttons = Array.isArray(payload.buttons) ? payload.buttons : [];
    buttons.forEach((b) => { if (b.payload) st.titles.set(b.payload, b.title); });
    if (m.sender === "system") {
      const wrap = div("system" + (custom.type === "bot_unavailable" ? " warn" : ""));
      const note = div("note"); note.textContent = m.text; wrap.appendChild(note);
      if (buttons.length) wrap.appendChild(chipRow(buttons, m));
      return wrap;
    }
    if (m.sender === "bot" && !m.text && custom.type === "faq_answer") {
      const wrap = div("row"); wrap.style.marginLeft = "38px";
      wrap.appendChild(citation(custom));
      return wrap;
    }
    const mine = m.sender === "borrower";
    const row = div("row " + (mine ? "mine" : m.sender));
    if (!mine) {
      const av = div("avatar" + (m.sender === "agent" ? " agent" : ""));
      av.textContent = m.sender === "agent" ? initial(m.agent_name) : "AI";
      av.setAttribute("aria-hidden", "true");
      row.appendChild(av);
    }
    const stack = div("stack");
    if (!mine) {
      const who = div("who");
      who.textContent = m.sender === "agent" ? (m.agent_name || t("agent")) : t("assistant");
      stack.appendChild(who);
    }
    const bubble = div("bubble");
    if (mine) bubble.textContent = displayText(m.text);
    else { bubble.classList.add("md"); bubble.appendChild(renderMarkdown(m.text || "")); }
    stack.appendChild(bubble);
    if (custom.type === "faq_answer") stack.appendChild(citation(custom));
    const meta = div("meta"); meta.textContent = formatTime(m.created_at); stack.appendChild(meta);
    row.appendChild(stack);
    if (!buttons.length) return row;
    const group = document.createElement("div");
    group.appendChild(row);
    group.appendChild(chipRow(buttons, m));
    return group;
  }

  function citation(custom) {
    const c = div("cite");
    c.title = custom.source || "";
    c.innerHTML = '<svg viewBox="0 0 24 24" width="13" height="13" aria-hidden="true"><path fill="currentColor" d="M6 2h9l5 5v13a2 2 0 0 1-2 2H6a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2zm8 1.5V8h4.5L14 3.5z"/></svg>';
    const s = document.createElement("span");
    s.textContent = t("source") + ": " + (custom.title || custom.faq_id || "");
    c.appendChild(s);
    return c;
  }

  function displayText(text) {
    return st.titles.get(text) || text;
  }

  function chipRow(buttons, m) {
    const row = div("quick");
    row.dataset.forSeq = String(m.seq);
    buttons.forEach((b) => {
      const c = chip(b.title, () => onButton(b, m, row));
      if (b.action) c.dataset.action = b.action;
      if (b.action === "handoff") c.classList.add("primary");
      row.appendChild(c);
    });
    if (m.seq < st.lastBorrowerSeq) row.querySelectorAll("button").forEach((x) => { x.disabled = true; });
    refreshActionChips(row);
    return row;
  }

  // Buttons that act on the conversation only make sense in some states.
  function refreshActionChips(scope) {
    const state = st.view.state;
    (scope || els.messages).querySelectorAll(".quick .chip").forEach((b) => {
      const a = b.dataset.action;
      const ok = a === "handoff" ? state === "bot" : a === "callback" ? state === "bot" || state === "queued"
        : a === "leave_queue" ? state === "queued" : state === "bot";  // bot quick replies only reach the bot
      const row = b.closest(".quick");
      const stale = !a && row && Number(row.dataset.forSeq) < st.lastBorrowerSeq;
      b.disabled = !ok || stale || b.dataset.used === "1";
    });
  }

  function disableOldChips() {
    els.messages.querySelectorAll(".quick").forEach((row) => {
      if (Number(row.dataset.forSeq) < st.lastBorrowerSeq) row.querySelectorAll("button").forEach((x) => { x.disabled = true; });
    });
  }

  function onButton(b, m, row) {
    if (b.action === "handoff") { askForPerson(((m.payload || {}).custom || {}).type === "bot_unavailable" ? "bot_unavailable" : "explicit_request"); return; }
    if (b.action === "callback") { openCallback(); return; }
    if (b.action === "leave_queue") { leaveQueue(); return; }
    row.querySelectorAll("button").forEach((x) => { x.disabled = true; x.dataset.used = "1"; });
    sendText(b.payload || b.title, b.title);
  }

  // ---- sending ----------------------------------------------------------------------------
  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "m" + Date.now().toString(36) + Math.random().toString(36).slice(2, 10);
  }

  function sendText(text, display) {
    text = text.trim();
    if (!text || !st.conv) return;
    if (text.length > st.maxChars) { showBanner(t("error_too_long")); return; }
    const id = newId();
    const p = { id, text, display: display || text, row: null, status: "sending" };
    st.titles.set(text, p.display);
    st.pending.set(id, p);
    renderPending(p);
    els.welcome.hidden = true;
    deliver(p);
  }

  function renderPending(p) {
    if (p.row) p.row.remove();
    const row = div("row mine pending-row " + (p.status === "failed" ? "failed" : "pending"));
    const stack = div("stack");
    const bubble = div("bubble"); bubble.textContent = p.display; stack.appendChild(bubble);
    const meta = div("meta"); meta.textContent = p.status === "failed" ? t("failed") : t("sending"); stack.appendChild(meta);
    row.appendChild(stack);
    if (p.status === "failed") row.addEventListener("click", () => { p.status = "sending"; renderPending(p); deliver(p); });
    els.messages.appendChild(row);
    p.row = row;
    scrollDown();
  }

  async function deliver(p) {
    if (st.view.state === "bot") showTyping("bot", true);
    try {
      const result = await api("POST", convPath("/messages"), { text: p.text, client_message_id: p.id });
      result.messages.forEach(addMessage);
      applyStateView(result);
      hideBanner();
    } catch (err) {
      showTyping("bot", false);
      if (err.status === 429) showBanner(t("error_rate"));
      else if (err.status === 413) showBanner(t("error_too_long"));
      else if (!err.status) showBanner(t("error_offline"));
      else showBanner(err.message || t("error_generic"));
      if (err.status && err.status !== 429 && err.status < 500) { if (p.row) p.row.remove(); st.pending.delete(p.id); return; }
      p.status = "failed";
      renderPending(p);
    }
  }

  function flushPending() {
    st.pending.forEach((p) => { if (p.status === "failed") { p.status = "sending"; renderPending(p); deliver(p); } });
  }

  async function askForPerson(reason) {
    if (!st.conv) return;
    els.person.disabled = true;
    try { applyStateView(await api("POST", convPath("/handoff"), { reason: reason || "explicit_request" })); poll(); }
    catch (err) { showBanner(err.message || t("error_generic")); }
    finally { renderView(); }
  }

  async function leaveQueue() {
    try { applyStateView(await api("POST", convPath("/leave-queue"))); poll(); }
    catch (err) { showBanner(err.message || t("error_generic")); }
  }

  // ---- callback request ---------------------------------------------------------------
  function method() { return els.callbackForm.querySelector("input[name=method]:checked").value; }
  function updateContactLabel() {
    const phone = method() === "phone";
    els.contactLabel.textContent = t(phone ? "phone_number" : "email_address");
    els.contact.type = phone ? "tel" : "email";
    els.contact.inputMode = phone ? "tel" : "email";
    els.contact.autocomplete = phone ? "tel" : "email";
  }
  function openCallback() {
    els.callbackError.hidden = true;
    if (typeof els.dialog.showModal === "function") els.dialog.showModal(); else els.dialog.setAttribute("open", "");
    els.contact.focus();
  }
  function closeCallback() { if (els.dialog.open) els.dialog.close(); }
  els.callbackForm.querySelectorAll("input[name=method]").forEach((r) => r.addEventListener("change", updateContactLabel));
  els.callbackCancel.addEventListener("click", closeCallback);
  els.callbackForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = { contact_method: method(), contact: els.contact.value.trim(), preferred_time: els.preferred.value.trim() };
    try {
      applyStateView(await api("POST", convPath("/callback"), body));
      closeCallback();
      els.contact.value = ""; els.preferred.value = "";
      poll();
    } catch (err) {
      els.callbackError.textContent = err.message || t("error_generic");
      els.callbackError.hidden = false;
    }
  });

  // ---- state: bot / queued / assigned / closed -------------------------------------------
  function applyStateView(v) {
    if (!v || !v.state) return;
    const wasQueued = st.view.state === "queued";
    st.view = Object.assign({}, st.view, v);
    if (v.max_message_chars) { st.maxChars = v.max_message_chars; els.input.maxLength = v.max_message_chars; }
    if (v.state === "queued") {
      if (typeof v.waiting_s === "number") st.queuedAt = Date.now() - v.waiting_s * 1000;
      else if (!wasQueued || !st.queuedAt) st.queuedAt = Date.now();
    } else { st.queuedAt = null; }
    renderView();
  }

  function formatWait(seconds) {
    if (seconds == null) return "";
    if (seconds < 60) return t("under_minute");
    const n = Math.ceil(seconds / 60);
    return n === 1 ? t("minute") : t("minutes", { n });
  }

  // The agent's avatar: the first letter of the name they chose (an emoji needs a font some desktops lack).
  function initial(name) {
    const first = Array.from((name || "").trim())[0];
    return first ? first.toUpperCase() : "·";
  }

  function renderView() {
    const v = st.view;
    const agent = v.agent_name || t("agent_default");
    els.agentAvatar.textContent = initial(v.agent_name);
    els.queue.hidden = v.state !== "queued";
    els.agentBar.hidden = v.state !== "assigned";
    els.person.hidden = v.state === "queued" || v.state === "assigned" || v.state === "closed";
    els.person.disabled = false;
    els.statusDot.className = "dot" + (!st.online ? " offline" : v.state === "queued" ? " waiting" : "");
    els.statusText.textContent = !st.online ? t("status_offline")
      : v.state === "queued" ? t("status_queued")
      : v.state === "assigned" ? t("status_assigned", { agent })
      : v.state === "closed" ? t("status_closed") : t("status_bot");
    if (v.state === "queued") {
      const parts = [];
      if (v.queue_position === 1) parts.push(t("queue_next"));
      else if (v.queue_position) parts.push(t("queue_position", { pos: v.queue_position, ahead: v.queue_position - 1 }));
      if (v.estimated_wait_s != null) parts.push(t("queue_wait", { wait: formatWait(v.estimated_wait_s) }));
      els.queueDetail.textContent = parts.join(" · ");
      updateCallbackOffer();
    }
    els.agentText.textContent = t("agent_joined", { agent });
    const closed = v.state === "closed";
    els.input.disabled = closed; els.send.disabled = closed;
    els.ended.hidden = !closed;
    refreshActionChips();
    els.input.placeholder = closed ? t("placeholder_closed") : v.state === "assigned" ? t("placeholder_agent", { agent }) : t("placeholder");
  }

  function updateCallbackOffer() {
    const after = st.view.callback_offer_after_s;
    const waited = st.queuedAt ? (Date.now() - st.queuedAt) / 1000 : 0;
    els.callbackOffer.hidden = !(st.view.state === "queued" && typeof after === "number" && waited >= after);
  }
  setInterval(() => { if (st.view.state === "queued") updateCallbackOffer(); }, 1000);

  // ---- small UI helpers --------------------------------------------------------------------
  function div(cls) { const d = document.createElement("div"); d.className = cls; return d; }
  function chip(label, onClick) {
    const b = document.createElement("button");
    b.type = "button"; b.className = "chip"; b.textContent = label;
    b.addEventListener("click", onClick);
    return b;
  }
  function formatTime(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    return isNaN(d) ? "" : d.toLocaleTimeString(st.lang === "zh" ? "zh-CN" : "en", { hour: "2-digit", minute: "2-digit" });
  }
  function scrollDown() { requestAnimationFrame(() => { els.messages.scrollTop = els.messages.scrollHeight; }); }
  function showTyping(sender, on) {
    if (sender === "borrower") return;
    clearTimeout(st.typingTimer);
    els.typing.hidden = !on;
    els.typingText.textContent = sender === "agent" ? t("typing_agent", { agent: st.view.agent_name || t("agent_default") }) : t("typing_bot");
    if (on) { st.typingTimer = setTimeout(() => { els.typing.hidden = true; }, 15000); scrollDown(); }
  }
  function showBanner(text) { els.banner.textContent = text; els.banner.hidden = false; clearTimeout(st.bannerTimer); st.bannerTimer = setTimeout(hideBanner, 8000); }
  function hideBanner() { els.banner.hidden = true; }
  function setOnline(on) { if (st.online !== on) { st.online = on; renderView(); } }

  let typingSent = false;
  let typingIdle = null;
  function signalTyping() {
    if (!st.ws || !st.wsReady || st.view.state === "bot") return;
    if (!typingSent) { st.ws.send(JSON.stringify({ type: "typing", on: true })); typingSent = true; }
    clearTimeout(typingIdle);
    typingIdle = setTimeout(() => { if (st.ws && st.wsReady) st.ws.send(JSON.stringify({ type: "typing", on: false })); typingSent = false; }, 2500);
  }

  // ---- wiring ------------------------------------------------------------------------------
  els.composer.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = els.input.value;
    if (!text.trim()) return;
    els.input.value = "";
    autosize();
    sendText(text);
  });
  els.input.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); els.composer.requestSubmit(); }
  });
  function autosize() {
    els.input.style.height = "auto";
    els.input.style.height = Math.min(140, els.input.scrollHeight) + "px";
    const n = els.input.value.length;
    els.counter.hidden = n < st.maxChars * 0.8;
    els.counter.textContent = t("char_count", { n, max: st.maxChars });
    els.counter.classList.toggle("over", n > st.maxChars);
  }
  els.input.addEventListener("input", () => { autosize(); signalTyping(); });
  els.person.addEventListener("click", () => askForPerson("explicit_request"));
  els.newChat.addEventListener("click", () => { localStorage.removeItem(STORE_CONV); location.reload(); });
  els.leaveQueue.addEventListener("click", leaveQueue);
  els.callbackOffer.addEventListener("click", openCallback);
  els.lang.addEventListener("click", () => {
    st.lang = st.lang === "en" ? "zh" : "en";
    localStorage.setItem(STORE_LANG, st.lang);
    applyI18n();
    if (st.conv) api("PATCH", convPath(), { lang: st.lang }).then(applyStateView).catch(() => {});
  });
  window.addEventListener("online", () => { if (!st.ws) connect(); flushPending(); });

  boot();
})();
