"""Search spaces: defaults per method, YAML spaces checked key by key before any trial."""

from __future__ import annotations

import optuna
import pytest

from tuneforge.errors import ConfigError
from tuneforge.methods import METHODS
from tuneforge.tune import DEFAULT_SPACES, default_space, load_space


def test_every_method_has_a_default_space_of_real_config_keys():
    """Each method's space names keys the run config accepts; adapter spaces search the rank."""
    from tuneforge.config import load_config

    assert set(DEFAULT_SPACES) == set(METHODS)
    for method in METHODS:
        trial = optuna.trial.FixedTrial(
            {p.key: p.choices[0] if p.choices else p.low for p in default_space(method)}
        )
        values = {p.key: p.suggest(trial) for p in default_space(method)}
        load_config(overrides=[f"{k}={v}" for k, v in values.items()])
    assert "method.r" in {p.key for p in default_space("lora")}
    assert "method.r" not in {p.key for p in default_space("full")}


def test_yaml_space_types_follow_the_bounds(tmp_path):
    """Integer bounds give an integer range, float bounds a float range, lists choices."""
    path = tmp_path / "space.yaml"
    path.write_text(
        "train.lr: {low: 1.0e-5, high: 1.0e-3, log: true}\n"
        "train.epochs: {low: 2, high: 4}\n"
        "train.batch_size: {choices: [16, 32]}\n"
    )
    lr, epochs, batch = load_space(path)
    assert lr.log and not lr.integer
    assert epochs.integer and (epochs.low, epochs.high) == (2, 4)
    assert batch.choices == (16, 32)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("train.lrr: {low: 0.1, high: 0.2}\n", "train.lrr"),
        ("train.lr: {low: 0.2, high: 0.1}\n", "low < high"),
        ("train.lr: {low: 0, high: 0.1, log: true}\n", "low must be positive"),
        ("train.batch_size: {choices: []}\n", "non-empty list"),
        ("train.epochs: {low: 1, high: 3, step: 2}\n", "unknown fields"),
        ("data.train_file: {choices: [a.csv]}\n", "not a hyperparameter"),
        ("- just a list\n", "must map config keys"),
    ],
)
def test_bad_spaces_name_the_file_and_key(tmp_path, text, match):
    """A typo or an impossible range stops the search before any trial, naming what is wrong."""
    path = tmp_path / "space.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_space(path)


def test_unknown_method_has_no_default_space():
    with pytest.raises(ConfigError, match="lorra"):
        default_space("lorra")
