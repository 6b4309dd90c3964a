// Numbers as people read them, in the page's language: durations, shares, averages.
const UNITS = { en: { h: " h", m: " min", s: " s" }, zh: { h: "小时", m: "分", s: "秒" } };

export function duration(seconds, lang) {
  if (seconds === null || seconds === undefined) return "–";
  const u = UNITS[lang] || UNITS.en;
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
  const sep = lang === "zh" ? "" : " ";
  if (h) return `${h}${u.h}${m ? sep + m + u.m : ""}`;
  if (m) return `${m}${u.m}${s ? sep + s + u.s : ""}`;
  return `${s}${u.s}`;
}

// "2m 39s" / "2分39秒": short enough for a figure that shares its card with another.
export function compact(seconds, lang) {
  if (seconds === null || seconds === undefined) return "–";
  const total = Math.round(seconds), zh = lang === "zh";
  const h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
  if (h) return zh ? `${h}时${m}分` : `${h}h ${m}m`;
  if (m) return zh ? `${m}分${s}秒` : `${m}m ${s}s`;
  return zh ? `${s}秒` : `${s}s`;
}

export function percent(share) {
  return share === null || share === undefined ? "–" : `${(share * 100).toFixed(1)}%`;
}

export function number(value, digits = 0) {
  if (value === null || value === undefined) return "–";
  return Number(value).toLocaleString(undefined, { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function clock(iso, lang) {
  return new Date(iso).toLocaleTimeString(lang === "zh" ? "zh-CN" : "en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}
