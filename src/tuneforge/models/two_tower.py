"""The two-tower recommender: an item tower over each item's text embedding and a user tower
over the user's history of item vectors, both unit vectors, scored by their dot product.

The item tower reads the frozen sentence encoder's vector of the item's text (title and
metadata), through a small MLP, plus a per-item embedding that starts at zero. An item with no
training interactions never moves its own embedding off zero, so its vector is the text path
alone; items that do are trained with that embedding dropped at random (``id_dropout``), so the
text path has to carry the preference on its own and cold items land where similar warm items
are. The user tower pools the history's item vectors (mean, or attention with a learnt query)
and adds an MLP's correction. Weights are saved as safetensors beside a JSON of the shape.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..errors import ModelError

WEIGHTS_FILE, CONFIG_FILE, TEXT_FILE = "two_tower.safetensors", "two_tower.json", "item_text.npy"
POOLINGS = ("mean", "attention")


@dataclass(frozen=True)
class TwoTowerConfig:
    """The towers' shape; ``history`` is how many recent items make a user."""

    text_dim: int
    n_items: int
    dim: int = 64
    hidden: int = 256
    pooling: str = "mean"
    history: int = 50
    id_dropout: float = 0.5
    temperature: float = 0.05


def build_two_tower(cfg: TwoTowerConfig):
    """The torch module of ``cfg`` (torch imported here: the CLI's --help stays fast)."""
    import torch
    from torch import nn
    from torch.nn import functional

    if cfg.pooling not in POOLINGS:
        raise ModelError(f"pooling must be one of {', '.join(POOLINGS)}, got '{cfg.pooling}'.")

    class TwoTower(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.cfg = cfg
            self.item_mlp = nn.Sequential(
                nn.Linear(cfg.text_dim, cfg.hidden), nn.GELU(), nn.Linear(cfg.hidden, cfg.dim)
            )
            self.item_ids = nn.Embedding(cfg.n_items, cfg.dim)
            nn.init.zeros_(self.item_ids.weight)
            self.user_mlp = nn.Sequential(
                nn.Linear(cfg.dim, cfg.hidden), nn.GELU(), nn.Linear(cfg.hidden, cfg.dim)
            )
            self.query = nn.Parameter(torch.zeros(cfg.dim))

        def items(self, text: torch.Tensor, codes: torch.Tensor, drop: float = 0.0):
            """Unit item vectors of text embeddings ``text`` (items ``codes``)."""
            own = self.item_ids(codes)
            if drop > 0:
                keep = (torch.rand(len(codes), 1, device=own.device) >= drop).float()
                own = own * keep
            return functional.normalize(self.item_mlp(text) + own, dim=-1)

        def users(self, history: torch.Tensor, mask: torch.Tensor):
            """Unit user vectors of ``history`` (users × L × dim item vectors, ``mask`` 1
            where an item is)."""
            mask = mask.float()
            if cfg.pooling == "attention":
                logits = history @ self.query  # zero at the start: the mean
                logits = logits.masked_fill(mask == 0, -1e9)
                weights = torch.softmax(logits, dim=1) * mask
            else:
                weights = mask
            weights = weights / weights.sum(1, keepdim=True).clamp(min=1.0)
            pooled = (history * weights.unsqueeze(-1)).sum(1)
            return functional.normalize(pooled + self.user_mlp(pooled), dim=-1)

    return TwoTower()


def save_two_tower(model, directory: Path) -> None:
    """safetensors weights and the JSON shape (never a pickle)."""
    from safetensors.torch import save_file

    directory.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    save_file(state, str(directory / WEIGHTS_FILE))
    text = json.dumps(asdict(model.cfg), indent=1)
    (directory / CONFIG_FILE).write_text(text, encoding="utf-8")


def load_two_tower(directory: Path):
    """The module saved by :func:`save_two_tower`, in eval mode."""
    from safetensors.torch import load_file

    files = [directory / WEIGHTS_FILE, directory / CONFIG_FILE]
    missing = [p.name for p in files if not p.is_file()]
    if missing:
        raise ModelError(
            f"{directory} is not a two-tower model (missing {', '.join(missing)}).",
            hint="Train one: tuneforge train interactions.csv --task recommend --items items.csv",
        )
    cfg = TwoTowerConfig(**json.loads((directory / CONFIG_FILE).read_text(encoding="utf-8")))
    model = build_two_tower(cfg)
    model.load_state_dict(load_file(str(directory / WEIGHTS_FILE)))
    return model.eval()


def item_vectors(model, text: np.ndarray) -> np.ndarray:
    """Every item's unit vector (float32, code order) from the items' text embeddings."""
    import torch

    with torch.inference_mode():
        codes = torch.arange(len(text))
        return model.items(torch.from_numpy(np.asarray(text, np.float32)), codes).numpy()


def user_vectors(model, vectors: np.ndarray, histories: list[list[int]]) -> np.ndarray:
    """Unit user vectors from item ``vectors`` and each user's history (item codes, oldest
    first; the last ``history`` items count). An empty history is the pooled zero vector."""
    import torch

    length = model.cfg.history
    batch = np.zeros((len(histories), length, vectors.shape[1]), dtype=np.float32)
    mask = np.zeros((len(histories), length), dtype=np.float32)
    for row, items in enumerate(histories):
        recent = list(items)[-length:]
        if recent:
            batch[row, : len(recent)] = vectors[recent]
            mask[row, : len(recent)] = 1.0
    with torch.inference_mode():
        return model.users(torch.from_numpy(batch), torch.from_numpy(mask)).numpy()
