// The dashboard's charts, drawn with the vendored Chart.js (static/vendor/README.md). Each
// chart fetches its points after the page has rendered (charts load lazily) and marks its
// canvas with data-ready and data-datasets once drawn, for people's scripts and the tests.
"use strict";

const PALETTE = ["#0969da", "#d1242f", "#1a7f37", "#8250df", "#bc4c00", "#1b7c83", "#bf3989", "#6e7781"];

Chart.defaults.animation = false;
Chart.defaults.maintainAspectRatio = false;
Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
Chart.defaults.color = "#1f2328";
Chart.defaults.plugins.legend.labels.boxWidth = 14;

function axis(title, extra) {
  return Object.assign({ type: "linear", title: { display: true, text: title } }, extra || {});
}

function titled(text) {
  return { display: true, text: text, font: { size: 14, weight: "600" } };
}

function points(xs, ys) {
  return xs.map((x, i) => ({ x: x, y: ys[i] }));
}

function draw(canvas, config) {
  const chart = new Chart(canvas, config);
  canvas.dataset.datasets = String(config.data.datasets.length);
  canvas.dataset.ready = "1";
  return chart;
}

async function getJSON(url) {
  const response = await fetch(url, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return response.json();
}

function lossChart(canvas, c) {
  const datasets = [];
  if (c.train.step.length) {
    datasets.push({ label: "training loss", data: points(c.train.step, c.train.loss),
      borderColor: "#9ecae1", borderWidth: 1, pointRadius: 0 });
  }
  if (c.train.smooth.length) {
    datasets.push({ label: `training loss, moving average (${c.window})`,
      data: points(c.train.step, c.train.smooth), borderColor: "#08519c", borderWidth: 2, pointRadius: 0 });
  }
  if (c.val.step.length) {
    datasets.push({ label: "validation loss", data: points(c.val.step, c.val.loss),
      borderColor: "#d94801", backgroundColor: "#d94801", pointRadius: 3 });
  }
  draw(canvas, { type: "line", data: { datasets: datasets }, options: {
    plugins: { title: titled("Loss") },
    scales: { x: axis("step", { beginAtZero: true }), y: axis("loss", { grace: "5%" }) } } });
}

function scoresChart(canvas, c) {
  const datasets = [
    { label: "accuracy", data: points(c.val.epoch, c.val.accuracy), borderColor: PALETTE[0],
      backgroundColor: PALETTE[0], pointRadius: 3, clip: false },
    { label: "macro-F1", data: points(c.val.epoch, c.val.macro_f1), borderColor: PALETTE[2],
      backgroundColor: PALETTE[2], pointRadius: 3, pointStyle: "rect", clip: false },
  ];
  if (c.best) {
    datasets.push({ label: `kept checkpoint (macro-F1 ${c.best.macro_f1.toFixed(3)})`,
      data: [{ x: c.best.epoch, y: c.best.macro_f1 }], showLine: false, pointRadius: 9,
      pointBorderWidth: 2, borderColor: "#cf222e", backgroundColor: "rgba(0,0,0,0)", clip: false });
  }
  draw(canvas, { type: "line", data: { datasets: datasets }, options: {
    plugins: { title: titled("Validation scores") },
    scales: { x: axis("epoch", { beginAtZero: true }), y: axis("score", { min: 0, max: 1 }) } } });
}

async function runCharts() {
  const box = document.querySelector(".charts[data-curves-url]");
  if (!box) return;
  const c = await getJSON(box.dataset.curvesUrl);
  if (!c.train.step.length && !c.val.epoch.length) {
    box.hidden = true;
    document.getElementById("curves-note").hidden = false;
    return;
  }
  lossChart(document.getElementById("loss-chart"), c);
  scoresChart(document.getElementById("scores-chart"), c);
}

const COMPARE_CURVES = {
  "val.macro_f1": ["val", "epoch", "macro_f1", "epoch", "validation macro-F1"],
  "val.accuracy": ["val", "epoch", "accuracy", "epoch", "validation accuracy"],
  "val.loss": ["val", "epoch", "loss", "epoch", "validation loss"],
  "train.loss": ["train", "step", "loss", "step", "training loss"],
};

async function compareChart() {
  const canvas = document.getElementById("compare-chart");
  if (!canvas) return;
  const ids = JSON.parse(canvas.dataset.runs);
  const curves = await Promise.all(ids.map((id) => getJSON(`/api/runs/${encodeURIComponent(id)}/curves`)));
  const select = document.getElementById("compare-metric");
  let chart = null;
  const show = () => {
    const [split, xKey, yKey, xTitle, yTitle] = COMPARE_CURVES[select.value];
    const datasets = curves.map((c, i) => ({
      label: c.run,
      data: points(c[split][xKey], c[split][yKey]),
      borderColor: PALETTE[i % PALETTE.length],
      backgroundColor: PALETTE[i % PALETTE.length],
      pointRadius: split === "val" ? 3 : 0,
      borderWidth: 2,
    }));
    if (chart) chart.destroy();
    chart = draw(canvas, { type: "line", data: { datasets: datasets }, options: {
      plugins: { title: titled(`${yTitle} by ${xTitle}`) },
      scales: { x: axis(xTitle, { beginAtZero: true }), y: axis(yTitle, { grace: "5%" }) } } });
  };
  select.addEventListener("change", show);
  show();
}

function tradeoffChart() {
  const canvas = document.getElementById("tradeoff-chart");
  if (!canvas) return;
  const rows = JSON.parse(canvas.dataset.points);
  const recommended = canvas.dataset.recommended;
  const datasets = rows.map((r, i) => ({
    label: r.variant + (r.variant === recommended ? " (recommended)" : ""),
    data: [{ x: r.p50_ms, y: r.accuracy }],
    borderColor: PALETTE[i % PALETTE.length],
    backgroundColor: PALETTE[i % PALETTE.length],
    pointRadius: r.variant === recommended ? 9 : 6,
    pointStyle: r.variant === recommended ? "star" : "circle",
  }));
  draw(canvas, { type: "scatter", data: { datasets: datasets }, options: {
    plugins: { title: titled("Accuracy against latency"), tooltip: { callbacks: {
      label: (item) => `${item.dataset.label}: accuracy ${item.parsed.y.toFixed(4)}, p50 ${item.parsed.x.toFixed(2)} ms`,
    } } },
    scales: { x: axis("p50 latency of one input (ms)", { beginAtZero: true, grace: "8%" }),
      y: axis("test accuracy", { grace: "25%" }) } } });
}

function reliabilityChart() {
  const canvas = document.getElementById("reliability-chart");
  if (!canvas) return;
  const sides = JSON.parse(canvas.dataset.points);
  const temperature = Number(canvas.dataset.temperature);
  const datasets = [{ label: "perfectly calibrated", data: [{ x: 0, y: 0 }, { x: 1, y: 1 }],
    borderColor: "#8c959f", borderDash: [6, 4], borderWidth: 1, pointRadius: 0 }];
  const styles = {
    before: ["before scaling (T = 1)", "#8c959f", "rect"],
    after: [`after scaling (T = ${Number.isFinite(temperature) ? temperature.toFixed(2) : "1"})`, PALETTE[0], "circle"],
  };
  for (const key of ["before", "after"]) {
    if (!sides[key]) continue;
    const [label, color, style] = styles[key];
    datasets.push({ label: label, data: sides[key], borderColor: color, backgroundColor: color,
      pointStyle: style, pointRadius: 4, borderWidth: 2 });
  }
  draw(canvas, { type: "line", data: { datasets: datasets }, options: {
    plugins: { title: titled("Reliability diagram"), tooltip: { callbacks: {
      label: (item) => item.raw.n === undefined ? item.dataset.label
        : `${item.dataset.label}: confidence ${item.parsed.x.toFixed(3)}, accuracy ${item.parsed.y.toFixed(3)} (${item.raw.n} predictions)`,
    } } },
    scales: { x: axis("confidence (mean of the bin)", { min: 0, max: 1 }),
      y: axis("accuracy", { min: 0, max: 1 }) } } });
}

document.addEventListener("DOMContentLoaded", () => {
  runCharts().catch((error) => console.warn("training curves:", error));
  compareChart().catch((error) => console.warn("compare curves:", error));
  tradeoffChart();
  reliabilityChart();
});
