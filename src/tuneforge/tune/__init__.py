"""Hyperparameter search on Optuna: search spaces per fine-tuning method, studies in the store.

Every trial is a normal tuneforge run (evaluated, reported, in the store), so `tuneforge runs
compare` works on trials; weak trials are pruned from their per-epoch validation scores.
"""

from .space import DEFAULT_SPACES, Param, default_space, load_space
from .study import TuneConfig, TuneResult, open_study, summarize

__all__ = [
    "DEFAULT_SPACES",
    "Param",
    "TuneConfig",
    "TuneResult",
    "default_space",
    "load_space",
    "open_study",
    "summarize",
]
