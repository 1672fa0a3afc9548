"""Model resolution and loading: local directories only, clear errors, faithful save."""

import json
from pathlib import Path

import pytest

from tuneforge.config import ModelConfig
from tuneforge.errors import ModelError
from tuneforge.models import (
    default_model_dir,
    load_model,
    load_trained,
    resolve_model_dir,
    save_model,
)
from tuneforge.types import LabelMap


def test_default_model_is_found_in_the_installed_package():
    """'default' resolves to the packaged all-MiniLM-L6-v2 directory, without a network."""
    path = resolve_model_dir("default")
    assert path == default_model_dir().resolve()
    assert (path / "config.json").is_file()


def test_unknown_model_name_lists_what_is_available():
    """A hub-style name is refused with the list of local choices."""
    with pytest.raises(ModelError, match="never downloads.*default"):
        resolve_model_dir("bert-base-uncased")


def test_directory_without_config_is_refused(tmp_path):
    """A directory that is not a Hugging Face model gets an error naming it."""
    with pytest.raises(ModelError, match="no config.json"):
        resolve_model_dir(tmp_path)


def test_pickle_only_weights_are_refused(tmp_path):
    """Pickle weights are never loaded: the error says why and what to do."""
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "pytorch_model.bin").write_bytes(b"x")
    with pytest.raises(ModelError, match="safetensors"):
        resolve_model_dir(tmp_path)


def test_corrupt_weights_give_a_model_error(tiny_model_dir, tmp_path):
    """Truncated safetensors fail as a ModelError naming the directory, not a traceback."""
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(tiny_model_dir, broken)
    (broken / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ModelError, match="broken"):
        load_model(ModelConfig(name=str(broken)), LabelMap(("a", "b")))


def test_load_sets_labels_and_dropout(tiny_model_dir):
    """The head matches the labels, and dropout follows the config."""
    cm = load_model(
        ModelConfig(name=str(tiny_model_dir), hidden_dropout=0.0), LabelMap(("x", "y", "z"))
    )
    assert cm.model.config.num_labels == 3
    assert cm.model.config.id2label == {0: "x", 1: "y", 2: "z"}
    assert cm.model.config.hidden_dropout_prob == 0.0


def test_save_then_plain_transformers_gives_same_outputs(tiny_model_dir, tmp_path):
    """save_model writes a directory that plain transformers loads with identical logits."""
    import torch
    import transformers

    cm = load_model(ModelConfig(name=str(tiny_model_dir), max_length=64), LabelMap(("a", "b")))
    out = save_model(cm, tmp_path / "saved")
    assert (out / "model.safetensors").is_file()
    plain = transformers.AutoModelForSequenceClassification.from_pretrained(out).eval()
    ours = load_trained(out)
    assert ours.labels.names == ("a", "b") and ours.max_length == 64
    batch = cm.tokenizer(
        ["hello there", "a longer sentence here"], padding=True, return_tensors="pt"
    )
    with torch.no_grad():
        assert torch.allclose(plain(**batch).logits, ours.model(**batch).logits, atol=1e-6)
    assert plain.config.id2label == {0: "a", 1: "b"}
    assert Path(out / "labels.json").is_file()


def test_a_transformers_pipeline_reads_as_much_text_as_the_model_was_trained_on(
    tiny_model_dir, tmp_path
):
    """tokenizer_config.json of a saved model states the run's max_length, so a plain
    transformers pipeline with truncation scores a long text exactly as tuneforge does."""
    import numpy as np
    import transformers

    from tuneforge.predict import TorchPredictor

    cm = load_model(ModelConfig(name=str(tiny_model_dir), max_length=24), LabelMap(("a", "b")))
    out = save_model(cm, tmp_path / "saved")
    config = json.loads((out / "tokenizer_config.json").read_text())
    assert config["model_max_length"] == 24
    text = " ".join(["the parcel with my refund is late again"] * 10)  # ~80 tokens
    assert len(cm.tokenizer(text)["input_ids"]) > 24
    pipe = transformers.pipeline("text-classification", model=str(out), truncation=True, top_k=None)
    scores = {s["label"]: s["score"] for s in pipe([text])[0]}
    ours = TorchPredictor.from_dir(out).predict_proba([text])[0]
    np.testing.assert_allclose([scores["a"], scores["b"]], ours, atol=1e-5)
