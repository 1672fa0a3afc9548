"""The trainable part of a model as Flower's arrays: what travels, in which order, and back."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tuneforge.federated.weights import (
    get_trainable,
    payload_bytes,
    set_trainable,
    trainable_names,
)


def _model() -> torch.nn.Module:
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    model[0].weight.requires_grad_(False)  # frozen: never on the wire
    return model


def test_only_trainable_weights_travel_in_name_order():
    """Frozen weights stay home; the arrays come in sorted name order on every side."""
    model = _model()
    assert trainable_names(model) == ["0.bias", "1.bias", "1.weight"]
    arrays = get_trainable(model)
    assert [a.shape for a in arrays] == [(4,), (2,), (2, 4)]
    assert payload_bytes(arrays) == (4 + 2 + 8) * 4


def test_set_trainable_round_trips_and_leaves_frozen_weights():
    """Arrays loaded into another model make its trainable weights equal; frozen ones stay."""
    source, target = _model(), _model()
    frozen = target[0].weight.detach().clone()
    set_trainable(target, get_trainable(source))
    assert torch.equal(target[1].weight, source[1].weight)
    assert torch.equal(target[0].bias, source[0].bias)
    assert torch.equal(target[0].weight, frozen)


def test_set_trainable_refuses_arrays_that_do_not_line_up():
    """A wrong count or shape is an error naming the parameter, not a silent broadcast."""
    model = _model()
    arrays = get_trainable(model)
    with pytest.raises(ValueError, match="expected 3 trainable arrays"):
        set_trainable(model, arrays[:2])
    arrays[2] = np.zeros((4, 2), dtype=np.float32)
    with pytest.raises(ValueError, match="1.weight"):
        set_trainable(model, arrays)
