"""scikit-learn style estimators over the same stage functions the CLI uses: TextClassifier
fine-tunes a local transformer on texts, ImageClassifier trains the compact CNN on images."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from .config import (
    TRAIN_DEFAULTS,
    DataConfig,
    ImageConfig,
    MethodConfig,
    ModelConfig,
    RunConfig,
    TrainConfig,
)
from .errors import DataError


class TextClassifier(ClassifierMixin, BaseEstimator):
    """Fine-tune a local transformer on texts: ``TextClassifier().fit(X, y).predict(X)``.

    Parameters mirror ``tuneforge train`` and default to the same config objects, so ``None``
    means what it means there (the method's learning rate, the task's batch size, automatic
    epochs); ``method`` is any fine-tuning method (``lora``, ``ia3``, ...). ``y`` keeps its type
    in ``classes_`` and ``predict``, so ``score`` and ``cross_val_score`` work with integer
    labels. ``__init__`` only stores the parameters (scikit-learn's contract), so ``clone``,
    ``get_params``/``set_params`` and grid searches work.
    """

    def __init__(
        self,
        model: str = ModelConfig.name,
        method: str = MethodConfig.name,
        epochs: int | None = TrainConfig.epochs,
        batch_size: int | None = TrainConfig.batch_size,
        lr: float | None = TrainConfig.lr,
        max_length: int = ModelConfig.max_length,
        val_fraction: float = DataConfig.val_fraction,
        early_stopping_patience: int | None = TrainConfig.early_stopping_patience,
        class_weights: str = TrainConfig.class_weights,
        precision: str = TrainConfig.precision,
        hidden_dropout: float = ModelConfig.hidden_dropout,
        freeze_layers: int | None = TrainConfig.freeze_layers,
        seed: int = TrainConfig.seed,
        progress: bool = False,
    ) -> None:
        self.model = model
        self.method = method
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.max_length = max_length
        self.val_fraction = val_fraction
        self.early_stopping_patience = early_stopping_patience
        self.class_weights = class_weights
        self.precision = precision
        self.hidden_dropout = hidden_dropout
        self.freeze_layers = freeze_layers
        self.seed = seed
        self.progress = progress

    def __sklearn_tags__(self):
        """Inputs are texts (a sequence of strings, not a 2-D array), so scikit-learn's estimator
        checks run the text-appropriate subset."""
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.target_tags.required = True
        return tags

    def run_config(self) -> RunConfig:
        """The run config these parameters stand for, training defaults resolved."""
        from .train.defaults import resolve_train

        train = TrainConfig(
            epochs=self.epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            early_stopping_patience=self.early_stopping_patience,
            class_weights=self.class_weights,
            precision=self.precision,
            freeze_layers=self.freeze_layers,
            seed=self.seed,
        )
        return RunConfig(
            data=DataConfig(val_fraction=self.val_fraction, seed=self.seed, task="text"),
            model=ModelConfig(
                name=self.model, max_length=self.max_length, hidden_dropout=self.hidden_dropout
            ),
            train=resolve_train(train, "text", self.method, pretrained=True),
            method=MethodConfig(name=self.method),
        )

    def fit(self, X: Sequence[str], y: Sequence) -> TextClassifier:
        from .data import examples_from_lists, stratified_split
        from .methods import apply_method
        from .models import load_model
        from .train import fit, planned_updates
        from .train.seed import set_seed
        from .types import DatasetSplits, LabelMap

        cfg = self.run_config()
        texts, y = _texts(X, "X"), list(y)
        if len(texts) != len(y):
            raise DataError(f"X has {len(texts)} texts but y has {len(y)} labels.")
        examples = examples_from_lists(texts, [str(v) for v in y])
        labels = LabelMap.from_labels(e.label for e in examples)
        train, val, _ = stratified_split(examples, cfg.data.val_fraction, 0.0, self.seed)
        data = DatasetSplits(train, val, [], labels, fingerprint="in-memory")
        set_seed(self.seed)
        cm = load_model(cfg.model, labels)
        cm = apply_method(cm, cfg.method, planned_updates(len(train), cfg.train))
        self.train_result_ = fit(cm, data, cfg.train, progress=self.progress)
        self._set_fitted(cm, _classes_of(y, labels.names))
        return self

    def _set_fitted(self, cm, classes: list, temperature: float | None = None) -> None:
        from .predict import TorchPredictor

        self.model_ = cm
        self.predictor_ = TorchPredictor(cm, temperature=temperature)
        self.classes_ = np.asarray(classes, dtype=object if _all_text(classes) else None)

    def predict_proba(self, X: Sequence[str]) -> np.ndarray:
        check_is_fitted(self, "predictor_")
        return self.predictor_.predict_proba(_texts(X, "X"))

    def predict(self, X: Sequence[str]) -> np.ndarray:
        winners = self.predict_proba(X).argmax(axis=1)
        return self.classes_[winners]

    def save(self, directory: str | Path) -> Path:
        """Write a plain Hugging Face directory (read by ``TextClassifier.load``, transformers);
        an adapter that cannot merge (prefix tuning) is saved as the peft adapter itself."""
        import tempfile

        from .methods import save_trained

        check_is_fitted(self, "predictor_")
        if self.model_ is None:
            raise DataError(
                f"This classifier was loaded from an ONNX export ({self.model}): it predicts but "
                "holds no trainable weights to save.",
                hint="Copy the ONNX directory itself, or save the torch model it came from.",
            )
        with tempfile.TemporaryDirectory() as adapter:
            save_trained(self.model_, Path(directory), Path(adapter))
        return Path(directory)

    @classmethod
    def load(cls, directory: str | Path) -> TextClassifier:
        """A fitted classifier from a saved directory — a Hugging Face model directory, or an
        exported ONNX one (``tuneforge export``; it predicts through onnxruntime); ``classes_``
        are the label names (text)."""
        if (Path(directory) / "model.onnx").is_file():
            from .predict import OnnxPredictor

            predictor = OnnxPredictor(directory)
            est = cls(model=str(directory), max_length=predictor.max_length)
            est.model_, est.predictor_ = None, predictor
            est.classes_ = np.asarray(list(predictor.labels), dtype=object)
            return est
        from .models import load_trained
        from .predict import artifact_temperature

        cm = load_trained(directory)
        est = cls(model=str(directory), max_length=cm.max_length)
        # A run's saved model applies its fitted temperature here as everywhere else.
        est._set_fitted(cm, list(cm.labels.names), artifact_temperature(directory))
        return est


def _texts(X, what: str) -> list[str]:
    """``X`` as a list of texts; anything else is a DataError (a ValueError) naming the item."""
    if isinstance(X, str):
        raise DataError(f"{what} is one string; pass a list of texts, e.g. [{X[:40]!r}].")
    texts = list(X)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise DataError(
                f"{what}[{i}] is {type(text).__name__}, not a text: TextClassifier takes a "
                "sequence of strings."
            )
    return [str(t) for t in texts]


def _classes_of(y: Sequence, names: Sequence[str]) -> list:
    """The label values of ``y`` in the order of the model's label names (their strings)."""
    values = {str(v): v for v in y}
    return [values[name] for name in names]


def _all_text(values: Sequence) -> bool:
    return all(isinstance(v, str) for v in values)


_IMAGE = TRAIN_DEFAULTS["image"]
_DEFAULT_WIDTHS = tuple(int(w) for w in ImageConfig.widths.split(","))


class ImageClassifier(ClassifierMixin, BaseEstimator):
    """Train tuneforge's compact CNN on images: ``ImageClassifier().fit(X, y).predict(X)``.

    ``X`` holds uint8 arrays (H×W or H×W×C, C = 1 or 3), image file paths or encoded image
    bytes; sizes may differ (images are resized to the most common training size, or
    ``size="HxW"``). ``y`` keeps its type in ``classes_`` and ``predict``, so ``score`` works
    with integer labels. The defaults are an image run's (``tuneforge train`` on images);
    parameters mirror its ``train.*`` and ``image.*`` keys. ``__init__`` only stores them, so
    ``clone``, ``get_params``/``set_params`` and grid searches work.
    """

    def __init__(
        self,
        epochs: int | None = None,
        batch_size: int = _IMAGE["batch_size"],
        lr: float = _IMAGE["lr"],
        weight_decay: float = _IMAGE["weight_decay"],
        warmup_ratio: float = _IMAGE["warmup_ratio"],
        val_fraction: float = DataConfig.val_fraction,
        early_stopping_patience: int = _IMAGE["early_stopping_patience"],
        size: str | None = None,
        augment: bool = ImageConfig.augment,
        widths: tuple[int, ...] = _DEFAULT_WIDTHS,
        hidden: int = ImageConfig.hidden,
        dropout: float = ImageConfig.dropout,
        class_weights: str = "none",
        precision: str = "fp32",
        seed: int = TrainConfig.seed,
        progress: bool = False,
    ) -> None:
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.warmup_ratio = warmup_ratio
        self.val_fraction = val_fraction
        self.early_stopping_patience = early_stopping_patience
        self.size = size
        self.augment = augment
        self.widths = widths
        self.hidden = hidden
        self.dropout = dropout
        self.class_weights = class_weights
        self.precision = precision
        self.seed = seed
        self.progress = progress

    def _image_config(self) -> ImageConfig:
        return ImageConfig(
            size=self.size,
            augment=self.augment,
            widths=",".join(str(w) for w in self.widths),
            hidden=self.hidden,
            dropout=self.dropout,
        )

    def fit(self, X: Sequence, y: Sequence) -> ImageClassifier:
        from .data import image_examples_from_lists, stratified_split
        from .models.cnn import build_image_model, image_featurizer
        from .train import fit
        from .train.seed import set_seed
        from .types import DatasetSplits, LabelMap

        examples = image_examples_from_lists(list(X), [str(v) for v in y])
        labels = LabelMap.from_labels(e.label for e in examples)
        train, val, _ = stratified_split(examples, self.val_fraction, 0.0, self.seed)
        image_cfg = self._image_config()
        featurizer = image_featurizer(train, image_cfg)
        set_seed(self.seed)
        cm = build_image_model(featurizer, labels, image_cfg)
        train_cfg = TrainConfig(
            epochs=self.epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            weight_decay=self.weight_decay,
            warmup_ratio=self.warmup_ratio,
            early_stopping_patience=self.early_stopping_patience,
            class_weights=self.class_weights,
            precision=self.precision,
            seed=self.seed,
        )
        data = DatasetSplits(train, val, [], labels, fingerprint="in-memory")
        self.train_result_ = fit(cm, data, train_cfg, progress=self.progress)
        self._set_fitted(cm, _classes_of(y, labels.names))
        return self

    def _set_fitted(self, cm, classes: list) -> None:
        from .predict import ImagePredictor

        self.model_ = cm
        self.predictor_ = ImagePredictor.from_model(cm)
        self.classes_ = np.asarray(classes)

    def predict_proba(self, X: Sequence) -> np.ndarray:
        check_is_fitted(self, "predictor_")
        return self.predictor_.predict_proba(list(X))

    def predict(self, X: Sequence) -> np.ndarray:
        winners = self.predict_proba(X).argmax(axis=1)
        return self.classes_[winners]

    def save(self, directory: str | Path) -> Path:
        """Write safetensors weights and JSON (network, labels, input shape, normalisation):
        the same directory an image run keeps as ``artifacts/model``."""
        from .models.cnn import save_cnn

        return save_cnn(self.model_, Path(directory))

    @classmethod
    def load(cls, directory: str | Path) -> ImageClassifier:
        """A fitted classifier from a saved directory; ``classes_`` are the label names (text)."""
        from .models.cnn import load_cnn

        cm = load_cnn(directory)
        net, f = cm.model.config, cm.featurizer
        est = cls(
            size=f"{f.height}x{f.width}",
            widths=tuple(net.widths),
            hidden=net.hidden,
            dropout=net.dropout,
        )
        est._set_fitted(cm, list(cm.labels.names))
        from .predict import artifact_temperature

        found = artifact_temperature(directory)  # a run's saved model: its fitted temperature
        if found is not None:
            est.predictor_.temperature, est.predictor_.calibrated = found, True
        return est
