// The labeling pages' behaviour: the keyboard at the labelling desk, the model picker, and
// the retrain status the queue page polls. Every write is a form the server renders (with its
// CSRF field); this file only picks and submits them. User text enters only via textContent.
"use strict";

(function () {
  const el = (tag, text, className) => {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  };

  // -- the desk ------------------------------------------------------------------------------
  let submitting = false;
  const submit = (form) => {
    if (!form || submitting) return;
    submitting = true;
    form.requestSubmit();
  };

  const choices = () => Array.from(document.querySelectorAll('#label-form input[name="label"]'));

  const pick = (radio) => {
    radio.checked = true;
    radio.focus({ preventScroll: true });
  };

  // A letter picks the labels starting with it in turn: the first, then the next on each press.
  const pickByLetter = (letter) => {
    const matching = choices().filter((r) => r.dataset.letter === letter);
    if (!matching.length) return false;
    const at = matching.findIndex((r) => r.checked);
    pick(matching[(at + 1) % matching.length]);
    return true;
  };

  const onKey = (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    const target = event.target;
    if (target.closest && target.closest("select, textarea, input:not([type=radio])")) return;
    const key = event.key;
    let handled = true;
    if (key === "Enter") {
      if (choices().some((r) => r.checked)) submit(document.getElementById("label-form"));
    } else if (key === "Backspace") {
      submit(document.getElementById("undo-form"));
    } else if (key === "s" && !event.shiftKey) {
      submit(document.getElementById("skip-form"));
    } else if (/^[1-9]$/.test(key)) {
      const radio = choices().find((r) => r.dataset.digit === key);
      if (radio) pick(radio);
    } else if (key.length === 1) {
      handled = pickByLetter(key.toLowerCase());
    } else {
      handled = false;
    }
    if (handled) event.preventDefault();
  };

  function setUpDesk() {
    if (!document.getElementById("desk")) return;
    document.addEventListener("keydown", onKey);
    document.querySelectorAll("form").forEach((form) => {
      form.addEventListener("submit", () => { submitting = true; });
    });
    const select = document.getElementById("model-select");
    if (select) select.addEventListener("change", () => select.form.submit());
  }

  // -- the retrain status --------------------------------------------------------------------
  const num = (value, digits) =>
    typeof value === "number" && Number.isFinite(value) ? value.toFixed(digits) : "—";

  function comparisonTable(comparison) {
    const table = el("table");
    table.id = "retrain-comparison";
    const head = el("tr");
    ["part", "examples", "production accuracy", "candidate accuracy", "production macro-F1",
      "candidate macro-F1"].forEach((h, i) => head.append(el("th", h, i ? "num" : "")));
    table.append(el("thead"));
    table.tHead.append(head);
    const body = el("tbody");
    Object.entries(comparison.parts || {}).forEach(([part, pair]) => {
      const row = el("tr");
      row.append(el("td", part));
      [pair.production.n, num(pair.production.accuracy, 4), num(pair.candidate.accuracy, 4),
        num(pair.production.macro_f1, 4), num(pair.candidate.macro_f1, 4)]
        .forEach((v) => row.append(el("td", v, "num")));
      body.append(row);
    });
    table.append(body);
    return table;
  }

  function showJob(box, job) {
    box.replaceChildren();
    box.hidden = false;
    box.append(el("h3", `Retrain of ${job.model} on queue ${job.queue}: ${job.state}`));
    const started = new Date(job.started_at).toISOString().slice(0, 16).replace("T", " ");
    box.append(el("p", `minimum gain ${num(job.min_gain, 4)} · held back ${num(job.holdout, 2)} · started ${started} UTC`, "note"));
    if (job.state === "failed") box.append(el("p", job.error, "bad"));
    const result = job.result;
    if (result) {
      const decision = el("p", result.decision, result.promoted ? "good decision" : "bad decision");
      decision.id = "retrain-decision";
      box.append(decision);
      if (result.comparison) {
        const c = result.comparison;
        box.append(el("p", `Examples only the candidate gets right: ${c.only_candidate_right}; ` +
          `only production: ${c.only_production_right}.`, "note"));
        box.append(comparisonTable(c));
      }
      if (result.candidate) {
        const link = el("a", `candidate run ${result.candidate}`);
        link.href = `/runs/${encodeURIComponent(result.candidate)}`;
        const p = el("p");
        p.append(link);
        if (result.promoted) p.append(` · promoted as ${result.promoted}`);
        box.append(p);
      }
    }
    if (job.log && job.log.length) {
      const details = el("details");
      details.open = job.state === "running";
      details.append(el("summary", `log (${job.log.length} line${job.log.length === 1 ? "" : "s"})`));
      details.append(el("pre", job.log.slice(-30).join("\n"), "log"));
      box.append(details);
    }
  }

  function setUpRetrainStatus() {
    const box = document.getElementById("retrain-status");
    if (!box) return;
    const poll = async () => {
      let job;
      try {
        const response = await fetch(box.dataset.url, { credentials: "same-origin" });
        if (!response.ok) throw new Error(String(response.status));
        job = await response.json();
      } catch (error) {
        box.hidden = false;
        box.replaceChildren(el("p", "The retrain status could not be read; reload the page.", "bad"));
        return;
      }
      if (job.state !== "none" && job.queue === box.dataset.queue) showJob(box, job);
      box.dataset.state = job.state;
      if (job.state === "running") window.setTimeout(poll, 1500);
    };
    poll();
  }

  document.addEventListener("DOMContentLoaded", () => {
    setUpDesk();
    setUpRetrainStatus();
  });
})();
