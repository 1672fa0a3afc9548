"""Shared fixtures: a tiny random BERT directory and small keyword-separable datasets.

Unit tests never touch the network or the shared datasets; the tiny model trains in seconds.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest

KEYWORDS = {
    "billing": ["invoice", "charge", "refund", "payment"],
    "shipping": ["parcel", "delivery", "courier", "tracking"],
    "account": ["password", "login", "username", "email"],
}
FILLERS = ["please help with my", "question about the", "issue with", "need info on the", "my"]

# Hyperparameters under which the tiny model learns the keyword task in a few seconds.
TINY_TRAIN = [
    "train.lr=2e-3",
    "train.epochs=8",
    "train.batch_size=8",
    "train.freeze_embeddings=false",
]


def make_rows(n_per_label: int = 30, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for label, words in KEYWORDS.items():
        for i in range(n_per_label):
            rows.append(
                {
                    "text": f"{rng.choice(words)} {rng.choice(FILLERS)} {rng.choice(words)} {i}",
                    "label": label,
                }
            )
    rng.shuffle(rows)
    return rows


def write_csv(path: Path, rows: list[dict], fields=("text", "label")) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(fields))
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    from tuneforge.models import build_tiny_model_dir

    return build_tiny_model_dir(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture
def tickets_csv(tmp_path) -> Path:
    return write_csv(tmp_path / "tickets.csv", make_rows(40))


@pytest.fixture
def runs_dir(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "runs"
    monkeypatch.delenv("TUNEFORGE_RUNS_DIR", raising=False)
    monkeypatch.delenv("TUNEFORGE_STORE_URL", raising=False)
    return path
