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


def test_flags_beat_the_config_file_and_overrides_beat_flags(tmp_path):
    """defaults < --config FILE < flags < key=value: `train x.csv --config default.yaml
    --epochs 3 --lr 1e-5 --model DIR --seed 7` trains with the flags, not the file's values."""
    from pathlib import Path

    from tuneforge.cli import parse
    from tuneforge.cli.train import train_config

    default_yaml = Path(__file__).parents[1] / "configs" / "default.yaml"
    argv = ["train", "x.csv", "--config", str(default_yaml), "--epochs", "3", "--lr", "1e-5"]
    argv += ["--model", str(tmp_path), "--seed", "7", "--batch-size", "8"]
    cfg = train_config(parse(argv))
    assert (cfg.train.epochs, cfg.train.lr, cfg.train.batch_size) == (3, 1e-5, 8)
    assert cfg.model.name == str(tmp_path)
    assert (cfg.data.seed, cfg.train.seed) == (7, 7)
    assert cfg.data.train_file == "x.csv"
    # key=value overrides beat the flags; keys set by neither keep the file's values.
    cfg = train_config(parse([*argv, "train.epochs=5", "model.max_length=64"]))
    assert (cfg.train.epochs, cfg.model.max_length, cfg.train.lr) == (5, 64, 1e-5)
    assert cfg.train.warmup_ratio is None and cfg.method.r == 8


def test_the_config_file_beats_the_defaults_it_does_not_name(tmp_path, monkeypatch):
    """A file's value stands when no flag names it, including the runs folder (which the
    environment only defaults)."""
    from tuneforge.cli import parse
    from tuneforge.cli.train import train_config

    monkeypatch.setenv("TUNEFORGE_RUNS_DIR", str(tmp_path / "env-runs"))
    path = tmp_path / "c.yaml"
    path.write_text("runs_dir: from-file\ntrain:\n  epochs: 2\n", encoding="utf-8")
    cfg = train_config(parse(["train", "x.csv", "--config", str(path)]))
    assert (cfg.runs_dir, cfg.train.epochs) == ("from-file", 2)
    assert train_config(parse(["train", "x.csv"])).runs_dir == str(tmp_path / "env-runs")
    flagged = train_config(parse(["train", "x.csv", "--config", str(path), "--runs-dir", "r"]))
    assert flagged.runs_dir == "r"
