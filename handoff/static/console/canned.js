// Canned replies for the agent: the list (both languages, from the service), a picker over the reply box
// ("/" or its button) that shows each reply in the open chat's language, and the chosen reply inserted
// into the reply box with {agent} filled in, for the agent to edit before sending.
import { byId as $, el } from "/static/shared/dom.js";

export function createCanned(app) {
  const { state, t } = app;
  let replies = [];
  let shown = [];
  let active = 0;

  const chatLang = () => (state.chat && state.chat.conversation.lang === "zh" ? "zh" : "en");
  const titleOf = (reply) => reply[`title_${chatLang()}`];
  const textOf = (reply) => reply[`text_${chatLang()}`].split("{agent}").join(state.me ? state.me.display_name : "");
  const canReply = () => Boolean(state.chat && state.chat.holder && !$("reply-form").hidden);
  const pickerOpen = () => !$("canned-picker").hidden;

  async function loadCanned() {
    try { replies = (await app.api("GET", "/api/agent/canned-replies")).replies; } catch (error) {
      if (error.status !== 401) app.toast(app.errorText(error), "error");
    }
    if (pickerOpen()) renderPicker();
    app.renderCannedAdmin();
  }

  function renderPicker() {
    const q = $("canned-filter").value.trim().toLowerCase().replace(/^\//, "");
    shown = replies.filter((r) => !q || [r.shortcut, titleOf(r), textOf(r)].some((s) => s.toLowerCase().includes(q)));
    active = Math.max(0, Math.min(active, shown.length - 1));
    const items = shown.map((reply, i) => el("li", {
      role: "option", id: `canned-option-${reply.id}`, class: `canned-item${i === active ? " active" : ""}`,
      "aria-selected": String(i === active), "data-shortcut": reply.shortcut,
      onmousedown: (event) => { event.preventDefault(); choose(reply); },  // before the filter loses focus
    }, [
      el("div", { class: "canned-head" }, [el("span", { class: "canned-title", text: titleOf(reply) }),
        el("code", { text: `/${reply.shortcut}` })]),
      el("div", { class: "canned-text", lang: chatLang() === "zh" ? "zh-CN" : "en", text: textOf(reply) }),
    ]));
    $("canned-list").replaceChildren(...(items.length ? items : [el("li", { class: "muted canned-empty", text: t("canned_none") })]));
    if (shown[active]) $("canned-filter").setAttribute("aria-activedescendant", `canned-option-${shown[active].id}`);
    const node = $("canned-list").children[active];
    if (node && node.scrollIntoView) node.scrollIntoView({ block: "nearest" });
  }

  // Opens the picker when the agent can reply in the open chat; false when it cannot.
  function openPicker() {
    if (!canReply()) return false;
    $("canned-picker").hidden = false;
    $("canned-filter").value = "";
    active = 0;
    renderPicker();
    $("canned-filter").focus();
    loadCanned();  // what supervisors changed since, without a reload
    return true;
  }

  function closePicker(refocus = true) {
    if (!pickerOpen()) return;
    $("canned-picker").hidden = true;
    if (refocus && !$("reply-text").disabled) $("reply-text").focus();
  }

  function choose(reply) {
    const box = $("reply-text");
    const text = textOf(reply);
    const start = box.selectionStart ?? box.value.length;
    const end = box.selectionEnd ?? box.value.length;
    box.value = box.value.slice(0, start) + text + box.value.slice(end);
    closePicker();
    box.setSelectionRange(start + text.length, start + text.length);
    box.dispatchEvent(new Event("input"));  // the borrower sees "typing", as if the agent had typed it
  }

  function onFilterKey(event) {
    const moves = { ArrowDown: 1, ArrowUp: -1 };
    if (event.key in moves) {
      event.preventDefault();
      active = (active + moves[event.key] + shown.length) % Math.max(1, shown.length);
      renderPicker();
    } else if (event.key === "Enter") {
      event.preventDefault();
      if (shown[active]) choose(shown[active]);
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      closePicker();
    }
  }

  function wireCanned() {
    $("canned-open").addEventListener("click", () => (pickerOpen() ? closePicker() : openPicker()));
    $("canned-filter").addEventListener("input", () => { active = 0; renderPicker(); });
    $("canned-filter").addEventListener("keydown", onFilterKey);
    $("canned-filter").addEventListener("blur", () => closePicker(false));
  }

  return { loadCanned, openPicker, closePicker, cannedReplies: () => replies, wireCanned };
}
