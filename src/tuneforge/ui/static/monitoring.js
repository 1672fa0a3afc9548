// The monitoring page's charts (Chart.js, with the helpers of charts.js): one point per time
// bucket from /api/monitoring/<model>; a bucket without predictions is null, drawn as a gap.
"use strict";

function bucketChart(canvas, title, ticks, datasets, yTitle, extra) {
  const options = {
    plugins: { title: titled(title), tooltip: { mode: "index", intersect: false } },
    scales: {
      x: { type: "category", offset: true, title: { display: true, text: "bucket end (UTC)" },
        ticks: { maxRotation: 45, autoSkip: true } },
      y: Object.assign({ title: { display: true, text: yTitle }, beginAtZero: true }, extra || {}),
    },
  };
  return draw(canvas, { type: datasets[0].type || "line", data: { labels: ticks, datasets: datasets }, options: options });
}

function line(label, data, colour, more) {
  return Object.assign({ type: "line", label: label, data: data, borderColor: colour, backgroundColor: colour,
    pointRadius: 3, borderWidth: 2, spanGaps: false, clip: false }, more || {});
}

function trafficChart(d) {
  bucketChart(document.getElementById("traffic-chart"), "Traffic", d.ticks,
    [{ type: "bar", label: "predictions", data: d.count, backgroundColor: "#54aeff" }], "predictions per bucket");
}

function sharesChart(d) {
  const datasets = d.labels.map((label, i) => ({
    type: "bar", label: label, data: d.shares[label], backgroundColor: PALETTE[i % PALETTE.length], stack: "shares",
  }));
  const canvas = document.getElementById("shares-chart");
  const chart = bucketChart(canvas, "Label shares", d.ticks, datasets, "share of predictions", { max: 1, stacked: true });
  chart.options.scales.x.stacked = true;
  chart.update();
}

function confidenceChart(d) {
  const datasets = [
    line("mean confidence", d.mean_confidence, PALETTE[0]),
    line("low-confidence share (< 0.5)", d.low_confidence_share, "#bf8700", { pointStyle: "rect" }),
  ];
  // Drawn once the server abstains (serve --abstain): the share answered with the unknown label.
  if ((d.unknown_share || []).some((v) => v)) {
    datasets.push(line("abstained share (unknown label)", d.unknown_share, PALETTE[3], { pointStyle: "triangle" }));
  }
  bucketChart(document.getElementById("confidence-chart"), "Confidence", d.ticks, datasets,
    "confidence / share", { max: 1 });
}

function latencyChart(d) {
  bucketChart(document.getElementById("latency-chart"), "Latency", d.ticks, [
    line("p50", d.p50_latency_ms, PALETTE[0]),
    line("p95", d.p95_latency_ms, "#9a6700", { pointStyle: "rect" }),
    line("p99", d.p99_latency_ms, PALETTE[1], { pointStyle: "triangle" }),
  ], "latency (ms)");
}

function driftChart(d) {
  const canvas = document.getElementById("drift-chart");
  if (!d.reference_shares) {
    bucketChart(canvas, "Drift against the reference: no reference profile", d.ticks,
      [line("PSI", d.psi, "#8250df")], "PSI");
    return;
  }
  const notable = d.ticks.map(() => d.psi_notable);
  const chart = bucketChart(canvas, "Drift against the reference", d.ticks, [
    line("label PSI", d.psi, "#8250df"),
    line(`PSI ${d.psi_notable}: notable shift`, notable, "#6e7781", { borderDash: [6, 4], pointRadius: 0, borderWidth: 1 }),
    line("chi-square p-value", d.chi2_p, PALETTE[2], { yAxisID: "p", pointStyle: "rect" }),
  ], "PSI");
  chart.options.scales.p = { position: "right", min: 0, max: 1, title: { display: true, text: "p-value" },
    grid: { drawOnChartArea: false } };
  chart.update();
}

async function monitorCharts() {
  const box = document.getElementById("monitor-charts");
  if (!box) return;
  const d = await getJSON(box.dataset.url);
  trafficChart(d);
  sharesChart(d);
  confidenceChart(d);
  latencyChart(d);
  driftChart(d);
}

document.addEventListener("DOMContentLoaded", () => {
  monitorCharts().catch((error) => console.warn("monitoring charts:", error));
});
