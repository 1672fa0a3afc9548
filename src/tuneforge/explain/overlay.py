"""PNG overlays of image heat maps: the original image in grey, the signed heat map over it
(red towards the explained class, blue away from it, on one symmetric scale), a colour bar and
a title naming the label, its probability and the method."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from .results import ImageExplanation

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def overlay_figure(image: np.ndarray, explanation: ImageExplanation):
    """A matplotlib figure (never registered with pyplot) of the overlay. Each heat-map cell
    is one pixel of the model's input, drawn as a block over the original image; its colour's
    opacity grows with the attribution's size, so the image shows through where it is small."""
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    from ..report.explanations import METHOD_NAMES
    from ..report.plots import cjk_capable, new_figure

    height, width = image.shape[:2]
    grey = image.mean(axis=2) if image.ndim == 3 else image
    heat = np.asarray(explanation.heatmap, dtype=np.float64)
    bound = float(np.abs(heat).max()) or 1.0
    norm, cmap = Normalize(-bound, bound), colormaps["RdBu_r"]
    colours = cmap(norm(heat))
    colours[..., 3] = 0.85 * np.abs(heat) / bound
    aspect = min(max(width / height, 0.5), 2.0)  # very long images are squeezed in the frame
    with cjk_capable():
        fig = new_figure(3.6 * aspect + 1.2, 4.0)
        ax = fig.add_subplot()
        extent = (0, width, height, 0)
        ax.imshow(grey, cmap="gray", vmin=0, vmax=255, extent=extent, interpolation="nearest")
        ax.imshow(colours, extent=extent, interpolation="nearest")
        ax.set_axis_off()
        ax.set_title(
            f"{explanation.label} {explanation.score:.2f} · {METHOD_NAMES[explanation.method]}",
            fontsize=9,
        )
        bar = fig.colorbar(ScalarMappable(norm, cmap), ax=ax, shrink=0.8)
        bar.set_label("away from the label  ·  towards it", fontsize=8)
        return fig


def save_overlay(image: np.ndarray, explanation: ImageExplanation, path: Path) -> Path:
    """Write the overlay of ``explanation`` over ``image`` (uint8 H×W or H×W×C) as PNG."""
    fig = overlay_figure(image, explanation)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fig.savefig(path, format="png", dpi=100)
    finally:
        fig.clear()
    return path


def overlay_name(source: str, method: str, taken: set[str]) -> str:
    """A file name for an input's overlay: its stem and the method, made unique in ``taken``
    (two inputs named ``a.png`` in different folders get ``a.ig.png`` and ``a-2.ig.png``)."""
    stem = _UNSAFE.sub("_", Path(source).stem).strip("._") or "image"
    name, n = f"{stem}.{method}.png", 1
    while name in taken:
        n += 1
        name = f"{stem}-{n}.{method}.png"
    taken.add(name)
    return name
