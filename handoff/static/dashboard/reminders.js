// The dashboard's repayment-reminder card (GET /api/agent/dashboard/reminders): sent, delivered, failed,
// replies and payments within N days of a reminder, per kind. Its own module and request, so that a slow
// loan system never holds up the rest of the page; it follows the page's filters and language.
import { request } from "/static/shared/api.js";
import { byId as $ } from "/static/shared/dom.js";
import { createI18n } from "/static/shared/i18n.js";
import { table } from "/static/dashboard/tables.js";

const STRINGS = {
  en: {
    kind: "Kind", sent: "Sent", delivered: "Delivered", failed: "Failed", replied: "Replies",
    paid_within: "Paid within {n} days", held_back: "Held back", total: "All kinds", none: "No reminders in this range",
    unknown: "payments unavailable", load_failed: "Reminder figures could not be loaded.",
    due_soon: "Due soon", due_today: "Due today (no autopay)", missed_1: "Missed, 1 day", missed_7: "Missed, 7 days",
    payoff_letter_ready: "Payoff letter ready", autopay_failed: "Autopay failed",
  },
  zh: {
    kind: "类型", sent: "已发送", delivered: "已送达", failed: "失败", replied: "回复",
    paid_within: "{n} 天内还款", held_back: "未发送", total: "全部类型", none: "该时段没有还款提醒",
    unknown: "还款数据不可用", load_failed: "还款提醒数据加载失败。",
    due_soon: "即将到期", due_today: "今日到期（未开通自动扣款）", missed_1: "逾期 1 天", missed_7: "逾期 7 天",
    payoff_letter_ready: "结清证明已出具", autopay_failed: "自动扣款失败",
  },
};
const i18n = createI18n(STRINGS, "console_lang");
const t = (key, values) => i18n.t(key, values);
let data = null;

function query() {
  const params = new URLSearchParams({ from: $("f-from").value, to: $("f-to").value });
  if ($("f-lang").value) params.set("lang", $("f-lang").value);
  return params.toString();
}

function render() {
  const box = $("table-reminders");
  if (!box || !data) return;
  const paid = (v) => (v === null || v === undefined ? t("unknown") : String(v));
  const rows = [...data.kinds.filter((k) => k.sent || k.held_back), { kind: "total", ...data.total }];
  table(box, [
    { key: "kind", label: t("kind"), format: (v) => t(v) },
    { key: "sent", label: t("sent"), num: true }, { key: "delivered", label: t("delivered"), num: true },
    { key: "failed", label: t("failed"), num: true }, { key: "replied", label: t("replied"), num: true },
    { key: "paid_within", label: t("paid_within", { n: data.window_days }), num: true, format: paid },
    { key: "held_back", label: t("held_back"), num: true },
  ], data.total.sent || data.total.held_back ? rows : [], t("none"));
}

async function load() {
  const box = $("table-reminders");
  if (!box) return;
  try {
    data = await request("GET", `/api/agent/dashboard/reminders?${query()}`);
  } catch {
    data = null;
    box.textContent = t("load_failed");
    return;
  }
  render();
}

function start() {
  $("filters").addEventListener("submit", () => { setTimeout(load, 0); });
  for (const button of document.querySelectorAll("[data-lang-toggle]")) {
    button.addEventListener("click", () => { i18n.lang = i18n.lang === "en" ? "zh" : "en"; render(); });
  }
  // The page sets its default range when it starts; read it after that.
  setTimeout(load, 0);
}

start();
