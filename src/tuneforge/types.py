"""Small typed objects the stages hand to each other. No torch import here."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable


@dataclass(frozen=True)
class Example:
    """One labelled text. ``row`` is the 1-based data row in the source file (for messages).

    ``meta`` holds other columns of that row read beside the text (the slice columns of
    ``--slice``, as text). It takes no part in equality, hashing or repr, so examples compare
    as they always did whatever was read beside them.
    """

    text: str
    label: str
    row: int = 0
    meta: dict[str, str] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True, eq=False)
class ImageExample:
    """One labelled image: ``pixels`` is a uint8 numpy array H×W×C (C = 1 or 3), or the path of
    an image file that is decoded only when a batch needs it (large folders need not fit in RAM).

    ``row`` is the 1-based data row (tables) or the position (folders, IDX) and ``source`` the
    file it came from, for messages. ``meta`` holds other columns of a path table's row (the
    slice columns of ``--slice``), as :class:`Example`'s does. Typed loosely so this module
    stays free of numpy/torch imports; ``eq=False`` because arrays have no single truth value.
    """

    pixels: Any
    label: str
    row: int = 0
    source: str = ""
    meta: dict[str, str] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class LabelMap:
    """Ordered label names; the index of a name is the class id the model predicts."""

    names: tuple[str, ...]

    @classmethod
    def from_labels(cls, labels: Iterable[str]) -> LabelMap:
        return cls(tuple(sorted(set(labels))))

    def __len__(self) -> int:
        return len(self.names)

    def id(self, name: str) -> int:
        return self.names.index(name)

    def ids(self, names: Sequence[str]) -> list[int]:
        index = {n: i for i, n in enumerate(self.names)}
        return [index[n] for n in names]

    @property
    def id2label(self) -> dict[int, str]:
        return dict(enumerate(self.names))

    @property
    def label2id(self) -> dict[str, int]:
        return {n: i for i, n in enumerate(self.names)}


E = TypeVar("E", Example, ImageExample)


@dataclass(frozen=True)
class DatasetSplits(Generic[E]):
    """Train/validation/test examples with their label map and a content fingerprint.

    Generic over the example type so text and image data travel through the same stages.
    """

    train: list[E]
    val: list[E]
    test: list[E]
    labels: LabelMap
    fingerprint: str
    source: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Prediction:
    """The predicted label for one input, its probability and the top-k alternatives.

    With abstention (``--abstain``), ``ood_score`` is the input's out-of-scope score and
    ``abstained`` whether it was below the threshold: ``label`` is then the unknown label,
    while ``score`` and ``top_k`` still say what the nearest intents were.
    """

    label: str
    score: float
    top_k: list[tuple[str, float]]
    ood_score: float | None = None
    abstained: bool = False

    def as_dict(self) -> dict:
        out = {
            "label": self.label,
            "score": round(self.score, 6),
            "top_k": [{"label": n, "score": round(s, 6)} for n, s in self.top_k],
        }
        if self.ood_score is not None:
            out["ood_score"] = round(self.ood_score, 6)
            out["abstained"] = self.abstained
        return out


@runtime_checkable
class Predictor(Protocol):
    """Anything that turns inputs into class probabilities over ``labels``: texts for a text
    model, images (arrays, paths or file bytes) for an image model. ``task`` names which (see
    :mod:`tuneforge.tasks`). Evaluation, parity, compression and serving all take one."""

    task: str

    @property
    def labels(self) -> tuple[str, ...]: ...

    def predict_proba(self, inputs: Sequence[Any]) -> Any: ...

    def predict(self, inputs: Sequence[Any], top_k: int = 1) -> list[Prediction]: ...
