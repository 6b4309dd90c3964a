// Getting the agent's attention for a borrower message in a chat that is not on screen (or in the open
// chat while the tab is hidden): the tab title counts the unread messages and flashes while the agent
// looks elsewhere, an optional short beep (WebAudio, off by default, the choice kept in this browser)
// and a desktop notification when the agent has allowed them.
import { byId as $ } from "/static/shared/dom.js";

const STORE_SOUND = "console_sound";
const FLASH_MS = 1000;

export function createAlerts(app) {
  const { t } = app;
  let audio = null;
  let flashTimer = null;
  let flashOn = false;

  const soundOn = () => localStorage.getItem(STORE_SOUND) === "on";

  const countedTitle = (n) => (n ? `(${n}) ${t("console_title")}` : t("console_title"));

  // The title counts the unread messages; while any wait and the agent looks elsewhere, it
  // alternates with "New message" so that a background tab catches the eye.
  function flash() {
    const unread = app.totalUnread();
    if (!unread) { updateTitle(); return; }
    flashOn = !flashOn && (document.hidden || !document.hasFocus());
    document.title = flashOn ? `(${unread}) ${t("new_message")}` : countedTitle(unread);
  }

  function updateTitle() {
    const unread = app.totalUnread();
    if (!unread) { clearInterval(flashTimer); flashTimer = null; flashOn = false; }
    else if (!flashTimer) flashTimer = setInterval(flash, FLASH_MS);
    if (!flashOn || !unread) document.title = countedTitle(unread);
  }

  function beep() {
    if (!soundOn() || !audio) return;
    const now = audio.currentTime;
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.0001, now);
    gain.gain.exponentialRampToValueAtTime(0.15, now + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, now + 0.25);
    osc.connect(gain).connect(audio.destination);
    osc.start(now);
    osc.stop(now + 0.26);
  }

  function notify(conversationId, message) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    const note = new Notification(t("notify_title", { id: chatLabel(conversationId) }), {
      body: message.text || "", tag: `chat-${conversationId}`,
    });
    note.onclick = () => { window.focus(); app.openChat(conversationId); note.close(); };
  }

  // A chat in words: the signed-in borrower's name or the card's number, the reason and the language
  // (from the event, else from the queue as last seen), never the 32-character id.
  function chatLabel(conversationId, event = {}) {
    const entry = app.state.queue.find((e) => e.conversation_id === conversationId) || {};
    const name = event.borrower_name || entry.borrower_name;
    const number = event.entry_id || entry.id;
    const reason = event.reason || entry.reason;
    const lang = event.lang || entry.lang;
    return [name || (number ? t("chat_ref", { n: number }) : conversationId.slice(0, 8)),
      reason && (app.reason(reason) || reason), lang && t(`lang_${lang}`)].filter(Boolean).join(" · ");
  }

  // An SLA warning or breach (supervisors): a toast that names the chat and opens it when clicked.
  function slaToast(event) {
    const level = event.level === "breach" ? "sla_breach" : "sla_warning";
    app.toast(t("sla_toast", { level: t(level), chat: chatLabel(event.conversation_id, event) }), event.level,
      () => app.openChat(event.conversation_id));
  }

  // One borrower message in a held chat that the agent is not looking at.
  function alertMessage(conversationId, message) {
    updateTitle();
    beep();
    notify(conversationId, message);
  }

  function renderSound() {
    const on = soundOn();
    const button = $("sound-toggle");
    button.textContent = t(on ? "sound_on" : "sound_off");
    button.setAttribute("aria-pressed", String(on));
  }

  function renderPermission() {
    const button = $("notify-enable");
    button.textContent = t("desktop_alerts");
    button.hidden = !("Notification" in window) || Notification.permission !== "default";
    app.markMenu();
  }

  function renderAlerts() { renderSound(); renderPermission(); updateTitle(); }

  function wireAlerts() {
    $("sound-toggle").addEventListener("click", () => {
      localStorage.setItem(STORE_SOUND, soundOn() ? "off" : "on");
      // Browsers start audio only from a user's gesture: this click is one.
      if (soundOn() && !audio && window.AudioContext) audio = new AudioContext();
      if (audio && audio.state === "suspended") audio.resume();
      renderSound();
      beep();  // the agent hears what it will sound like
    });
    // A sound chosen earlier needs a gesture in this page too before the browser plays it.
    document.addEventListener("pointerdown", () => {
      if (soundOn() && !audio && window.AudioContext) audio = new AudioContext();
    }, { once: true });
    $("notify-enable").addEventListener("click", async () => {
      if ("Notification" in window) await Notification.requestPermission();
      renderPermission();
    });
    window.addEventListener("focus", updateTitle);
  }

  return { alertMessage, chatLabel, slaToast, updateTitle, renderAlerts, wireAlerts };
}
