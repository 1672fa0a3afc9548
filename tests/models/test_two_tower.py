"""The two-tower model: unit vectors, cold items carried by their text alone, attention
pooling starting as the mean, and a safetensors round trip that scores the same."""

from __future__ import annotations

import numpy as np
import pytest

from tuneforge.errors import ModelError
from tuneforge.models.two_tower import (
    TwoTowerConfig,
    build_two_tower,
    item_vectors,
    load_two_tower,
    save_two_tower,
    user_vectors,
)


def _text(n=6, dim=8, seed=0):
    return np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)


def test_vectors_are_unit_and_an_untrained_items_own_embedding_is_zero(one_torch_thread):
    """Every item and user vector has length 1; item embeddings start at zero, so an item no
    interaction trains is its text path alone."""
    model = build_two_tower(TwoTowerConfig(text_dim=8, n_items=6, dim=4, hidden=8))
    vectors = item_vectors(model, _text())
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert float(model.item_ids.weight.detach().abs().sum()) == 0.0
    users = user_vectors(model, vectors, [[0, 1], [5]])
    assert np.allclose(np.linalg.norm(users, axis=1), 1.0, atol=1e-5)


def test_attention_pooling_starts_as_the_mean(one_torch_thread):
    """A zero query weighs every history item alike: the same user as mean pooling."""
    shape = {"text_dim": 8, "n_items": 6, "dim": 4, "hidden": 8}
    mean = build_two_tower(TwoTowerConfig(**shape))
    attention = build_two_tower(TwoTowerConfig(**shape, pooling="attention"))
    attention.load_state_dict(mean.state_dict())
    vectors = item_vectors(mean, _text())
    assert np.allclose(
        user_vectors(mean, vectors, [[0, 2, 3]]),
        user_vectors(attention, vectors, [[0, 2, 3]]),
        atol=1e-6,
    )


def test_a_saved_model_loads_and_scores_the_same(tmp_path, one_torch_thread):
    """safetensors + JSON shape, no pickle; a directory without them is a ModelError."""
    model = build_two_tower(TwoTowerConfig(text_dim=8, n_items=6, dim=4, hidden=8))
    save_two_tower(model, tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == [
        "two_tower.json",
        "two_tower.safetensors",
    ]
    loaded = load_two_tower(tmp_path / "m")
    assert np.allclose(item_vectors(model, _text()), item_vectors(loaded, _text()))
    with pytest.raises(ModelError, match="not a two-tower model"):
        load_two_tower(tmp_path)
