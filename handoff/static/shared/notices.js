// The page-level notice (#notice: a line with an optional link) and the short-lived toast (#toast) of the
// editors' and supervisors' pages. Text goes in through textContent only.
import { byId as $, el } from "/static/shared/dom.js";

export function notice(text, link) {
  $("notice").replaceChildren(...(text ? [el("span", { text })] : []),
    ...(link ? [" ", el("a", { href: link.href, text: link.text })] : []));
  $("notice").hidden = !text;
}

let toastTimer = null;
export function toast(text, kind = "ok") {
  $("toast").textContent = text;
  $("toast").className = `toast ${kind}`;
  $("toast").hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { $("toast").hidden = true; }, 5000);
}
