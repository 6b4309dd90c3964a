// The conversation's messages: each one rendered once, in sequence order, whichever way it arrived
// (the reply to a POST, the WebSocket, or polling). An FAQ answer's citation sits under its bubble.
import { el, keepLastInView } from "/static/shared/dom.js";
import { richText } from "/static/shared/richtext.js";

const SVG = "http://www.w3.org/2000/svg";
const DOCUMENT_ICON = "M6 2h9l5 5v13a2 2 0 0 1-2 2H6a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2zm8 1.5V8h4.5L14 3.5z";

const div = (cls) => el("div", { class: cls });

function documentIcon() {
  const svg = document.createElementNS(SVG, "svg");
  for (const [k, v] of Object.entries({ viewBox: "0 0 24 24", width: "13", height: "13", "aria-hidden": "true" })) svg.setAttribute(k, v);
  const path = document.createElementNS(SVG, "path");
  path.setAttribute("fill", "currentColor");
  path.setAttribute("d", DOCUMENT_ICON);
  svg.appendChild(path);
  return svg;
}

// The agent's avatar: the first letter of the name they chose (an emoji needs a font some desktops lack).
export function initial(name) {
  const first = Array.from((name || "").trim())[0];
  return first ? first.toUpperCase() : "·";
}

export function createMessages(app) {
  const { st, els, t } = app;

  function scrollDown() { requestAnimationFrame(() => { els.messages.scrollTop = els.messages.scrollHeight; }); }

  function formatTime(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    return isNaN(d) ? "" : d.toLocaleTimeString(app.i18n.lang === "zh" ? "zh-CN" : "en", { hour: "2-digit", minute: "2-digit" });
  }

  function citation(custom) {
    const c = div("cite");
    c.title = custom.source || "";
    c.appendChild(documentIcon());
    c.appendChild(el("span", { text: t("cite", { title: custom.title || custom.faq_id || "" }) }));
    return c;
  }

  // A borrower's press of a quick reply is stored as its payload; show the button's title instead.
  function displayText(text) {
    return st.titles.get(text) || text;
  }

  function renderMessage(m) {
    const payload = m.payload || {};
    const custom = payload.custom || {};
    const buttons = Array.isArray(payload.buttons) ? payload.buttons : [];
    buttons.forEach((b) => { if (b.payload) st.titles.set(b.payload, b.title); });
    if (m.sender === "system") {
      const wrap = div("system" + (custom.type === "bot_unavailable" ? " warn" : ""));
      wrap.appendChild(el("div", { class: "note", text: m.text }));
      if (buttons.length) wrap.appendChild(app.chipRow(buttons, m));
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
      row.appendChild(el("div", { class: "avatar" + (m.sender === "agent" ? " agent" : ""), "aria-hidden": "true",
        text: m.sender === "agent" ? initial(m.agent_name) : "AI" }));
    }
    const stack = div("stack");
    if (!mine) stack.appendChild(el("div", { class: "who", text: m.sender === "agent" ? (m.agent_name || t("agent")) : t("assistant") }));
    const bubble = div("bubble");
    // Only the service's sanitised html of a bot answer is shown as markup; people's words stay text.
    if (mine) bubble.textContent = displayText(m.text);
    else if (m.html) { bubble.classList.add("md"); bubble.appendChild(richText(m.html)); }
    else bubble.textContent = m.text || "";
    stack.appendChild(bubble);
    if (custom.type === "faq_answer") stack.appendChild(citation(custom));
    stack.appendChild(el("div", { class: "meta", text: formatTime(m.created_at) }));
    row.appendChild(stack);
    if (!buttons.length) return row;
    return el("div", {}, [row, app.chipRow(buttons, m)]);
  }

  function insertInOrder(node, seq) {
    node.dataset.seq = String(seq);
    for (const row of els.messages.querySelectorAll("[data-seq]")) {
      if (Number(row.dataset.seq) > seq) { els.messages.insertBefore(node, row); return; }
    }
    els.messages.insertBefore(node, els.messages.querySelector(".pending-row"));
  }

  function addMessage(m) {
    if (!m || st.rendered.has(m.seq)) return;
    st.rendered.add(m.seq);
    if (m.seq > st.lastSeq) st.lastSeq = m.seq;
    if (m.client_message_id) app.forgetPending(m.client_message_id);
    if (m.sender === "borrower") { st.lastBorrowerSeq = Math.max(st.lastBorrowerSeq, m.seq); app.disableOldChips(); }
    if (m.sender !== "borrower") app.showTyping(m.sender, false);
    els.welcome.hidden = true;
    const node = renderMessage(m);
    if (node) insertInOrder(node, m.seq);
    scrollDown();
  }

  // The queue panel or the agent bar appearing above the list must not hide its last message.
  function wireScroll() {
    keepLastInView(els.messages);
  }

  return { addMessage, scrollDown, wireScroll };
}
