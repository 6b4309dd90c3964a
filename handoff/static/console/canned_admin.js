// The supervisor's editor of canned replies (a dialog): the list, and a form with the shortcut, both titles
// and both texts; save creates or changes one, delete asks for a second click. Changes are audited by the
// service; the agents' pickers read the list again.
import { byId as $, el } from "/static/shared/dom.js";

const FIELDS = ["shortcut", "title_en", "title_zh", "text_en", "text_zh"];

export function createCannedAdmin(app) {
  const { t } = app;
  let editing = null;  // the reply in the form, or null for a new one
  let armed = null;    // timer of the "click again to delete" state

  const field = (name) => $(`canned-${name}`);
  const titleOf = (reply) => reply[`title_${app.i18n.lang}`] || reply.title_en;

  function renderCannedAdmin() {
    if (!$("canned-admin").open) return;
    $("canned-admin-list").replaceChildren(...app.cannedReplies().map((reply) => el("li", {}, [
      el("button", { type: "button", class: `canned-row${editing && editing.id === reply.id ? " active" : ""}`,
        "data-shortcut": reply.shortcut, onclick: () => edit(reply) }, [
        el("code", { text: `/${reply.shortcut}` }), el("span", { text: titleOf(reply) }),
      ]),
    ])));
  }

  function disarm() {
    clearTimeout(armed);
    armed = null;
    $("canned-delete").textContent = t("canned_delete");
  }

  function edit(reply) {
    editing = reply;
    for (const name of FIELDS) field(name).value = reply ? reply[name] : "";
    $("canned-delete").hidden = !reply;
    disarm();
    app.showError("canned-admin-error", null);
    renderCannedAdmin();
    field(reply ? "title_en" : "shortcut").focus();
  }

  async function save(event) {
    event.preventDefault();
    const body = Object.fromEntries(FIELDS.map((name) => [name, field(name).value.trim()]));
    try {
      const saved = editing
        ? await app.api("PATCH", `/api/agent/supervisor/canned-replies/${editing.id}`, body)
        : await app.api("POST", "/api/agent/supervisor/canned-replies", body);
      await app.loadCanned();
      edit(app.cannedReplies().find((reply) => reply.id === saved.id) || null);
      app.toast(t("canned_saved"));
    } catch (error) { app.showError("canned-admin-error", error); }
  }

  async function remove() {
    if (!editing) return;
    if (!armed) {
      $("canned-delete").textContent = t("canned_really_delete");
      armed = setTimeout(disarm, 4000);
      return;
    }
    disarm();
    try {
      await app.api("DELETE", `/api/agent/supervisor/canned-replies/${editing.id}`);
      await app.loadCanned();
      edit(null);
      app.toast(t("canned_deleted"));
    } catch (error) { app.showError("canned-admin-error", error); }
  }

  function wireCannedAdmin() {
    $("canned-manage").addEventListener("click", async () => {
      $("canned-admin").showModal();
      await app.loadCanned();
      edit(null);
    });
    $("canned-admin-close").addEventListener("click", () => $("canned-admin").close());
    $("canned-new").addEventListener("click", () => edit(null));
    $("canned-form").addEventListener("submit", save);
    $("canned-delete").addEventListener("click", remove);
  }

  return { renderCannedAdmin, wireCannedAdmin };
}
