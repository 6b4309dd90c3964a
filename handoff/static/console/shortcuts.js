// Keyboard shortcuts of the console and the "?" overlay that lists them. Keys that are also typing ("/",
// "?") act only outside text fields ("/" also in an empty reply box); the chords with Alt or Ctrl work
// everywhere except in a drop-down, whose arrows they would steal. Nothing fires behind an open dialog.
import { byId as $, el } from "/static/shared/dom.js";

export const KEYS = [
  [["Alt+↓", "Ctrl+]"], "key_next_chat"],
  [["Alt+↑", "Ctrl+["], "key_prev_chat"],
  [["Enter", "Ctrl+Enter"], "key_send"],
  [["Shift+Enter"], "key_newline"],
  [["/"], "key_canned"],
  [["Alt+K"], "key_kb"],
  [["?"], "key_help"],
  [["Esc"], "key_escape"],
];

const isTyping = (node) => Boolean(node && (node.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(node.tagName)));

export function createShortcuts(app) {
  const { state, t } = app;

  // The held chats in the order "My chats" lists them; from no open chat, down starts at the first.
  function moveChat(step) {
    const ids = [...state.held.keys()];
    if (!ids.length) return;
    const at = state.chat ? ids.indexOf(state.chat.conversation.id) : -1;
    const next = at < 0 ? (step > 0 ? 0 : ids.length - 1) : (at + step + ids.length) % ids.length;
    if (ids[next] !== (state.chat && state.chat.conversation.id)) app.openChat(ids[next]);
  }

  function renderHelp() {
    $("help-list").replaceChildren(...KEYS.map(([keys, label]) => el("div", { class: "help-row" }, [
      el("dt", {}, keys.map((key) => el("kbd", { text: key }))), el("dd", { text: t(label) }),
    ])));
  }

  function openHelp() {
    renderHelp();
    if (!$("help-dialog").open) $("help-dialog").showModal();
  }

  function onKey(event) {
    const target = event.target;
    if (document.querySelector("dialog[open]")) return;  // the dialog has the keyboard (Esc closes it)
    if (event.key === "Escape") { app.closePicker(); return; }
    const next = (event.altKey && event.key === "ArrowDown") || (event.ctrlKey && event.key === "]");
    const prev = (event.altKey && event.key === "ArrowUp") || (event.ctrlKey && event.key === "[");
    if ((next || prev) && !(target && target.tagName === "SELECT")) {
      event.preventDefault();
      moveChat(next ? 1 : -1);
      return;
    }
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
      if (target === $("reply-text")) return;  // the reply box sends on Enter itself
      if (state.chat && state.chat.holder && $("reply-text").value.trim()) { event.preventDefault(); $("reply-form").requestSubmit(); }
      return;
    }
    if (event.altKey && event.code === "KeyK") { event.preventDefault(); $("kb-query").focus(); return; }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "/") {
      const emptyReply = target === $("reply-text") && !target.value;
      if ((emptyReply || !isTyping(target)) && app.openPicker()) event.preventDefault();
      return;
    }
    if (event.key === "?" && !isTyping(target)) { event.preventDefault(); openHelp(); }
  }

  function wireShortcuts() {
    document.addEventListener("keydown", onKey);
    $("help-open").addEventListener("click", openHelp);
    $("help-close").addEventListener("click", () => $("help-dialog").close());
  }

  return { renderHelp, wireShortcuts };
}
