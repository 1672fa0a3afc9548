"""report.html: self-contained, escaped, readable with and without an evaluation."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys

import matplotlib.pyplot as plt
import pytest
import yaml

from tuneforge.report import confusion_heatmap_png, training_curves_png, write_report

EVIL = "<script>alert(1)</script> & more"
IMG = re.compile(r'<img [^>]*src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


def _records(epochs: int = 3) -> list[dict]:
    records = [
        {
            "split": "train",
            "step": s,
            "epoch": s / 10,
            "loss": 1 / s,
            "lr": 1e-4,
            "examples_per_s": 100.0,
        }
        for s in range(1, 10 * epochs)
    ]
    records += [
        {
            "split": "val",
            "step": 10 * e,
            "epoch": float(e),
            "loss": 1 / e,
            "accuracy": 0.5 + e / 10,
            "macro_f1": 0.4 + e / 10,
        }
        for e in range(1, epochs + 1)
    ]
    return records


def _run_dir(tmp_path, n_labels: int, with_eval: bool = True, state: str = "succeeded"):
    labels = [f"label<{i}>&" for i in range(n_labels)]
    status = {
        "run_id": "r1",
        "state": state,
        "created_at": "2026-01-01T10:00:00+00:00",
        "finished_at": "2026-01-01T10:03:05+00:00",
        "git_sha": "abc123",
        "packages": {"torch": "2.4.0"},
        "data_fingerprint": "f1ngerprint",
        "seed": 7,
        "precision": "bf16",
        "model_dir": "models/tiny",
        "train_seconds": 12.5,
        "best_epoch": 3,
    }
    if state == "failed":
        status["error"] = "RuntimeError: <bad> & broken"
    (tmp_path / "status.json").write_text(json.dumps(status))
    config = {
        "name": "r1",
        "runs_dir": "runs",
        "train": {"lr": 0.0002, "epochs": None},
        "data": {"train_file": "a&b.csv"},
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in _records()))
    if with_eval:
        confusion = [[5 if i == j else 1 for j in range(n_labels)] for i in range(n_labels)]
        per_class = {k: {"precision": 0.9, "recall": 0.9, "f1": 0.9, "support": 3} for k in labels}
        per_class[labels[-1]] = {"precision": 0.1, "recall": 0.2, "f1": 0.1333, "support": 4}
        ev = {
            "split": "test",
            "n": 10,
            "accuracy": 0.8123,
            "macro_f1": 0.7456,
            "weighted_f1": 0.8,
            "labels": labels,
            "confusion": confusion,
            "per_class": per_class,
            "confused_pairs": [
                {
                    "true": labels[0],
                    "pred": labels[1],
                    "count": 2,
                    "examples": [EVIL, "two", "three", "four is not shown"],
                }
            ],
            "baseline": {"name": "tfidf-linear-svm", "accuracy": 0.7, "macro_f1": 0.6},
        }
        (tmp_path / "eval.json").write_text(json.dumps(ev))
    return tmp_path


def _assert_self_contained(page: str) -> None:
    assert "http://" not in page and "https://" not in page
    assert "<script" not in page and "<link" not in page


def _png(data_uri_b64: str) -> bytes:
    return base64.b64decode(data_uri_b64)


@pytest.fixture(scope="module")
def two_label_page(tmp_path_factory) -> str:
    """One rendered 2-label report shared by the tests that only read it (keeps the suite fast)."""
    run = _run_dir(tmp_path_factory.mktemp("run"), 2)
    out = write_report(run)
    assert out == run / "report.html" and out.is_file()
    return out.read_text()


def test_two_label_report_shows_metrics_plots_and_escapes_text(two_label_page):
    """Metrics, baseline difference, curves and heat map appear; user text is escaped."""
    page = two_label_page
    assert "0.8123" in page and "0.7456" in page
    assert "+11.2 pts" in page and "+14.6 pts" in page  # accuracy and macro-F1 vs baseline
    images = IMG.findall(page)
    assert len(images) == 2 and all(_png(b).startswith(b"\x89PNG") for b in images)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in page
    assert "label&lt;0&gt;&amp; → label&lt;1&gt;&amp;" in page
    assert "four is not shown" not in page  # at most three examples per pair
    _assert_self_contained(page)


def test_header_shows_run_facts(two_label_page):
    """The header carries id, state, duration, model, precision, seed and fingerprint."""
    for fact in ("r1", "succeeded", "3 min 05 s", "models/tiny", "bf16", "f1ngerprint", "abc123"):
        assert fact in two_label_page


def test_config_is_a_dotted_key_table(two_label_page):
    """Nested config becomes dotted keys with YAML-style values, escaped."""
    page = two_label_page
    assert "<td>train.lr</td><td>0.0002</td>" in page
    assert "<td>train.epochs</td><td>null</td>" in page
    assert "<td>data.train_file</td><td>a&amp;b.csv</td>" in page


def test_per_class_table_lists_worst_f1_first(two_label_page):
    """The weakest class is the first row of the per-class table."""
    table = two_label_page.split("Per class")[1]
    assert table.index("label&lt;1&gt;&amp;") < table.index("label&lt;0&gt;&amp;")
    assert "0.133" in table


def test_report_with_sixty_labels(tmp_path):
    """Sixty labels still render, with a note that counts are left out of the cells."""
    page = write_report(_run_dir(tmp_path, 60)).read_text()
    assert "row-normalised" in page and "with 60 labels the counts are left out" in page
    assert len(IMG.findall(page)) == 2
    _assert_self_contained(page)


def test_failed_run_without_evaluation(tmp_path):
    """A failed run still gets a page with its error, curves and a note about the missing eval."""
    page = write_report(_run_dir(tmp_path, 2, with_eval=False, state="failed")).read_text()
    assert "No evaluation (eval.json)" in page and "state-failed" in page
    assert "RuntimeError: &lt;bad&gt; &amp; broken" in page
    assert len(IMG.findall(page)) == 1  # training curves only
    _assert_self_contained(page)


def test_empty_or_corrupt_run_dir_still_writes_a_page(tmp_path):
    """No status.json, a corrupt eval.json and a cut-off metrics line give notes, not errors."""
    (tmp_path / "eval.json").write_text("{not json")
    (tmp_path / "metrics.jsonl").write_text('{"split": "train", "step": 1, "loss": 0.5}\n{"cut')
    page = write_report(tmp_path).read_text()
    assert "eval.json could not be read" in page and "No status.json" in page
    assert len(IMG.findall(page)) == 1  # the one readable training record is plotted


def test_urls_in_user_text_do_not_appear_in_the_source(tmp_path):
    """A URL inside an example text is redacted by default; shown as written
    (report.redact_examples=false), the page source still holds no http(s) URL."""
    run = _run_dir(tmp_path, 2)
    ev = json.loads((run / "eval.json").read_text())
    ev["confused_pairs"][0]["examples"] = ["see https://example.com/x?a=1&b=2"]
    (run / "eval.json").write_text(json.dumps(ev))
    assert "<li>see [URL]</li>" in write_report(run).read_text()
    config = yaml.safe_load((run / "config.yaml").read_text())
    (run / "config.yaml").write_text(
        yaml.safe_dump({**config, "report": {"redact_examples": False}})
    )
    page = write_report(run).read_text()
    assert "see https&#58;//example.com/x?a=1&amp;b=2" in page
    _assert_self_contained(page)


def test_example_texts_are_redacted_unless_the_run_says(tmp_path):
    """The most confused pairs' examples show placeholders for personal data by default."""
    run = _run_dir(tmp_path, 2)
    ev = json.loads((run / "eval.json").read_text())
    ev["confused_pairs"][0]["examples"] = ["card 4111 1111 1111 1111 from jane@example.com"]
    (run / "eval.json").write_text(json.dumps(ev))
    page = write_report(run).read_text()
    assert "card [CARD] from [EMAIL]" in page and "4111" not in page


