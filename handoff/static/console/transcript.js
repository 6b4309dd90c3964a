// One transcript line as the agent sees it: who wrote it, the text (a bot answer's sanitised html from
// the service as rendered FAQ markdown; borrowers' and agents' words stay plain text), the FAQ it cites
// and the quick replies the bot offered. A bot message that only cites a FAQ is a citation line, not an
// empty bubble.
import { el } from "/static/shared/dom.js";
import { richText } from "/static/shared/richtext.js";

function senderLabel(message, t) {
  if (message.sender === "agent") return message.agent_name || t("sender_agent");
  return t(`sender_${message.sender}`);
}

function citation(custom, t) {
  if (!custom || custom.type !== "faq_answer") return null;
  return el("span", { class: "cite", title: custom.source || "", text: t("cite", { title: custom.title || custom.faq_id || "" }) });
}

function body(message) {
  if (!message.text) return null;
  if (message.html) return el("div", { class: "text md" }, [richText(message.html)]);
  return el("span", { class: "text", text: message.text });
}

export function messageItem(message, t) {
  const payload = message.payload || {};
  const buttons = Array.isArray(payload.buttons) ? payload.buttons.filter((b) => b && b.title) : [];
  const text = body(message);
  const cite = citation(payload.custom, t);
  const time = el("time", { text: message.created_at ? new Date(message.created_at).toLocaleTimeString() : "" });
  if (!text && cite && !buttons.length) {
    return el("li", { class: "msg cite-only", "data-seq": message.seq }, [cite, time]);
  }
  const chips = buttons.length
    ? el("div", { class: "chips", "aria-label": t("quick_replies") }, buttons.map((b) => el("span", { class: "chip", text: b.title })))
    : null;
  return el("li", { class: `msg ${message.sender}`, "data-seq": message.seq }, [
    el("span", { class: "who", text: senderLabel(message, t) }), text, cite, chips, time,
  ]);
}
