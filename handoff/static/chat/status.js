// The conversation's state (bot / queued / assigned / closed) as the borrower sees it: the status line,
// the queue panel, the agent bar, the composer, plus the typing indicator, the banner and being offline.
import { initial } from "/static/chat/messages.js";

export function createStatus(app) {
  const { st, els, t } = app;

  // The service words the wait (`wait_text`: hours for long waits, the real next opening when nobody is on
  // shift); this is only for a view without it.
  function formatWait(seconds) {
    if (seconds < 60) return t("under_minute");
    const n = Math.ceil(seconds / 60);
    if (n >= 60) return t("queue_wait", { wait: t("hours", { h: Math.floor(n / 60), m: n % 60 }) });
    return t("queue_wait", { wait: n === 1 ? t("minute") : t("minutes", { n }) });
  }

  // Offered once the borrower has waited long enough, and never again once they have asked for one.
  function updateCallbackOffer() {
    const after = st.view.callback_offer_after_s;
    const waited = st.queuedAt ? (Date.now() - st.queuedAt) / 1000 : 0;
    els.callbackOffer.hidden = !(st.view.state === "queued" && !st.view.callback_requested
      && typeof after === "number" && waited >= after);
  }

  function renderView() {
    const v = st.view;
    const agent = v.agent_name || t("agent_default");
    els.agentAvatar.textContent = initial(v.agent_name);
    els.queue.hidden = v.state !== "queued";
    els.agentBar.hidden = v.state !== "assigned";
    els.person.hidden = v.state === "queued" || v.state === "assigned" || v.state === "closed";
    els.person.disabled = false;
    els.statusDot.className = "dot" + (!st.online ? " offline" : v.state === "queued" ? " waiting" : v.state === "closed" ? " closed" : "");
    els.statusText.textContent = !st.online ? t("status_offline")
      : v.state === "queued" ? t("status_queued")
      : v.state === "assigned" ? t("status_assigned", { agent })
      : v.state === "closed" ? t("status_closed") : t("status_bot");
    if (v.state === "queued") {
      const parts = [];
      if (v.queue_position === 1) parts.push(t("queue_next"));
      else if (v.queue_position) parts.push(t("queue_position", { pos: v.queue_position, ahead: v.queue_position - 1 }));
      if (v.wait_text) parts.push(v.wait_text);
      else if (v.estimated_wait_s != null) parts.push(formatWait(v.estimated_wait_s));
      if (v.callback_requested) parts.push(v.callback_reference ? t("callback_ref", { ref: v.callback_reference }) : t("queue_callback"));
      els.queueDetail.textContent = parts.join(" · ");
      updateCallbackOffer();
    }
    els.agentText.textContent = t("agent_joined", { agent });
    // The note under the header says who answers: the assistant, nobody yet, a person, or nobody any more.
    const disclosure = { queued: "disclosure_queued", assigned: "disclosure_person", closed: "disclosure_closed" }[v.state] || "disclosure";
    els.disclosure.dataset.state = v.state || "bot";
    els.disclosureText.dataset.i18n = disclosure;
    els.disclosureText.textContent = t(disclosure, { agent });
    const closed = v.state === "closed";
    els.input.disabled = closed; els.send.disabled = closed;
    els.ended.hidden = !closed;
    if (closed) app.checkSurvey();
    app.refreshActionChips();
    els.input.placeholder = closed ? t("placeholder_closed")
      : v.state === "assigned" ? t("placeholder_agent", { agent }) : t("placeholder");
  }

  function applyStateView(v) {
    if (!v || !v.state) return;
    const wasQueued = st.view.state === "queued";
    const changed = st.view.state !== v.state;
    st.view = Object.assign({}, st.view, v);
    if (v.max_message_chars) { st.maxChars = v.max_message_chars; els.input.maxLength = v.max_message_chars; }
    if (v.state === "queued") {
      if (typeof v.waiting_s === "number") st.queuedAt = Date.now() - v.waiting_s * 1000;
      else if (!wasQueued || !st.queuedAt) st.queuedAt = Date.now();
    } else { st.queuedAt = null; }
    renderView();
    if (changed) app.scrollDown();  // the queue panel, agent bar or end of chat took room: the news is at the bottom
  }

  function showTyping(sender, on) {
    if (sender === "borrower") return;
    clearTimeout(st.typingTimer);
    els.typing.hidden = !on;
    els.typingText.textContent = sender === "agent"
      ? t("typing_agent", { agent: st.view.agent_name || t("agent_default") }) : t("typing_bot");
    if (on) { st.typingTimer = setTimeout(() => { els.typing.hidden = true; }, 15000); app.scrollDown(); }
  }

  function hideBanner() { els.banner.hidden = true; }

  function showBanner(text) {
    els.banner.textContent = text;
    els.banner.hidden = false;
    clearTimeout(st.bannerTimer);
    st.bannerTimer = setTimeout(hideBanner, 8000);
  }

  function setOnline(on) { if (st.online !== on) { st.online = on; renderView(); } }

  // The offer of a callback appears once the borrower has waited long enough.
  function startClock() {
    setInterval(() => { if (st.view.state === "queued") updateCallbackOffer(); }, 1000);
  }

  return { renderView, applyStateView, showTyping, showBanner, hideBanner, setOnline, startClock };
}
