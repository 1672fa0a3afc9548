// The playground's image upload: a dropped or chosen image is posted (multipart, with the
// session's CSRF token in a header) and the labels and heat map come back as JSON. Labels
// enter the page through textContent only; the overlay is a PNG data URI.
"use strict";

function showLabels(top) {
  const body = document.querySelector("#top-labels tbody");
  body.replaceChildren();
  top.forEach((row) => {
    const tr = document.createElement("tr");
    tr.append(tuneforge.el("td", row.label));
    const cell = tuneforge.el("td", null, "bar-cell");
    const bar = tuneforge.el("span", null, "bar");
    bar.style.width = `${(100 * row.score).toFixed(1)}%`;
    cell.append(bar);
    tr.append(cell, tuneforge.el("td", row.score.toFixed(3), "num"));
    body.append(tr);
  });
}

async function sendImage(box, file) {
  const status = document.getElementById("image-status");
  const method = document.getElementById("method-select").value;
  const form = new FormData();
  form.append("files", file, file.name);
  status.textContent = `Predicting ${file.name}…`;
  const response = await fetch(`${box.dataset.url}&method=${encodeURIComponent(method)}`, {
    method: "POST",
    credentials: "same-origin",
    headers: { "X-CSRF-Token": tuneforge.csrf() },
    body: form,
  });
  const data = await response.json();
  if (!response.ok) {
    status.textContent = data.error || `The upload failed (${response.status}).`;
    status.className = "bad";
    return;
  }
  status.className = "note";
  status.textContent = `${file.name}: ${data.label} ${data.score.toFixed(3)} · ${data.method_name}`;
  showLabels(data.top);
  document.getElementById("overlay-title").textContent = `Heat map for ${data.label}`;
  document.getElementById("overlay").src = data.overlay;
  document.getElementById("overlay-box").hidden = false;
  document.getElementById("result").hidden = false;
}

function setUpImageUpload() {
  const box = document.getElementById("image-box");
  if (!box) return;
  const input = document.getElementById("image-input");
  const zone = document.getElementById("drop-zone");
  const send = (file) => {
    if (file) sendImage(box, file).catch((error) => console.warn("image upload:", error));
  };
  input.addEventListener("change", () => send(input.files[0]));
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    send(event.dataTransfer.files[0]);
  });
}

function setUpModelPicker() {
  const select = document.getElementById("model-select");
  if (select) select.addEventListener("change", () => select.form.submit());
}

document.addEventListener("DOMContentLoaded", () => {
  setUpModelPicker();
  setUpImageUpload();
});
