"""HTML run reports with plots, in one self-contained file.

No scripts, no external resources, images as data URIs: a report can be attached to a ticket,
archived with the run or opened offline and still look the same. No torch import here, so
reports can be (re)built on a machine that only has the run directory.
"""

from .html import write_report
from .plots import confusion_heatmap_png, training_curves_png
from .tune import write_tune_report

__all__ = [
    "confusion_heatmap_png",
    "training_curves_png",
    "write_report",
    "write_tune_report",
]
