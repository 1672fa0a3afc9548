"""TensorBoard tracking read back with TensorBoard's own event reader: the same names, steps
and values as metrics.jsonl (TensorBoard stores scalars as float32)."""

from __future__ import annotations

import json


def _accumulator(folder):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()
    return acc


def test_events_equal_metrics_jsonl(tracked_train):
    """Every number of metrics.jsonl is the scalar ``<split>/<key>`` at its step in the run's
    event folder (``<runs>/tensorboard/<run>``), and the evaluation is ``eval/<name>``."""
    import numpy as np

    from tuneforge.store import RunDir

    rd = RunDir(tracked_train.run_dir)
    acc = _accumulator(tracked_train.runs / "tensorboard" / "tracked")
    scalars = {tag: {(e.step, e.value) for e in acc.Scalars(tag)} for tag in acc.Tags()["scalars"]}
    records = rd.read_metrics()
    assert {r["split"] for r in records} == {"train", "val"}
    for record in records:
        for key, value in record.items():
            if key in ("split", "step"):
                continue
            name = f"{record['split']}/{key}"
            assert (record["step"], float(np.float32(value))) in scalars[name], (name, record)
    evaluation = json.loads(rd.eval_path.read_text())
    (accuracy,) = scalars["eval/accuracy"]
    assert accuracy[1] == float(np.float32(evaluation["accuracy"]))


def test_config_tags_and_files_travel_with_the_events(tracked_train):
    """The resolved config and the tags are text in the events; the report and eval files are
    copied beside them (TensorBoard keeps no artifacts of its own)."""
    folder = tracked_train.runs / "tensorboard" / "tracked"
    acc = _accumulator(folder)
    texts = acc.Tags()["tensors"]
    assert any(t.startswith("config") for t in texts) and any(t.startswith("tags") for t in texts)
    config = next(t for t in texts if t.startswith("config"))
    shown = acc.Tensors(config)[0].tensor_proto.string_val[0].decode()
    assert "lr: 0.002" in shown
    assert (folder / "files" / "eval.json").is_file()
    assert (folder / "files" / "report.html").is_file()
