"""tuneforge: from labelled texts or images to a trained, evaluated, saved classifier."""

from __future__ import annotations

from ._version import __version__

__all__ = ["ImageClassifier", "TextClassifier", "__version__"]


def __getattr__(name: str):
    # Lazy so that `tuneforge --help` does not pay for importing torch and scikit-learn.
    if name == "TextClassifier":
        from .estimator import TextClassifier

        return TextClassifier
    if name == "ImageClassifier":
        from .estimator import ImageClassifier

        return ImageClassifier
    raise AttributeError(name)
