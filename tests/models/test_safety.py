"""A model directory is data, never code: custom code and pickles are refused before
transformers or torch sees them, with an error naming the directory or file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tuneforge.config import ModelConfig
from tuneforge.errors import ModelError
from tuneforge.models import load_model, load_tokenizer, load_trained, resolve_model_dir
from tuneforge.models.cnn import load_cnn
from tuneforge.types import LabelMap

from ..tiny_images import bar_images, train_tiny_cnn

MODELING = """\
from pathlib import Path

Path(__file__).with_name("EXECUTED").write_text("the directory's code ran")

from transformers import BertConfig, BertForSequenceClassification


class XConfig(BertConfig):
    model_type = "x-custom"


class XModel(BertForSequenceClassification):
    config_class = XConfig
"""


def _with_code(tmp_path: Path, source: Path, file: str = "config.json", **changes) -> Path:
    """A copy of ``source`` whose ``file`` gets ``changes`` and an ``auto_map`` pointing at a
    modeling_x.py that leaves an EXECUTED marker when imported."""
    copy = tmp_path / "custom"
    shutil.copytree(source, copy)
    (copy / "modeling_x.py").write_text(MODELING)
    path = copy / file
    config = json.loads(path.read_text())
    config.update(changes)
    config["auto_map"] = {
        "AutoConfig": "modeling_x.XConfig",
        "AutoModelForSequenceClassification": "modeling_x.XModel",
        "AutoTokenizer": ["modeling_x.XTokenizer", None],
    }
    path.write_text(json.dumps(config))
    return copy


def _loads(path: Path):
    return [
        lambda: resolve_model_dir(path),
        lambda: load_model(ModelConfig(name=str(path)), LabelMap(("a", "b"))),
        lambda: load_trained(path),
        lambda: load_tokenizer(path),
    ]


@pytest.mark.parametrize("model_type", ["x-custom", "bert"])
def test_custom_code_in_a_model_directory_is_never_run(tiny_model_dir, tmp_path, model_type):
    """A config.json with auto_map (under an unknown or a standard model_type) is refused by
    every loader with an error naming the directory and the key; its code never runs, and no
    "run the custom code? [y/N]" question is asked."""
    custom = _with_code(tmp_path, tiny_model_dir, model_type=model_type)
    for load in _loads(custom):
        with pytest.raises(ModelError, match="auto_map") as caught:
            load()
        assert str(custom) in caught.value.message
    assert not (custom / "EXECUTED").exists()


def test_a_tokenizer_config_pointing_at_code_is_refused(tiny_model_dir, tmp_path):
    """auto_map in tokenizer_config.json is refused as in config.json, naming the file."""
    custom = _with_code(tmp_path, tiny_model_dir, file="tokenizer_config.json")
    for load in _loads(custom):
        with pytest.raises(ModelError, match="tokenizer_config.json has 'auto_map'"):
            load()
    assert not (custom / "EXECUTED").exists()


def test_an_unknown_model_type_is_refused(tiny_model_dir, tmp_path):
    """An architecture transformers does not ship would need code from elsewhere: refused,
    naming the directory and the model_type."""
    copy = tmp_path / "unknown"
    shutil.copytree(tiny_model_dir, copy)
    config = json.loads((copy / "config.json").read_text())
    (copy / "config.json").write_text(json.dumps({**config, "model_type": "x-custom"}))
    with pytest.raises(ModelError, match="model_type 'x-custom'") as caught:
        resolve_model_dir(copy)
    assert str(copy) in caught.value.message


def test_every_transformers_load_refuses_remote_code(tiny_model_dir, tmp_path, monkeypatch):
    """Every from_pretrained call tuneforge makes passes trust_remote_code=False (and local
    files only), so a check missed here ends in an error, never in running code."""
    import transformers

    from tuneforge.models import save_model

    calls: list[tuple[str, dict]] = []
    for name in ("AutoConfig", "AutoTokenizer", "AutoModelForSequenceClassification"):
        auto = getattr(transformers, name)
        original = auto.from_pretrained.__func__

        def spy(cls, *args, _name=name, _original=original, **kwargs):
            calls.append((_name, kwargs))
            return _original(cls, *args, **kwargs)

        monkeypatch.setattr(auto, "from_pretrained", classmethod(spy))
    cm = load_model(ModelConfig(name=str(tiny_model_dir)), LabelMap(("a", "b")))
    load_trained(save_model(cm, tmp_path / "saved"))
    assert {name for name, _ in calls} == {
        "AutoConfig",
        "AutoTokenizer",
        "AutoModelForSequenceClassification",
    }
    for name, kwargs in calls:
        assert kwargs.get("trust_remote_code") is False, name
        assert kwargs.get("local_files_only") is True, name


def _pickle_as_safetensors(source: Path, target: Path) -> None:
    import torch
    from safetensors.torch import load_file

    weights = {k: v.clone() for k, v in load_file(str(source)).items()}
    torch.save(weights, str(target))


@pytest.fixture
def no_torch_load(monkeypatch):
    """torch.load must never be reached: it would unpickle the file."""
    import torch

    def refuse(*args, **kwargs):
        raise AssertionError("torch.load was called on a user file")

    monkeypatch.setattr(torch, "load", refuse)


def test_a_pickle_renamed_to_safetensors_is_refused(tiny_model_dir, tmp_path, no_torch_load):
    """A torch.save pickle named model.safetensors fails the format check with an error that
    names the file and says it is a pickle; torch.load is never called."""
    decoy = tmp_path / "decoy"
    shutil.copytree(tiny_model_dir, decoy)
    (decoy / "model.safetensors").unlink()
    _pickle_as_safetensors(tiny_model_dir / "model.safetensors", decoy / "model.safetensors")
    for load in _loads(decoy)[:3]:
        with pytest.raises(ModelError, match="pickle") as caught:
            load()
        assert str(decoy / "model.safetensors") in caught.value.message


def test_a_pickle_renamed_to_safetensors_is_refused_for_an_image_model(tmp_path, no_torch_load):
    """The compact CNN's weights go through the same check."""
    from tuneforge.models.cnn import save_cnn

    out = save_cnn(train_tiny_cnn(bar_images(8), steps=1), tmp_path / "cnn")
    weights = out / "model.safetensors"
    _pickle_as_safetensors(weights, tmp_path / "pickle")
    shutil.move(tmp_path / "pickle", weights)
    with pytest.raises(ModelError, match="pickle") as caught:
        load_cnn(out)
    assert str(weights) in caught.value.message


