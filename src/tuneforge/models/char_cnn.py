"""A compact character-level text CNN trained from scratch: the text counterpart of the image
CNN (:mod:`tuneforge.models.cnn`), for scripts the packaged encoder does not cover.

Characters of the normalised text (:func:`tuneforge.models.tfidf.normalize`; the first
``max_chars``) become ids of a vocabulary read from the training split (characters seen at
least twice; others are "unknown"); an embedding, one convolution per width (2, 3 and 4
characters: the n-grams a linear model would count, but learnt), ReLU, max over the text,
dropout and a dense layer give the logits. AdamW, the best epoch on validation accuracy kept,
early stop after two epochs without gain, and a time budget (120 s, checked after every batch),
so the automatic choice of ``train`` stays within five minutes on two cores.

Measured on zh_waimai (80/20 split, seed 42, one torch thread): 88.5% test accuracy where
tfidf-linear reached 89.5% on the same split, 8 epochs in 135 s; dropout 0.3 with lr 2e-3 peaked
after one epoch (87.8%); averaging the calibrated probabilities of both models gave 89.2%, no
gain, so there is no ensemble.

Saved as safetensors weights plus JSON (settings, vocabulary, labels), never a pickle; the
ONNX export takes ``input_ids`` (N × characters, int64) and the predictors map characters to
ids in Python, the same way for torch and onnxruntime.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..errors import ModelError
from ..types import LabelMap
from .scratch import require_files, write_family_files
from .tfidf import normalize

FAMILY = "char-cnn"
CONFIG_FILE = "char_cnn.json"
WEIGHTS_FILE = "model.safetensors"
META_FILE = "tuneforge.json"
PAD, UNK = 0, 1


@dataclass(frozen=True)
class CharCNNSettings:
    """The network's size and its training; stored in char_cnn.json."""

    embedding: int = 64
    filters: int = 128
    widths: tuple[int, ...] = (2, 3, 4)
    dropout: float = 0.5
    max_chars: int = 160
    min_count: int = 2
    max_vocab: int = 8000
    epochs: int = 10
    patience: int = 2
    batch_size: int = 64
    lr: float = 1e-3
    max_seconds: float = 120.0  # training stops when it has run this long (mid-epoch too)

    @classmethod
    def from_dict(cls, data: dict) -> CharCNNSettings:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ModelError(f"Unknown char-cnn setting(s): {', '.join(unknown)}.")
        return cls(**{**data, "widths": tuple(data.get("widths", cls.widths))})


def build_vocabulary(texts: list[str], settings: CharCNNSettings) -> list[str]:
    """Characters seen ``min_count`` times, most frequent first (ids from 2 on)."""
    counts = Counter(ch for t in texts for ch in normalize(t)[: settings.max_chars])
    kept = [ch for ch, n in counts.most_common(settings.max_vocab) if n >= settings.min_count]
    return kept


def encode(texts: list[str], index: dict[str, int], max_chars: int) -> np.ndarray:
    """N × width int64 ids (width: the longest text of the batch, at least the widest kernel)."""
    rows = [[index.get(ch, UNK) for ch in normalize(t)[:max_chars]] for t in texts]
    width = max([4, *(len(r) for r in rows)])
    out = np.zeros((len(rows), width), dtype=np.int64)
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
    return out


def _network(settings: CharCNNSettings, vocab_size: int, num_labels: int) -> Any:
    import torch
    from torch import nn

    class CharCNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(vocab_size, settings.embedding, padding_idx=PAD)
            self.convs = nn.ModuleList(
                nn.Conv1d(settings.embedding, settings.filters, w) for w in settings.widths
            )
            self.dropout = nn.Dropout(settings.dropout)
            self.out = nn.Linear(settings.filters * len(settings.widths), num_labels)

        def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
            x = self.embed(input_ids).transpose(1, 2)
            pooled = [torch.relu(conv(x)).amax(dim=2) for conv in self.convs]
            return self.out(self.dropout(torch.cat(pooled, dim=1)))

    return CharCNN()


@dataclass
class CharCNNModel:
    """The network, its vocabulary and labels (``logits`` of texts, in eval mode)."""

    settings: CharCNNSettings
    vocabulary: list[str]
    labels: LabelMap
    network: Any = None
    chosen: dict = field(default_factory=dict)
    source_dir: Path | None = None
    method: str = "full"
    task: ClassVar[str] = "text"
    family: ClassVar[str] = FAMILY

    @property
    def index(self) -> dict[str, int]:
        return {ch: i + 2 for i, ch in enumerate(self.vocabulary)}

    def logits(self, texts: list[str], batch_size: int = 128) -> np.ndarray:
        import torch

        self.network.eval()
        index = self.index
        order = np.argsort([len(t) for t in texts], kind="stable")
        rows = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            batch = order[start : start + batch_size]
            ids = encode([texts[i] for i in batch], index, self.settings.max_chars)
            with torch.inference_mode():
                rows[batch] = self.network(torch.from_numpy(ids)).float().numpy()
        return rows

    def unknown_rate(self, texts: list[str]) -> float:
        """Share of characters outside the vocabulary."""
        index = self.index
        chars = [ch for t in texts for ch in normalize(t)[: self.settings.max_chars]]
        return sum(ch not in index for ch in chars) / max(1, len(chars))


