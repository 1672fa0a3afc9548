"""Sentence embeddings: mean-pooled, unit length, the same from a run's model as from the
server's predictor, and fingerprinted by their weights."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from tuneforge.config import ModelConfig
from tuneforge.embed import open_encoder
from tuneforge.embed.encoder import CHUNK, base_encoder, predictor_encoder, weights_fingerprint
from tuneforge.errors import ModelError
from tuneforge.models import load_model
from tuneforge.predict import TorchPredictor
from tuneforge.types import LabelMap

TEXTS = ["my card was charged twice", "where is my parcel", "reset my password please"]


def test_base_encoder_is_the_mean_of_the_last_layer_over_tokens_scaled_to_unit_length(
    tiny_model_dir,
):
    """A plain encoder directory embeds as sentence-transformers' mean pooling does: padding
    never counts, whatever else shares the batch."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    encoder = open_encoder(str(tiny_model_dir), tiny_model_dir)
    vectors = encoder.embed(TEXTS)
    assert vectors.shape == (3, encoder.dim) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    model, tok = (
        AutoModel.from_pretrained(tiny_model_dir),
        AutoTokenizer.from_pretrained(tiny_model_dir),
    )
    with torch.inference_mode():
        hidden = model(**tok(TEXTS[1], return_tensors="pt")).last_hidden_state[0].mean(0).numpy()
    np.testing.assert_allclose(vectors[1], hidden / np.linalg.norm(hidden), atol=1e-5)


def test_a_trained_model_embeds_through_the_predictor_the_server_uses(tiny_model_dir):
    """The encoder of a loaded classifier is its predictor's own embed, normalised: an index
    built offline and the server's queries agree to the float."""
    predictor = TorchPredictor(
        load_model(ModelConfig(name=str(tiny_model_dir)), LabelMap(("a", "b")))
    )
    encoder = predictor_encoder(predictor, "m")
    raw = predictor.embed(TEXTS)
    np.testing.assert_allclose(
        encoder.embed(TEXTS), raw / np.linalg.norm(raw, axis=1, keepdims=True), atol=1e-6
    )


def test_progress_is_reported_per_chunk(tiny_model_dir, monkeypatch):
    """``on_chunk`` hears how many texts each chunk held, adding up to all of them."""
    monkeypatch.setattr("tuneforge.embed.encoder.CHUNK", 2)
    encoder = base_encoder(tiny_model_dir, "tiny")
    seen: list[int] = []
    encoder.embed(TEXTS, seen.append)
    assert seen == [2, 1] and CHUNK > 2


def test_the_fingerprint_follows_the_weights(tiny_model_dir, tmp_path):
    """Same weights, same fingerprint; one changed byte in a weights file, another."""
    copy = tmp_path / "copy"
    shutil.copytree(tiny_model_dir, copy)
    assert weights_fingerprint(copy) == weights_fingerprint(tiny_model_dir)
    weights = next(copy.glob("*.safetensors"))
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    assert weights_fingerprint(copy) != weights_fingerprint(tiny_model_dir)


def test_a_directory_that_is_no_model_is_refused_by_name(tmp_path):
    """A folder without config.json is named in the error, never searched on a hub."""
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="has no config.json"):
        open_encoder(str(tmp_path / "empty"), tmp_path)
