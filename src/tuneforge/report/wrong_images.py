"""The image run's report section: the test images the model got wrong most confidently.

A grid of thumbnails (PNG data URIs, so the page stays one self-contained file) with the true
and predicted label and the confidence; the pixels come from the run's saved split
(``data/<split>.npz``, at the model's input size), the choice from ``eval.json``'s
``wrong_images``. These are the images to look at first: mislabelled data, or a class the model
confuses with conviction.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from ..store import RunDir
from ..tasks.image import ImageTask
from .markup import data_uri, escape

THUMB_PX = 96  # displayed size; small inputs are scaled up without smoothing


def png_data_uri(pixels: np.ndarray) -> str:
    """A uint8 H×W×C (C = 1 or 3) array as a ``data:image/png;base64,...`` URI."""
    from PIL import Image

    grey = pixels.ndim == 2 or pixels.shape[2] == 1
    image = Image.fromarray(
        pixels.reshape(pixels.shape[:2]) if grey else pixels, "L" if grey else "RGB"
    )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return data_uri(buffer.getvalue())


def _load_pixels(path: Path) -> np.ndarray:
    with np.load(path, allow_pickle=False) as data:
        return data["pixels"]


def wrong_images_section(run_dir: Path, ev: dict) -> str:
    """The grid for ``ev`` (eval.json), or "" when the run is not an image run; a missing or
    unreadable split gives a note instead of failing the report."""
    wrong = [w for w in ev.get("wrong_images") or [] if isinstance(w, dict)]
    if "wrong_images" not in ev:
        return ""
    head = "<h2>Most confidently wrong images</h2>"
    if not wrong:
        return head + "<p class='note'>No test image was misclassified.</p>"
    split = str(ev.get("split", "test"))
    path = RunDir(run_dir).split_path(split, ImageTask.split_suffix)
    try:
        pixels = _load_pixels(path)
    except (OSError, ValueError, KeyError) as exc:
        shown = f"{path.parent.name}/{path.name}"
        return head + f"<p class='note'>Not shown: {escape(shown)} ({escape(exc)}).</p>"
    cells = []
    for w in wrong:
        index = w.get("index")
        if not isinstance(index, int) or not 0 <= index < len(pixels):
            continue
        confidence = w.get("confidence")
        conf = f"{confidence:.3f}" if isinstance(confidence, (int, float)) else "?"
        cells.append(
            "<figure style='margin:0;width:{px}px;font-size:.75rem'>"
            "<img alt='{alt}' src=\"{uri}\" style='width:{px}px;height:{px}px;"
            "image-rendering:pixelated;object-fit:contain;border:1px solid #d0d7de'>"
            "<figcaption>true <b>{true}</b><br>pred <b class='bad'>{pred}</b> {conf}"
            "<br><span class='note'>{source}</span></figcaption></figure>".format(
                px=THUMB_PX,
                alt=escape(f"{w.get('true')} predicted as {w.get('pred')}"),
                uri=png_data_uri(pixels[index]),
                true=escape(w.get("true", "?")),
                pred=escape(w.get("pred", "?")),
                conf=conf,
                source=escape(w.get("source", "")),
            )
        )
    intro = (
        f"<p class='note'>The {len(cells)} {escape(split)} images the model got wrong with the "
        "highest confidence, as the model sees them (resized to its input). Check these first: "
        "wrong labels in the data, or a class the model confuses with conviction.</p>"
    )
    grid = "<div style='display:flex;flex-wrap:wrap;gap:.6rem'>" + "".join(cells) + "</div>"
    return head + intro + grid
