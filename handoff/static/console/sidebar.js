// The right-hand column: KB search (answers shown as the service's sanitised html of the FAQ markdown;
// "insert" puts the plain-text version into the reply, since the borrower sees an agent's words as
// plain text; open the source) and the private notes on the open chat.
import { byId as $, el } from "/static/shared/dom.js";
import { richText } from "/static/shared/richtext.js";

export function createSidebar(app) {
  const { state, t } = app;

  function hitItem(hit) {
    return el("li", { class: "hit" }, [
      el("div", { class: "hit-title", text: `${hit.title} (${hit.score.toFixed(2)})` }),
      el("div", { class: "hit-answer md" }, [richText(hit.html || "")]),
      el("div", { class: "hit-actions" }, [
        el("button", { type: "button", class: "insert", text: t("insert"), onclick: () => {
          const box = $("reply-text");
          const words = hit.text || hit.answer;
          box.value = box.value ? `${box.value}\n${words}` : words;
          box.focus();
        } }),
        el("a", { href: "#", text: t("source"), onclick: (e) => { e.preventDefault(); app.showSource(hit.lang, hit.id); } }),
      ]),
    ]);
  }

  async function search(event) {
    event.preventDefault();
    const q = $("kb-query").value.trim();
    if (!q) return;
    const lang = state.chat ? state.chat.conversation.lang : "";
    try {
      const data = await app.api("POST", "/api/agent/kb/search", lang ? { q, lang } : { q });
      app.showError("kb-error", null);
      const items = data.results.map(hitItem);
      $("kb-results").replaceChildren(...(items.length ? items : [el("li", { class: "muted", text: t("kb_none") })]));
    } catch (error) { app.showError("kb-error", error); $("kb-results").replaceChildren(); }
  }

  async function addNote(event) {
    event.preventDefault();
    const text = $("note-text").value.trim();
    if (!text || !state.chat) return;
    try {
      await app.api("POST", `/api/agent/conversations/${state.chat.conversation.id}/notes`, { text });
      $("note-text").value = "";
      await app.reloadChat();
    } catch (error) { app.toast(app.errorText(error), "error"); }
  }

  function wireSidebar() {
    $("kb-form").addEventListener("submit", search);
    $("note-form").addEventListener("submit", addNote);
  }

  return { wireSidebar };
}
