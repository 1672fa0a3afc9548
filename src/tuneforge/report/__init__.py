"""HTML reports with plots, self-contained (no scripts, no external resources)."""

from .html import write_report
from .plots import confusion_heatmap_png, training_curves_png

__all__ = ["confusion_heatmap_png", "training_curves_png", "write_report"]
