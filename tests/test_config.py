"""Config loading: defaults, YAML, overrides, and errors that name the key."""

import pytest

from tuneforge.config import RunConfig, dump_config, load_config
from tuneforge.errors import ConfigError


def test_overrides_are_typed_and_nested():
    """key=value strings become typed values in the right section."""
    cfg = load_config(
        overrides=["train.lr=1e-4", "model.max_length=64", "train.freeze_embeddings=true"]
    )
    assert cfg.train.lr == pytest.approx(1e-4)
    assert cfg.model.max_length == 64
    assert cfg.train.freeze_embeddings is True


def test_unknown_key_suggests_the_closest(tmp_path):
    """A misspelt key is an error naming the key and the likely intended one."""
    with pytest.raises(ConfigError, match=r"train\.lrr.*train\.lr"):
        load_config(overrides=["train.lrr=1"])


def test_wrong_type_names_the_key():
    """A value of the wrong type is an error naming the key."""
    with pytest.raises(ConfigError, match="train.epochs"):
        load_config(overrides=["train.epochs=many"])


def test_yaml_round_trip(tmp_path):
    """A dumped config loads back to an equal object; YAML < overrides in precedence."""
    cfg = load_config(overrides=["name=abc", "train.epochs=3"])
    path = tmp_path / "c.yaml"
    dump_config(cfg, path)
    assert load_config(path) == cfg
    assert load_config(path, ["train.epochs=5"]).train.epochs == 5


def test_every_shipped_recipe_loads():
    """Each YAML in configs/ is a valid config."""
    from pathlib import Path

    files = sorted((Path(__file__).parents[1] / "configs").glob("*.yaml"))
    assert files, "configs/ should hold at least one recipe"
    for path in files:
        assert isinstance(load_config(path), RunConfig)


def test_default_yaml_spells_out_the_real_defaults():
    """configs/default.yaml documents the defaults: loading it changes nothing."""
    from pathlib import Path

    path = Path(__file__).parents[1] / "configs" / "default.yaml"
    assert load_config(path) == RunConfig()
