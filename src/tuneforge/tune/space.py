"""Search spaces: which config keys a search varies, and over what range.

A space is a mapping from a dotted config key to a range, in YAML::

    train.lr: {low: 1.0e-5, high: 1.0e-3, log: true}
    train.epochs: {low: 3, high: 10}          # integers when both ends are integers
    train.batch_size: {choices: [16, 32]}

Keys are checked against the run config, so a typo fails before any trial runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..config import load_config
from ..errors import ConfigError


@dataclass(frozen=True)
class Param:
    """One searched config key: a float or int range (optionally log-scaled) or choices."""

    key: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    integer: bool = False
    choices: tuple[Any, ...] | None = None

    def suggest(self, trial) -> Any:
        """The value an Optuna trial draws for this key."""
        if self.choices is not None:
            return trial.suggest_categorical(self.key, list(self.choices))
        if self.integer:
            return trial.suggest_int(self.key, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(self.key, float(self.low), float(self.high), log=self.log)


def _lr(low: float, high: float) -> Param:
    return Param("train.lr", low, high, log=True)


_COMMON = (
    Param("train.epochs", 3, 10, integer=True),
    Param("train.batch_size", choices=(16, 32, 64)),
    Param("train.warmup_ratio", 0.0, 0.2),
    Param("train.weight_decay", 0.0, 0.1),
)
_LORA = (
    Param("method.r", choices=(4, 8, 16, 32)),
    Param("method.alpha", choices=(8, 16, 32, 64)),
    Param("method.dropout", 0.0, 0.2),
)

# Learning-rate ranges centred on each method's default (methods.METHODS): adapters need larger
# steps than full fine-tuning.
DEFAULT_SPACES: dict[str, tuple[Param, ...]] = {
    "full": (_lr(5e-5, 6e-4), *_COMMON),
    "lora": (_lr(2e-4, 5e-3), *_COMMON, *_LORA),
    "adalora": (_lr(2e-4, 5e-3), *_COMMON, *_LORA),
    "ia3": (_lr(1e-3, 3e-2), *_COMMON),
    "prefix": (_lr(2e-3, 5e-2), *_COMMON, Param("method.virtual_tokens", choices=(8, 16, 32))),
}


def default_space(method: str) -> tuple[Param, ...]:
    try:
        return DEFAULT_SPACES[method]
    except KeyError:
        raise ConfigError(
            f"No default search space for method '{method}'.",
            hint=f"Choose one of: {', '.join(DEFAULT_SPACES)}, or pass --space YAML.",
        ) from None


def _check_key(key: str, sample: Any) -> None:
    """The key must exist in the run config and accept values of the range's type."""
    if key.startswith("data.") or key in ("name", "runs_dir"):
        raise ConfigError(f"Search space key '{key}' is not a hyperparameter.")
    load_config(overrides=[f"{key}={sample}"])  # raises ConfigError naming the key


def _param(key: str, spec: Any, where: str) -> Param:
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: '{key}' must be a mapping like {{low: 1, high: 5}}.")
    unknown = set(spec) - {"low", "high", "log", "choices"}
    if unknown:
        raise ConfigError(f"{where}: '{key}' has unknown fields {sorted(unknown)}.")
    if "choices" in spec:
        choices = spec["choices"]
        if not isinstance(choices, list) or not choices or set(spec) != {"choices"}:
            raise ConfigError(
                f"{where}: '{key}' needs a non-empty list of choices and nothing else."
            )
        for choice in choices:
            _check_key(key, choice)
        return Param(key, choices=tuple(choices))
    low, high = spec.get("low"), spec.get("high")
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high))
    if not numeric or low >= high:
        raise ConfigError(f"{where}: '{key}' needs numbers low < high, got {low!r} and {high!r}.")
    log = bool(spec.get("log", False))
    if log and low <= 0:
        raise ConfigError(f"{where}: '{key}' is log-scaled, so low must be positive.")
    integer = isinstance(low, int) and isinstance(high, int)
    _check_key(key, low)
    return Param(key, low, high, log=log, integer=integer)


def load_space(path: str | Path) -> tuple[Param, ...]:
    """Read a YAML search space; every error names the file and the key."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"Search space file '{path}' does not exist.")
    try:
        tree = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"Search space file '{path}' is not valid YAML: {exc}") from None
    if not isinstance(tree, dict) or not tree:
        raise ConfigError(f"Search space file '{path}' must map config keys to ranges.")
    return tuple(_param(str(key), spec, str(path)) for key, spec in tree.items())
