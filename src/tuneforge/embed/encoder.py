"""Sentence embeddings: the mean of the encoder's last hidden layer over a text's tokens,
L2-normalised, so a dot product is the cosine similarity.

Mean pooling is all-MiniLM-L6-v2's own (it was trained as a sentence encoder that way), and for
a fine-tuned run it is what the classifier's encoder learnt the texts to mean: the vectors of
texts the model treats alike lie close. A run's vectors come from its saved model through
:meth:`tuneforge.predict.TorchPredictor.embed`, the very function the server's /v1/embed calls,
so an index built offline and a query embedded by the server always agree.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from ..errors import ModelError

DEFAULT = "default"
CHUNK = 1024  # texts embedded between two progress updates
BASE_MAX_LENGTH = 256  # the packaged sentence encoder's own limit (sentence-transformers config)


def normalised(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (a zero row stays zero), as float32."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def weights_fingerprint(directory: Path) -> str:
    """SHA-256 over the directory's weights — safetensors files, or an export's model.onnx —
    (names and bytes): which weights made a vector, so an index refuses queries embedded by
    another model version (an int8 export's vectors are not its fp32 model's)."""
    digest = hashlib.sha256()
    files = sorted([*directory.glob("*.safetensors"), *directory.glob("*.onnx")])
    if not files:
        raise ModelError(f"{directory} holds no *.safetensors or *.onnx weights to embed with.")
    for path in files:
        digest.update(path.name.encode())
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


@dataclass
class TextEncoder:
    """Embeds texts in batches: ``model`` names it (a run id, a registry reference or
    ``default``), ``weights`` is the directory of its weights, ``dim`` the vector width."""

    model: str
    weights: Path
    dim: int
    _embed: Callable[[Sequence[str]], np.ndarray]

    @cached_property
    def fingerprint(self) -> str:
        """The weights' fingerprint (hashed on first use: a server without an index never
        reads its weights twice)."""
        return weights_fingerprint(self.weights)

    def embed(
        self, texts: Sequence[str], on_chunk: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """Unit vectors, one row per text (float32); ``on_chunk(n)`` after every ``CHUNK``
        texts, for a progress bar."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), CHUNK):
            part = list(texts[start : start + CHUNK])
            out[start : start + len(part)] = normalised(self._embed(part))
            if on_chunk is not None:
                on_chunk(len(part))
        return out


def base_encoder(directory: Path, name: str, batch_size: int = 64) -> TextEncoder:
    """A plain Hugging Face encoder directory (the packaged default): its bare ``AutoModel``."""
    import torch
    from transformers import AutoModel

    from ..models import load_tokenizer
    from ..predict import batched_proba

    tokenizer = load_tokenizer(directory)
    model = AutoModel.from_pretrained(directory).eval()
    dim = int(model.config.hidden_size)

    def run_batch(inputs: dict[str, np.ndarray]) -> np.ndarray:
        with torch.inference_mode():
            tensors = {k: torch.from_numpy(v) for k, v in inputs.items()}
            hidden = model(**tensors).last_hidden_state.float()
            mask = tensors["attention_mask"].unsqueeze(-1).float()
            return ((hidden * mask).sum(1) / mask.sum(1).clamp(min=1)).numpy()

    def embed(texts: Sequence[str]) -> np.ndarray:
        return batched_proba(
            tokenizer, BASE_MAX_LENGTH, texts, dim, batch_size, run_batch, post=lambda r: r
        )

    return TextEncoder(name, directory, dim, embed)


def predictor_encoder(predictor, name: str, directory: Path | None = None) -> TextEncoder:
    """A run's saved text model — torch (full or adapter) or an ONNX export of it, loaded from
    ``directory`` (by default the directory it was loaded from): its own ``embed``."""
    if not getattr(predictor, "embeds", False):
        raise ModelError(
            f"{directory or name} cannot embed: embeddings come from a text model's encoder "
            "(a run's model, or an ONNX export that carries the embedding output), not from "
            "image models or ONNX files exported before they carried it.",
            hint="Embed with the run itself (tuneforge embed RUN ...), or export it again.",
        )
    directory = Path(directory or predictor.source_dir)
    return TextEncoder(name, directory, predictor.embedding_dim, predictor.embed)


def open_encoder(ref: str, runs_dir: Path) -> TextEncoder:
    """``default`` (the packaged all-MiniLM-L6-v2), a local Hugging Face encoder directory, a
    tuneforge artifact directory, a run, or ``NAME@stage``/``NAME@vN``."""
    from ..models.load import DEFAULT_NAMES, check_model_dir, default_model_dir
    from ..predict import load_predictor
    from ..store import RunDir, resolve_model

    if ref in DEFAULT_NAMES:
        return base_encoder(default_model_dir(), DEFAULT)
    path = Path(ref)
    if path.is_dir() and not RunDir(path).status_path.is_file():
        if (path / "tuneforge.json").is_file():
            return predictor_encoder(load_predictor(path), path.name, path)
        check_model_dir(path)
        return base_encoder(path, str(path))
    run, artifact = resolve_model(ref, runs_dir)
    name = ref if "@" in ref else run.run_id
    return predictor_encoder(load_predictor(artifact), name, artifact)
