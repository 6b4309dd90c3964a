// The open chat's "More actions": transfer, hand back to the bot and release behind one button, so the chat's
// actions are one row on a desktop (claim, resolution and close stay in view). A disclosure like the account
// menu: the button's aria-expanded; opening it focuses the first control that can be used; Escape, a click
// elsewhere, Tab out of it or an action that was used closes it.
import { byId as $ } from "/static/shared/dom.js";

export function createChatMore() {
  const button = () => $("chat-more");
  const panel = () => $("chat-more-panel");
  const inside = (node) => Boolean(node && (button().contains(node) || panel().contains(node)));

  function setChatMore(open, { focusButton = false } = {}) {
    panel().hidden = !open;
    button().setAttribute("aria-expanded", String(open));
    if (open) panel().querySelector("select:enabled, input:enabled, button:enabled")?.focus();
    else if (focusButton) button().focus();
  }

  function wireChatMore() {
    button().addEventListener("click", () => setChatMore(panel().hidden));
    panel().addEventListener("click", (event) => {
      if (event.target.closest("button")) setChatMore(false, { focusButton: true });
    });
    panel().addEventListener("keydown", (event) => {
      if (event.key === "Enter" && event.target.id === "handback-note") { event.preventDefault(); $("hand-back").click(); }
    });
    document.addEventListener("click", (event) => {
      if (!panel().hidden && !inside(event.target)) setChatMore(false);
    });
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !panel().hidden) setChatMore(false, { focusButton: true });
    });
    for (const node of [button(), panel()]) {
      node.addEventListener("focusout", (event) => {
        if (!panel().hidden && event.relatedTarget && !inside(event.relatedTarget)) setChatMore(false);
      });
    }
  }

  return { setChatMore, wireChatMore };
}
