// A study's charts (Chart.js, with the helpers of charts.js): validation macro-F1 by trial with
// the best so far as a step line and pruned trials marked, and the parameters' importances.
"use strict";

// One tick per trial number, though the axis runs half a trial past the first and last.
function wholeTicks(scale) {
  const ticks = [];
  for (let v = Math.ceil(scale.min); v <= scale.max; v += 1) ticks.push({ value: v });
  scale.ticks = ticks;
}

function historyChart(h) {
  const datasets = [
    { type: "scatter", label: "completed trial", data: points(h.number, h.value), backgroundColor: PALETTE[0],
      pointRadius: 5, clip: false },
    { type: "line", label: "best so far", data: points(h.number, h.best), borderColor: PALETTE[2],
      backgroundColor: PALETTE[2], stepped: "before", pointRadius: 0, borderWidth: 2 },
  ];
  if (h.pruned.length) {
    const floor = Math.min(...h.value, 1) - 0.02;
    datasets.push({ type: "scatter", label: "pruned (where it stopped)", data: h.pruned.map((n) => ({ x: n, y: floor })),
      pointStyle: "crossRot", pointRadius: 7, borderColor: "#9a6700", backgroundColor: "#9a6700" });
  }
  draw(document.getElementById("history-chart"), { type: "scatter", data: { datasets: datasets }, options: {
    plugins: { title: titled("Optimisation history") },
    scales: { x: axis("trial", { min: -0.5, max: Math.max(...h.number, ...h.pruned) + 0.5,
        afterBuildTicks: wholeTicks }),
      y: axis("validation macro-F1", { grace: "10%" }) } } });
}

function importanceChart(d) {
  const canvas = document.getElementById("importance-chart");
  if (!d.importances) {
    canvas.closest(".chart").hidden = true;
    const note = document.getElementById("importances-note");
    note.textContent = `Parameter importances: ${d.importances_note}`;
    note.hidden = false;
    return;
  }
  const names = Object.keys(d.importances);
  draw(canvas, { type: "bar", data: { labels: names, datasets: [
    { label: "importance", data: names.map((n) => d.importances[n]), backgroundColor: PALETTE[0] }] },
  options: { indexAxis: "y", plugins: { title: titled("Parameter importances"), legend: { display: false } },
    scales: { x: axis("importance (share; Optuna's default evaluator)", { min: 0 }),
      y: { type: "category", title: { display: true, text: "parameter" } } } } });
}

async function studyCharts() {
  const box = document.getElementById("study-charts");
  if (!box) return;
  const d = await getJSON(box.dataset.url);
  if (d.history.number.length || d.history.pruned.length) historyChart(d.history);
  importanceChart(d);
}

document.addEventListener("DOMContentLoaded", () => {
  studyCharts().catch((error) => console.warn("study charts:", error));
});
