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


# Image runs small enough for a few seconds: one 8-filter stage, 16 hidden units, 12 epochs.
TINY_IMAGE_TRAIN = [
    "image.widths=8",
    "image.hidden=16",
    "train.epochs=12",
    "train.batch_size=16",
    "train.lr=1e-2",
]
SHAPES = ("blob", "horizontal", "vertical")


def shape_image(label: str, rng, size: int = 12):
    """A size×size greyscale image on dark noise: a horizontal bar, a vertical bar or a square
    blob at a random position, so the class is in the shape and not in one pixel."""
    import numpy as np

    img = rng.integers(0, 60, (size, size), dtype=np.uint8)
    k = int(rng.integers(2, size - 3))
    if label == "horizontal":
        img[k : k + 2, :] = 255
    elif label == "vertical":
        img[:, k : k + 2] = 255
    else:
        img[k - 2 : k + 2, k - 2 : k + 2] = 255
    return img


def write_shapes(root: Path, n_per_label: int = 20, seed: int = 0) -> Path:
    """An image folder ``root/<label>/<i>.png`` of :func:`shape_image` pictures."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    for label in SHAPES:
        (root / label).mkdir(parents=True, exist_ok=True)
        for i in range(n_per_label):
            Image.fromarray(shape_image(label, rng), "L").save(root / label / f"{i}.png")
    return root


@pytest.fixture
def one_torch_thread():
    """Tiny tensors gain nothing from threads, and a busy CPU makes thread hand-offs slow."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


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


@pytest.fixture(scope="session")
def tiny_vit_dir(tmp_path_factory) -> Path:
    """A random 2-layer ViT for 16×16 RGB images with its processor (tests/tiny_images.py)."""
    from .tiny_images import build_tiny_vit_dir

    return build_tiny_vit_dir(tmp_path_factory.mktemp("tiny-vit"))


@pytest.fixture
def tickets_csv(tmp_path) -> Path:
    return write_csv(tmp_path / "tickets.csv", make_rows(40))


@pytest.fixture
def runs_dir(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "runs"
    monkeypatch.delenv("TUNEFORGE_RUNS_DIR", raising=False)
    monkeypatch.delenv("TUNEFORGE_STORE_URL", raising=False)
    return path


def train_tiny_run(root: Path, model_dir: Path, name: str, rows: list[dict] | None = None) -> Path:
    """Train the tiny model through the CLI into ``root/runs/<name>``; returns the runs dir."""
    from tuneforge.cli import main

    data = write_csv(root / f"{name}.csv", rows or make_rows(40))
    runs = root / "runs"
    argv = [
        "train",
        str(data),
        "--model",
        str(model_dir),
        "--runs-dir",
        str(runs),
        "--name",
        name,
        "--no-progress",
        *TINY_TRAIN,
    ]
    assert main(argv) == 0
    return runs


@pytest.fixture
def webhook():
    """A local HTTP receiver for alert sinks: yields (url, list of received JSON bodies)."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    received: list[dict] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's naming)
            received.append(json.loads(self.rfile.read(int(self.headers["content-length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/", received
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL server on loopback for the session (Debian's `postgresql` package).

    Missing binaries fail the run where PostgreSQL is required (CI sets
    TUNEFORGE_REQUIRE_POSTGRES=1 after installing it) and skip elsewhere."""
    import os

    from .postgres_server import PostgresServer, find_bin_dir

    bin_dir = find_bin_dir()
    if bin_dir is None:
        message = "PostgreSQL server binaries not found (apt-get install postgresql)"
        if os.environ.get("TUNEFORGE_REQUIRE_POSTGRES") or os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    server = PostgresServer(bin_dir).start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path) -> str:
    """The same store test against SQLite and against a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'sub' / 'tf.db'}"
    return request.getfixturevalue("postgres_server").new_database()


@pytest.fixture(scope="session")
def label_studio_server():
    """A real Label Studio on loopback for the session (scripts/ensure-label-studio installs it
    into .venv-label-studio). Missing, it fails the run where Label Studio is required (CI sets
    TUNEFORGE_REQUIRE_LABEL_STUDIO=1) and skips elsewhere."""
    import os

    from .label_studio_server import LabelStudioServer, find_venv

    venv = find_venv()
    if venv is None:
        message = "Label Studio is not installed (run scripts/ensure-label-studio)"
        if os.environ.get("TUNEFORGE_REQUIRE_LABEL_STUDIO") or os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    server = LabelStudioServer(venv).start()
    yield server
    server.stop()