def open_char_cnn(directory: str | Path, spin: bool = True) -> Any:
    """The Predictor of a saved model (torch) or of its ONNX export (onnxruntime; the
    vocabulary comes from the char_cnn.json beside the graph)."""
    from .scratch import ScratchOnnxPredictor, ScratchTextPredictor

    path = Path(directory)
    if not (path / "model.onnx").is_file():
        return ScratchTextPredictor.from_model(load_char_cnn(path), path)
    try:
        config = json.loads((path / CONFIG_FILE).read_text("utf-8"))
        index = {ch: i + 2 for i, ch in enumerate(config["vocabulary"])}
        max_chars = int(config["settings"]["max_chars"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"'{path}/{CONFIG_FILE}' cannot be read: {exc}") from None
    return ScratchOnnxPredictor(
        path, lambda texts: {"input_ids": encode(texts, index, max_chars)}, FAMILY, spin=spin
    )


def empty_model(labels: LabelMap, settings: CharCNNSettings | None = None) -> CharCNNModel:
    return CharCNNModel(settings or CharCNNSettings(), [], labels)


def _accuracy(cm: CharCNNModel, texts: list[str], truth: np.ndarray) -> float:
    return float((cm.logits(texts).argmax(1) == truth).mean()) if len(truth) else 0.0


def train_char_cnn(cm: CharCNNModel, data: Any) -> Any:
    """Fit ``cm`` in place on ``data.train``, keeping the epoch best on ``data.val``; returns a
    TrainResult. Seeded by the run (``train`` seeds torch before building the model)."""
    import torch

    from ..train import TrainResult

    s = cm.settings
    start = time.perf_counter()
    texts = [e.text for e in data.train]
    cm.vocabulary = build_vocabulary(texts, s)
    cm.network = _network(s, len(cm.vocabulary) + 2, len(cm.labels))
    label_index = {n: i for i, n in enumerate(cm.labels.names)}
    y = torch.tensor([label_index[e.label] for e in data.train])
    val_texts = [e.text for e in data.val]
    val_y = np.array([label_index[e.label] for e in data.val])
    ids = encode(texts, cm.index, s.max_chars)  # padded once; batches are cut to their width
    lengths = (ids != PAD).sum(1)
    optimizer = torch.optim.AdamW(cm.network.parameters(), lr=s.lr, weight_decay=1e-4)
    best, history, stale, epochs = (-1.0, None, 0), [], 0, 0
    generator = torch.Generator().manual_seed(int(torch.initial_seed()) % (2**31))
    for epoch in range(1, s.epochs + 1):
        cm.network.train()
        for batch in torch.randperm(len(texts), generator=generator).split(s.batch_size):
            if time.perf_counter() - start > s.max_seconds:
                break  # out of time: this partial epoch is judged on validation like any other
            width = max(4, int(lengths[batch.numpy()].max()))
            loss = torch.nn.functional.cross_entropy(
                cm.network(torch.from_numpy(ids[batch.numpy(), :width])), y[batch]
            )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        epochs = epoch
        accuracy = _accuracy(cm, val_texts, val_y) if val_texts else 0.0
        history.append({"epoch": epoch, "val_accuracy": round(accuracy, 6)})
        if accuracy > best[0]:
            state = {k: v.detach().clone() for k, v in cm.network.state_dict().items()}
            best, stale = (accuracy, state, epoch), 0
        else:
            stale += 1
        if stale >= s.patience or time.perf_counter() - start > s.max_seconds:
            break
    cm.network.load_state_dict(best[1])
    cm.network.eval()
    seconds = time.perf_counter() - start
    cm.chosen = {"best_epoch": best[2], "epochs_run": epochs, "history": history}
    return TrainResult(
        best_epoch=best[2],
        best_step=best[2],
        best_val_macro_f1=0.0,
        epochs_run=epochs,
        global_step=epochs,
        train_seconds=seconds,
        examples_per_s=epochs * len(texts) / seconds if seconds > 0 else 0.0,
        precision="fp32",
        stopped_early=epochs < s.epochs,
        history=history,
    )


def save_char_cnn(cm: CharCNNModel, out_dir: str | Path) -> Path:
    """Weights (safetensors), char_cnn.json (settings, vocabulary), tuneforge.json, labels."""
    from safetensors.torch import save_file

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in cm.network.state_dict().items()}
    save_file(state, str(out_dir / WEIGHTS_FILE))
    config = {"settings": asdict(cm.settings), "vocabulary": cm.vocabulary, "chosen": cm.chosen}
    (out_dir / CONFIG_FILE).write_text(json.dumps(config, ensure_ascii=False), "utf-8")
    write_family_files(out_dir, FAMILY, cm.labels.names)
    return out_dir


def load_char_cnn(model_dir: str | Path) -> CharCNNModel:
    """The model :func:`save_char_cnn` wrote, in eval mode."""
    from .safety import load_safetensors

    path = Path(model_dir)
    require_files(path, (CONFIG_FILE, WEIGHTS_FILE, META_FILE), FAMILY)
    try:
        config = json.loads((path / CONFIG_FILE).read_text("utf-8"))
        meta = json.loads((path / META_FILE).read_text("utf-8"))
        settings = CharCNNSettings.from_dict(config["settings"])
        cm = CharCNNModel(settings, list(config["vocabulary"]), LabelMap(tuple(meta["labels"])))
        cm.network = _network(settings, len(cm.vocabulary) + 2, len(cm.labels))
        cm.network.load_state_dict(load_safetensors(path / WEIGHTS_FILE))
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise ModelError(
            f"Could not load the {FAMILY} model in '{path}': {exc}",
            hint="The directory may be incomplete or corrupt; retrain or restore it.",
        ) from None
    cm.network.eval()
    cm.source_dir = path
    cm.chosen = config.get("chosen", {})
    return cm
