// The dashboard's page behaviour: picking runs to compare, confirming actions, and the
// confusion matrix's cells. Loaded from a file (the Content-Security-Policy forbids inline
// scripts); user text only ever enters the page through textContent, never innerHTML.
"use strict";

window.tuneforge = window.tuneforge || {};

// State-changing calls from scripts carry the session's CSRF token in a header.
tuneforge.csrf = function () {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
};
tuneforge.post = function (url, body) {
  return fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": tuneforge.csrf() },
    body: JSON.stringify(body || {}),
  });
};
tuneforge.el = function (tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
};

function setUpCompareForm() {
  const form = document.getElementById("compare-form");
  if (!form) return;
  const button = document.getElementById("compare-button");
  const hint = document.getElementById("compare-hint");
  const max = Number(form.dataset.max || 8);
  const update = () => {
    const boxes = form.querySelectorAll('input[name="run"]');
    let picked = 0;
    boxes.forEach((box) => {
      box.closest("tr").classList.toggle("picked", box.checked);
      if (box.checked) picked += 1;
    });
    button.disabled = picked < 2 || picked > max;
    hint.textContent = picked > max
      ? `At most ${max} runs can be compared at once.`
      : picked ? `${picked} picked.` : `Tick two to ${max} runs to compare them.`;
  };
  form.addEventListener("change", update);
  update();
}

function setUpConfirmations() {
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
}

function showCell(panel, data) {
  panel.replaceChildren();
  panel.append(tuneforge.el("h3", `true ${data.true} → predicted ${data.pred}`));
  panel.append(tuneforge.el("p", `${data.count} test example${data.count === 1 ? "" : "s"} in this cell`, "note"));
  if (data.examples.length) {
    const list = tuneforge.el("ul");
    data.examples.forEach((text) => list.append(tuneforge.el("li", text)));
    panel.append(list);
  }
  if (data.note) panel.append(tuneforge.el("p", data.note, "note"));
}

function setUpConfusion() {
  const table = document.getElementById("confusion");
  const panel = document.getElementById("cell-panel");
  if (!table || !panel) return;
  const open = async (cell) => {
    table.querySelectorAll("td.selected").forEach((c) => c.classList.remove("selected"));
    cell.classList.add("selected");
    const url = `${table.dataset.cellUrl}?true=${cell.dataset.true}&pred=${cell.dataset.pred}`;
    const response = await fetch(url, { credentials: "same-origin" });
    if (!response.ok) {
      panel.replaceChildren(tuneforge.el("p", "This cell could not be loaded.", "bad"));
      return;
    }
    showCell(panel, await response.json());
  };
  table.addEventListener("click", (event) => {
    const cell = event.target.closest("td.cell");
    if (cell) open(cell);
  });
  table.addEventListener("keydown", (event) => {
    const cell = event.target.closest("td.cell");
    if (cell && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      open(cell);
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  setUpCompareForm();
  setUpConfirmations();
  setUpConfusion();
});
