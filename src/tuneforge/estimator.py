"""scikit-learn style estimators over the same stage functions the CLI uses."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from .config import ModelConfig, TrainConfig


class TextClassifier(ClassifierMixin, BaseEstimator):
    """Fine-tune a local transformer on texts: ``TextClassifier().fit(X, y).predict(X)``.

    Parameters mirror ``tuneforge train``; ``__init__`` only stores them (scikit-learn's
    contract), so ``clone``, ``get_params``/``set_params`` and grid searches work.
    """

    def __init__(
        self,
        model: str = "default",
        epochs: int | None = None,
        batch_size: int = 32,
        lr: float = 2e-4,
        max_length: int = 128,
        val_fraction: float = 0.1,
        early_stopping_patience: int = 4,
        class_weights: str = "none",
        precision: str = "auto",
        hidden_dropout: float = 0.0,
        seed: int = 42,
        progress: bool = False,
    ) -> None:
        self.model = model
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.max_length = max_length
        self.val_fraction = val_fraction
        self.early_stopping_patience = early_stopping_patience
        self.class_weights = class_weights
        self.precision = precision
        self.hidden_dropout = hidden_dropout
        self.seed = seed
        self.progress = progress

    def fit(self, X: Sequence[str], y: Sequence) -> TextClassifier:
        from .data import examples_from_lists, stratified_split
        from .models import load_model
        from .recipes.finetune import set_seed
        from .train import fit
        from .types import DatasetSplits, LabelMap

        examples = examples_from_lists(list(X), [str(v) for v in y])
        labels = LabelMap.from_labels(e.label for e in examples)
        train, val, _ = stratified_split(examples, self.val_fraction, 0.0, self.seed)
        data = DatasetSplits(train, val, [], labels, fingerprint="in-memory")
        set_seed(self.seed)
        cm = load_model(
            ModelConfig(
                name=self.model, max_length=self.max_length, hidden_dropout=self.hidden_dropout
            ),
            labels,
        )
        train_cfg = TrainConfig(
            epochs=self.epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            early_stopping_patience=self.early_stopping_patience,
            class_weights=self.class_weights,
            precision=self.precision,
            seed=self.seed,
        )
        self.train_result_ = fit(cm, data, train_cfg, progress=self.progress)
        self._set_fitted(cm)
        return self

    def _set_fitted(self, cm) -> None:
        from .predict import TorchPredictor

        self.model_ = cm
        self.predictor_ = TorchPredictor(cm)
        self.classes_ = np.array(cm.labels.names, dtype=object)

    def predict_proba(self, X: Sequence[str]) -> np.ndarray:
        return self.predictor_.predict_proba(list(X))

    def predict(self, X: Sequence[str]) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def save(self, directory: str | Path) -> Path:
        """Write a plain Hugging Face directory (read by ``TextClassifier.load``, transformers)."""
        from .models import save_model

        return save_model(self.model_, Path(directory))

    @classmethod
    def load(cls, directory: str | Path) -> TextClassifier:
        from .models import load_trained

        cm = load_trained(directory)
        est = cls(model=str(directory), max_length=cm.max_length)
        est._set_fitted(cm)
        return est
