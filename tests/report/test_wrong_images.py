"""The image report section: a self-contained grid of the most confidently wrong images."""

from __future__ import annotations

import base64
import io
import json
import re

import numpy as np
from PIL import Image

from tuneforge.report import write_report

EVIL = "<script>x</script>"
FIGURE_IMG = re.compile(r'<figure[^>]*><img [^>]*src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


def _run(tmp_path, wrong: list[dict] | None, with_split: bool = True):
    run = tmp_path / "run"
    (run / "data").mkdir(parents=True)
    ev = {"split": "test", "n": 3, "accuracy": 0.3, "macro_f1": 0.3, "labels": ["a", EVIL]}
    if wrong is not None:
        ev["wrong_images"] = wrong
    (run / "eval.json").write_text(json.dumps(ev))
    (run / "status.json").write_text(json.dumps({"run_id": "r", "state": "succeeded"}))
    if with_split:
        pixels = np.stack([np.full((6, 4, 1), 50 * i, np.uint8) for i in range(3)])
        np.savez(run / "data" / "test.npz", pixels=pixels, labels=np.array(["a"] * 3))
    return run


def test_grid_shows_each_wrong_image_with_escaped_labels(tmp_path):
    """Every listed mistake becomes an inline PNG of its saved pixels, with true/predicted
    label and confidence; label text is escaped; no external resource is referenced."""
    wrong = [
        {"index": 2, "true": "a", "pred": EVIL, "confidence": 0.99, "source": "x/2.png"},
        {"index": 0, "true": "a", "pred": EVIL, "confidence": 0.7, "source": "row 1"},
    ]
    html = write_report(_run(tmp_path, wrong)).read_text()
    section = html[html.index("Most confidently wrong images") :]
    images = FIGURE_IMG.findall(section)
    assert len(images) == 2
    first = np.asarray(Image.open(io.BytesIO(base64.b64decode(images[0]))))
    assert first.shape == (6, 4) and int(first[0, 0]) == 100  # the pixels of index 2
    assert "0.990" in section and "x/2.png" in section
    assert EVIL not in html and "&lt;script&gt;" in section
    assert "http://" not in html and "https://" not in html


def test_missing_split_or_no_mistakes_leave_a_note(tmp_path):
    """Without data/test.npz the report says so; with no mistakes it says that instead."""
    wrong = [{"index": 0, "true": "a", "pred": "b", "confidence": 0.9}]
    html = write_report(_run(tmp_path, wrong, with_split=False)).read_text()
    assert "Not shown: data/test.npz" in html
    html = write_report(_run(tmp_path / "b", [])).read_text()
    assert "No test image was misclassified" in html


def test_text_runs_have_no_image_grid(tmp_path):
    """An eval.json without wrong_images (every text run) adds nothing to the page."""
    html = write_report(_run(tmp_path, None)).read_text()
    assert "Most confidently wrong" not in html and "<figure" not in html