def test_truncated_safetensors_name_the_file(tiny_model_dir, tmp_path):
    """A cut-off weight file fails the header check before loading, naming the file."""
    cut = tmp_path / "cut"
    shutil.copytree(tiny_model_dir, cut)
    data = (cut / "model.safetensors").read_bytes()
    (cut / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match="truncated") as caught:
        resolve_model_dir(cut)
    assert str(cut / "model.safetensors") in caught.value.message


def test_adapter_with_pickle_weights_only_is_refused(tmp_path):
    """An adapter directory holding adapter_model.bin only is refused before peft unpickles
    it."""
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text("{}")
    (adapter / "adapter_model.bin").write_bytes(b"\x80\x04pickle")
    meta = {"labels": ["a", "b"], "base_model": "default", "max_length": 32}
    (adapter / "tuneforge.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="adapter_model.bin, a pickle"):
        load_trained(adapter)


def test_a_safetensors_header_that_starts_like_a_pickle_mark_still_loads(tmp_path):
    """A header of 640-1407 bytes begins with the bytes of a pickle protocol mark (0x80 0x02
    to 0x80 0x05); its ninth byte opens the JSON header, so it is read, not refused."""
    import torch
    from safetensors.torch import save_file

    from tuneforge.models.safety import load_safetensors

    tensors = {"weight": torch.zeros(2)}
    path = tmp_path / "model.safetensors"
    for n in range(500, 700):  # metadata lengthens the header to exactly 640 bytes (0x280)
        save_file(tensors, str(path), metadata={"note": "x" * n})
        if path.read_bytes()[:2] == b"\x80\x02":
            break
    assert path.read_bytes()[:2] == b"\x80\x02"
    assert set(load_safetensors(path)) == {"weight"}
