"""report.html: self-contained, escaped, useful with and without an evaluation."""

from __future__ import annotations

import json

import yaml

from tuneforge.report import write_report


def _run_dir(tmp_path, n_labels: int, with_eval: bool = True):
    labels = [f"label<{i}>&" for i in range(n_labels)]
    (tmp_path / "status.json").write_text(json.dumps({"run_id": "r1", "state": "succeeded"}))
    (tmp_path / "config.yaml").write_text(yaml.safe_dump({"train": {"lr": 0.0002}}))
    records = [{"split": "train", "step": s, "epoch": s / 10, "loss": 1 / s} for s in range(1, 30)]
    records += [
        {
            "split": "val",
            "step": 10 * e,
            "epoch": e,
            "loss": 1 / e,
            "accuracy": 0.5 + e / 10,
            "macro_f1": 0.4 + e / 10,
        }
        for e in (1, 2, 3)
    ]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    if with_eval:
        confusion = [[5 if i == j else 1 for j in range(n_labels)] for i in range(n_labels)]
        ev = {
            "split": "test",
            "n": 10,
            "accuracy": 0.8123,
            "macro_f1": 0.7456,
            "weighted_f1": 0.8,
            "labels": labels,
            "confusion": confusion,
            "per_class": {
                k: {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 3} for k in labels
            },
            "confused_pairs": [
                {
                    "true": labels[0],
                    "pred": labels[1],
                    "count": 2,
                    "examples": ["<script>alert(1)</script> & more"],
                }
            ],
            "baseline": {"name": "tfidf-linear-svm", "accuracy": 0.7, "macro_f1": 0.6},
        }
        (tmp_path / "eval.json").write_text(json.dumps(ev))
    return tmp_path


def _assert_self_contained(html: str) -> None:
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html and "<link" not in html


def test_report_shows_metrics_plots_and_escapes_text(tmp_path):
    """Metrics, curves, heat map and examples appear; user text is escaped."""
    html = write_report(_run_dir(tmp_path, 3)).read_text()
    assert "0.8123" in html and "0.7456" in html and "+11.2 pts" in html
    assert html.count("data:image/png;base64,") == 2
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in html
    assert "label&lt;0&gt;&amp;" in html
    _assert_self_contained(html)


def test_report_with_many_labels(tmp_path):
    """Sixty labels still render (counts moved out of the heat map)."""
    html = write_report(_run_dir(tmp_path, 60)).read_text()
    assert "row-normalised" in html and html.count("data:image/png;base64,") == 2


def test_report_for_a_run_without_evaluation(tmp_path):
    """A failed run still gets a report saying there is no evaluation."""
    html = write_report(_run_dir(tmp_path, 2, with_eval=False)).read_text()
    assert "No evaluation yet" in html and "data:image/png;base64," in html
    _assert_self_contained(html)


def test_extra_sections_are_appended(tmp_path):
    """Later stages can add sections without editing the report module."""
    html = write_report(_run_dir(tmp_path, 2), [("Trade-off", "<p>table</p>")]).read_text()
    assert "<h2>Trade-off</h2><p>table</p>" in html
