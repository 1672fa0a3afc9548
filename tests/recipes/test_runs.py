"""recipes.runs.run_summaries: the runs listing the dashboard shows, from the store and from
run directories it does not index."""

from __future__ import annotations

import json

from tuneforge.recipes.runs import run_summaries
from tuneforge.store import RunDir, open_store


def test_summaries_come_from_the_store_and_from_unindexed_run_dirs(runs_dir):
    """A stored run is summarised from its params and final (test, else validation) metrics;
    a run folder the store does not know is summarised from its status.json and eval.json."""
    store = open_store(runs_dir)
    config = {"data": {"task": "text", "train_file": "/d/tickets.csv"}, "method": {"name": "lora"}}
    run = store.start("stored", "stored", str(runs_dir / "stored"), config, model="/m/minilm")
    run.log_metrics(step=5, epoch=1, split="val", metrics={"accuracy": 0.5, "macro_f1": 0.4})
    run.finish("succeeded")
    copied = RunDir.create(runs_dir, "copied")
    copied.update_status(
        state="succeeded",
        task="image",
        created_at="2026-01-01T00:00:00+00:00",
        finished_at="2026-01-01T00:01:30+00:00",
        data_source={"train": "/d/shapes"},
    )
    copied.eval_path.write_text(json.dumps({"accuracy": 0.9, "macro_f1": 0.8}))
    summaries = {s.id: s for s in run_summaries(runs_dir)}
    stored = summaries["stored"]
    assert (stored.task, stored.data, stored.method, stored.model) == (
        "text",
        "tickets.csv",
        "lora",
        "minilm",
    )
    assert (stored.accuracy, stored.macro_f1, stored.state) == (0.5, 0.4, "succeeded")
    assert stored.duration_s is not None and stored.duration_s >= 0
    other = summaries["copied"]
    assert (other.task, other.data, other.accuracy, other.duration_s) == (
        "image",
        "shapes",
        0.9,
        90,
    )
