"""One seed for Python, numpy and torch, so a run with the same seed draws the same numbers."""

from __future__ import annotations

import random

import numpy as np


def set_seed(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
