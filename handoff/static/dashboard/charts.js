// The dashboard's charts, drawn by the vendored uPlot (/static/vendor/uplot, MIT). Each function replaces
// the chart in its container; charts follow the container's width.
import uPlot from "/static/vendor/uplot/uPlot.esm.js";

const COLORS = { brand: "#0f4c81", brandFill: "rgba(15,76,129,.78)", warn: "#dc6803", ok: "#067647", muted: "#98a2b3" };
const charts = new Map();

function place(container, make) {
  const old = charts.get(container.id);
  if (old) old.destroy();
  container.replaceChildren();
  const chart = make(Math.max(container.clientWidth, 240));
  charts.set(container.id, chart);
  return chart;
}

export function resizeAll() {
  for (const [id, chart] of charts) {
    const node = document.getElementById(id);
    if (node) chart.setSize({ width: Math.max(node.clientWidth, 240), height: chart.height });
  }
}

const axis = { stroke: "#6b7785", grid: { stroke: "#eef2f6" }, ticks: { stroke: "#dde3ea" } };

// One bar per label; `values` are counts.
export function bars(container, labels, values, { color = COLORS.brandFill, height = 220 } = {}) {
  return place(container, (width) => new uPlot({
    width, height, legend: { show: false }, cursor: { drag: { x: false, y: false }, points: { show: false } },
    scales: { x: { time: false, range: [-0.5, labels.length - 0.5] }, y: { range: (u, min, max) => [0, Math.max(1, max * 1.15)] } },
    axes: [
      { ...axis, grid: { show: false }, splits: () => labels.map((_, i) => i), values: () => labels, size: 44, gap: 6 },
      { ...axis, size: 40, values: (u, splits) => splits.map((v) => (Number.isInteger(v) ? String(v) : "")) },
    ],
    series: [{}, { label: "count", fill: color, stroke: color, width: 0, paths: uPlot.paths.bars({ size: [0.62, 72] }),
      points: { show: false } }],
  }, [labels.map((_, i) => i), values], container));
}

// Hour of the week (0 = Monday 00:00 .. 167) against three series; `weekdays` labels the days.
export function staffing(container, rows, names, weekdays, { height = 260 } = {}) {
  const x = rows.map((_, i) => i);
  const series = (key) => rows.map((r) => (r[key] === null ? null : r[key]));
  return place(container, (width) => new uPlot({
    width, height, cursor: { drag: { x: false, y: false } },
    legend: { live: false },
    scales: { x: { time: false, range: [0, 167] }, y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
    axes: [
      { ...axis, splits: () => [0, 24, 48, 72, 96, 120, 144], values: (u, s) => s.map((v) => weekdays[v / 24] || ""), size: 36 },
      { ...axis, size: 40 },
    ],
    series: [
      {},
      { label: names.arrivals, stroke: COLORS.brand, width: 2, fill: "rgba(15,76,129,.08)", spanGaps: false, points: { show: false } },
      { label: names.depth, stroke: COLORS.warn, width: 2, spanGaps: false, points: { show: false } },
      { label: names.online, stroke: COLORS.ok, width: 2, dash: [6, 4], spanGaps: false, points: { show: false } },
    ],
  }, [x, series("arrivals_per_hour"), series("queue_depth"), series("agents_online")], container));
}