def test_extra_sections_are_appended_at_the_end(tmp_path):
    """Later stages add sections (title escaped, HTML as given) after everything else."""
    page = write_report(_run_dir(tmp_path, 2), [("Trade-off <1>", "<p>table</p>")]).read_text()
    assert page.endswith("<h2>Trade-off &lt;1&gt;</h2><p>table</p></body></html>\n")


@pytest.mark.parametrize("n", [2, 80])
def test_confusion_heatmap_is_a_png_data_uri_and_closes_figures(n):
    """The heat map renders from 2 to 80 labels (even with '$' in names) and leaks no figure."""
    labels = [f"${i} very long label name that needs cutting" for i in range(n)]
    uri = confusion_heatmap_png([[i + j for j in range(n)] for i in range(n)], labels)
    assert uri.startswith("data:image/png;base64,")
    assert _png(uri.split(",", 1)[1]).startswith(b"\x89PNG")
    assert plt.get_fignums() == []


def test_confusion_heatmap_rejects_a_mismatched_matrix():
    """A matrix that does not match the labels is an error, not a misleading picture."""
    with pytest.raises(ValueError, match="does not match 3 labels"):
        confusion_heatmap_png([[1, 0], [0, 1]], ["a", "b", "c"])


def test_training_curves_need_records():
    """No usable records gives None so the page can say so; records give a PNG."""
    assert training_curves_png([]) is None
    assert training_curves_png([{"split": "train", "step": 1, "loss": float("nan")}]) is None
    assert training_curves_png(_records()).startswith("data:image/png;base64,")


def test_report_package_does_not_import_torch():
    """Reports can be rebuilt where only the run directory exists: no torch import."""
    code = "import sys, tuneforge.report; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_tradeoff_json_adds_a_compression_section(tmp_path):
    """tradeoff.json from the compress stage shows as a table and a chart, recommended marked."""
    row = {
        "accuracy": 0.9,
        "macro_f1": 0.88,
        "agreement": 1.0,
        "size_mb": 90.0,
        "peak_rss_mb": 400.0,
        "p50_ms": 5.0,
        "p95_ms": 7.0,
        "throughput_batch32": 300.0,
        "within_tolerance": True,
    }
    variants = [{**row, "variant": "model"}, {**row, "variant": "onnx-int8", "p50_ms": 2.0}]
    data = {
        "variants": variants,
        "recommended": "onnx-int8",
        "max_accuracy_drop": 0.01,
        "measured_on": "test <split>",
    }
    (tmp_path / "tradeoff.json").write_text(json.dumps(data))
    page = write_report(tmp_path).read_text()
    assert "Compression trade-off" in page and "onnx-int8 (recommended)" in page
    assert "test &lt;split&gt;" in page and len(IMG.findall(page)) == 1


def test_trade_off_labels_do_not_overlap_when_variants_crowd():
    """Variants with nearly the same accuracy and latency get labels that do not cover each
    other (they were all drawn at one fixed offset above their point)."""
    from tuneforge.report.plots import new_figure, place_labels

    fig = new_figure(7, 4.2)
    ax = fig.subplots()
    xy = [(1.20, 93.33), (1.35, 93.33), (0.90, 93.33), (2.05, 96.67), (1.40, 96.67)]
    points = [(p, 12.0, f"variant-{i} (23 MB)") for i, p in enumerate(xy)]
    for p, _, _ in points:
        ax.scatter(*p, s=576)
    place_labels(fig, ax, points)
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in ax.texts if t.get_text()]
    assert len(boxes) == len(points)
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not a.overlaps(b)
