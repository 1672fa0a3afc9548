"""The Predictor protocol and its torch implementation.

Evaluate, predict (and later compress and serve) all go through a Predictor, so every path runs
the same tokenisation, batching and post-processing.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from .types import Prediction


@runtime_checkable
class Predictor(Protocol):
    """Anything that turns texts into class probabilities over ``labels``."""

    @property
    def labels(self) -> tuple[str, ...]: ...

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray: ...

    def predict(self, texts: Sequence[str], top_k: int = 1) -> list[Prediction]: ...


def top_k_predictions(probs: np.ndarray, labels: Sequence[str], top_k: int) -> list[Prediction]:
    """Shared post-processing: label, score and the ``top_k`` alternatives per row."""
    k = max(1, min(top_k, len(labels)))
    order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    out = []
    for row, idx in zip(probs, order):
        ranked = [(labels[i], float(row[i])) for i in idx]
        out.append(Prediction(label=ranked[0][0], score=ranked[0][1], top_k=ranked))
    return out


class TorchPredictor:
    """Runs a Hugging Face sequence classifier with dynamic padding over length-sorted batches.

    fp32 by default so the numbers match a plain ``transformers`` reload of the saved model.
    """

    def __init__(self, cm, batch_size: int = 64) -> None:
        import torch

        self._torch = torch
        self.cm = cm
        self.batch_size = batch_size
        self.cm.model.eval()

    @classmethod
    def from_dir(cls, model_dir: str | Path, batch_size: int = 64) -> TorchPredictor:
        from .models import load_trained

        return cls(load_trained(model_dir), batch_size=batch_size)

    @property
    def labels(self) -> tuple[str, ...]:
        return self.cm.labels.names

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        from .train.batching import collate, encode, sorted_batches

        torch = self._torch
        model = self.cm.model
        device = next(model.parameters()).device
        ids = encode(self.cm.tokenizer, list(texts), self.cm.max_length)
        probs = np.zeros((len(ids), len(self.labels)), dtype=np.float32)
        pad_id = self.cm.tokenizer.pad_token_id or 0
        with torch.inference_mode():
            for batch in sorted_batches([len(x) for x in ids], self.batch_size):
                inputs = collate([ids[i] for i in batch], pad_id)
                logits = model(**{k: v.to(device) for k, v in inputs.items()}).logits
                probs[batch] = torch.softmax(logits.float(), dim=-1).cpu().numpy()
        return probs

    def predict(self, texts: Sequence[str], top_k: int = 1) -> list[Prediction]:
        return top_k_predictions(self.predict_proba(texts), self.labels, top_k)
