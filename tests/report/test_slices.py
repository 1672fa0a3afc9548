"""The report's slice section: a chart and a table per slice column, escaped, torch-free."""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys

import numpy as np

from tuneforge.evaluate.slices import slice_report
from tuneforge.report import write_report
from tuneforge.report.slices import slice_accuracy_png, slices_section

EVIL = "<script>alert(1)</script>"


def _slices(values: list[str]) -> dict:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, len(values))
    pred = np.where(rng.random(len(values)) < 0.8, y, (y + 1) % 3)
    probs = np.full((len(values), 3), 0.1)
    probs[np.arange(len(values)), pred] = 0.8
    return slice_report(y, probs, {"region": values}).to_dict()


def _png(uri: str):
    from PIL import Image

    return Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))


def test_the_section_draws_each_column_and_tables_its_slices():
    """One chart (PNG) and one table per column; the worst slice and the slices too small to
    judge are named; user values are escaped."""
    values = ["eu"] * 60 + ["us"] * 40 + [EVIL] * 4
    html = slices_section({"slices": _slices(values)})
    assert html.count("<img ") == 1 and "accuracy by region" in html
    assert "too small to judge" in html and "Worst slice: <b>" in html
    assert EVIL not in html and "&lt;script&gt;" in html
    assert slices_section({}) == "" and slices_section({"slices": {"columns": {}}}) == ""


def test_the_chart_grows_with_the_number_of_slices():
    """Fifty slices get a taller chart than three, so each bar keeps its label readable."""
    few = _slices(["a"] * 30 + ["b"] * 30 + ["c"] * 30)
    many = _slices([f"v{i % 50}" for i in range(1000)])
    heights = []
    for data in (few, many):
        uri = slice_accuracy_png("region", data["columns"]["region"], 0.8, 10)
        heights.append(_png(uri).size[1])
    assert heights[1] > 3 * heights[0]


def test_the_run_report_shows_slices_from_eval_json(tmp_path):
    """write_report adds the slice section when eval.json has slices."""
    ev = {"split": "test", "accuracy": 0.8, "macro_f1": 0.8, "n": 100}
    ev["slices"] = _slices(["eu"] * 60 + ["us"] * 40)
    (tmp_path / "eval.json").write_text(json.dumps(ev), encoding="utf-8")
    html = write_report(tmp_path).read_text(encoding="utf-8")
    assert "<h2>Slices</h2>" in html and "alt='accuracy by region'" in html


def test_the_slice_section_needs_no_torch():
    """Reports are rebuilt where only the run directory exists: no torch import."""
    code = (
        "import sys; from tuneforge.report import slices, folds; "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
