"""A tiny image task and CNN for release and serving tests: 8×8 greyscale pictures with a
vertical or a horizontal bar, learnt in well under a second on one thread."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import torch

from tuneforge.data.image_features import ImageFeaturizer
from tuneforge.data.image_splits import save_image_split
from tuneforge.models.cnn import ImageClassifierModel, build_cnn, save_cnn
from tuneforge.types import ImageExample, LabelMap

LABELS = ("horizontal", "vertical")
SIDE = 8


def bar_images(n: int, seed: int = 0) -> list[ImageExample]:
    """``n`` noisy 8×8×1 images, alternating a horizontal and a vertical bright bar."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        pixels = rng.integers(0, 60, (SIDE, SIDE), dtype=np.uint8)
        at = int(rng.integers(1, SIDE - 1))
        if i % 2 == 0:
            pixels[at, :] = 230
        else:
            pixels[:, at] = 230
        out.append(ImageExample(pixels[:, :, None], LABELS[i % 2], i + 1, "bars"))
    return out


def train_tiny_cnn(examples: list[ImageExample], steps: int = 10) -> ImageClassifierModel:
    """A CNN of one 4-filter stage and 8 hidden units, fitted with a few Adam steps: every bar
    is classified right, with probabilities short of 1 so that runtimes can be compared."""
    torch.manual_seed(0)
    torch.set_num_threads(1)
    featurizer = ImageFeaturizer.fit(examples, augmentation=None)
    cm = build_cnn(featurizer, LabelMap(LABELS), widths=(4,), hidden=8, dropout=0.0)
    x = featurizer.tensor([e.pixels for e in examples])
    y = torch.tensor([LABELS.index(e.label) for e in examples])
    optimizer = torch.optim.Adam(cm.model.parameters(), lr=0.01)
    cm.model.train()
    for _ in range(steps):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(cm.model(pixel_values=x).logits, y)
        loss.backward()
        optimizer.step()
    cm.model.eval()
    return cm


def build_tiny_vit_dir(out_dir: Path, seed: int = 0) -> Path:
    """A random 2-layer ViT for 16×16 RGB images (patches of 4, hidden size 32) with its
    ViTImageProcessor, saved as a Hugging Face image-classification directory (safetensors +
    config.json + preprocessor_config.json) under a two-label head of its own."""
    import transformers

    transformers.logging.set_verbosity_error()
    config = transformers.ViTConfig(
        image_size=16,
        patch_size=4,
        num_channels=3,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        num_labels=2,
        id2label={0: "cat", 1: "dog"},
        label2id={"cat": 0, "dog": 1},
    )
    torch.manual_seed(seed)
    model = transformers.ViTForImageClassification(config)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir, safe_serialization=True)
    processor = transformers.ViTImageProcessor(size={"height": 16, "width": 16})
    processor.save_pretrained(out_dir)
    return out_dir


def write_image_run(runs_dir: Path, name: str, cm: ImageClassifierModel, splits: dict) -> Path:
    """A finished image run as the release and serving stages read it: config.yaml,
    status.json, artifacts/model (save_cnn) and data/<split>.npz."""
    run = runs_dir / name
    (run / "data").mkdir(parents=True, exist_ok=True)
    (run / "config.yaml").write_text("task: image\n", encoding="utf-8")
    (run / "status.json").write_text(json.dumps({"state": "succeeded"}), encoding="utf-8")
    save_cnn(cm, run / "artifacts" / "model")
    for split, examples in splits.items():
        save_image_split(run / "data" / f"{split}.npz", examples, cm.featurizer)
    return run


def png_bytes(pixels: np.ndarray, size: tuple[int, int] | None = None) -> bytes:
    """The image encoded as PNG (optionally resized first)."""
    from PIL import Image

    image = Image.fromarray(pixels[:, :, 0] if pixels.ndim == 3 else pixels, "L")
    if size:
        image = image.resize(size)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def png_bomb(width: int = 20_000, height: int = 20_000) -> bytes:
    """A small valid PNG whose header declares ``width``×``height`` pixels: a few KB on the
    wire, 400 megapixels if anyone decoded it."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + b"\x00" * width  # filter byte + one greyscale row
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(64)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )
