// Tables of the dashboard (built from text nodes only) and the hour-of-week heatmap.
import { el } from "/static/shared/dom.js";

// `columns`: [{key, label, format?, num?}]; a column's `format(value, row)` gives its text.
export function table(container, columns, rows, emptyText) {
  if (!rows.length) {
    container.replaceChildren(el("p", { class: "empty", text: emptyText }));
    return;
  }
  const head = el("tr", {}, columns.map((c) => el("th", { class: c.num ? "num" : "", scope: "col", text: c.label })));
  const body = rows.map((row) => el("tr", {}, columns.map((c) => el("td", {
    class: c.num ? "num" : "", text: c.format ? c.format(row[c.key], row) : String(row[c.key] ?? "–"),
  }))));
  container.replaceChildren(el("div", { class: "table-wrap" }, el("table", { class: "data" }, [
    el("thead", {}, head), el("tbody", {}, body)])));
}

// A ranked list with a bar per row, its length relative to the largest value.
export function barTable(container, rows, emptyText) {
  if (!rows.length) {
    container.replaceChildren(el("p", { class: "empty", text: emptyText }));
    return;
  }
  const peak = Math.max(...rows.map((r) => r.value));
  container.replaceChildren(el("ol", { class: "bar-list" }, rows.map((r) => {
    const bar = el("span", { class: "bar-fill" });
    bar.style.setProperty("--share", String(peak ? r.value / peak : 0));
    return el("li", {}, [el("span", { class: "bar-label", text: r.label }), el("span", { class: "bar-track" }, bar),
      el("span", { class: "bar-value", text: r.value.toLocaleString() })]);
  })));
}

// 7 x 24 cells of arrivals per hour, darker for more; hours outside the range stay blank.
export function heatmap(container, rows, weekdays, hourLabel) {
  const peak = Math.max(0, ...rows.map((r) => r.arrivals_per_hour || 0));
  const header = el("div", { class: "hm-row hm-head", role: "row" }, [
    el("span", { class: "hm-day", role: "columnheader", text: hourLabel }),
    ...Array.from({ length: 24 }, (_, h) => el("span", { class: "hm-hour", role: "columnheader", text: h % 3 === 0 ? String(h) : "" })),
  ]);
  const lines = weekdays.map((day, d) => el("div", { class: "hm-row", role: "row" }, [
    el("span", { class: "hm-day", role: "rowheader", text: day }),
    ...rows.filter((r) => r.weekday === d).map((r) => {
      const value = r.arrivals_per_hour;
      const cell = el("span", {
        class: value === null ? "hm-cell hm-none" : "hm-cell", role: "cell",
        title: `${day} ${String(r.hour).padStart(2, "0")}:00 · ${value === null ? "–" : value}`,
      });
      if (value !== null && peak > 0) cell.style.setProperty("--level", String(Math.round((value / peak) * 100) / 100));
      return cell;
    }),
  ]));
  container.replaceChildren(header, ...lines);
}
