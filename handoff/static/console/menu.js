// The top bar's account menu: the agent's name and role on the button, and the secondary controls behind it
// (desktop alerts, sound, keyboard shortcuts, language, log out), so the bar stays one row on a desktop and
// two at most on a phone. A disclosure: the button's aria-expanded, closed by Escape, a click elsewhere or
// an item that was used.
import { byId as $ } from "/static/shared/dom.js";

// "Sue Chen" -> "SC", "林晓" -> "林": what the avatar circle shows.
function initials(name) {
  const words = String(name || "").trim().split(/\s+/).filter(Boolean);
  if (!words.length) return "?";
  if (/^[\u3400-\u9fff]/.test(words[0])) return words[0][0];
  return words.slice(0, 2).map((w) => w[0].toUpperCase()).join("");
}

export function createMenu(app) {
  const button = () => $("menu-button");
  const panel = () => $("top-menu");

  function renderMe() {
    const me = app.state.me;
    if (!me) return;
    $("me-avatar").textContent = initials(me.display_name || me.username);
    $("me-name").textContent = me.display_name || me.username;
    $("me-role").textContent = app.t(`role_${me.role}`);
  }

  function setMenu(open) {
    panel().hidden = !open;
    button().setAttribute("aria-expanded", String(open));
    if (open) panel().querySelector("button:not([hidden])")?.focus();
  }

  // The alerts' prompt is behind the menu: a dot on the button says there is something to turn on.
  function markMenu() {
    button().classList.toggle("attention", !$("notify-enable").hidden);
  }

  function wireMenu() {
    button().addEventListener("click", () => setMenu(panel().hidden));
    panel().addEventListener("click", (event) => {
      if (event.target.closest(".menu-item")) { setMenu(false); markMenu(); }
    });
    document.addEventListener("click", (event) => {
      if (!panel().hidden && !event.target.closest(".menu")) setMenu(false);
    });
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !panel().hidden) { setMenu(false); button().focus(); }
    });
  }

  return { renderMe, setMenu, markMenu, wireMenu };
}
