"""The explanation stage: why a model gives an input its label.

Per task (the task objects choose, see :meth:`tuneforge.tasks.base.Task.explain`): word
attributions for texts and heat maps for images, each by integrated gradients (torch models)
or occlusion (any runtime, through ``predict_proba`` only). Results are the typed objects of
:mod:`.results`; their ``to_dict()`` is what JSON files, the report and the server carry.
Heavy libraries (torch, captum, matplotlib) are imported inside the functions that use them.
"""

from .methods import check_method, check_target, default_method
from .results import (
    METHODS,
    ImageExplanation,
    LabelSummary,
    TextExplanation,
    WordAttribution,
    WordSummary,
)
from .summary import summarize

__all__ = [
    "METHODS",
    "ImageExplanation",
    "LabelSummary",
    "TextExplanation",
    "WordAttribution",
    "WordSummary",
    "check_method",
    "check_target",
    "default_method",
    "summarize",
]
