"""Export a trained model: a Hugging Face directory, or ONNX with dynamic batch and sequence axes.

Image models (a saved compact CNN or a fine-tuned Hugging Face image classifier) take the same
functions: the HF-style copy is the saved model directory, and the ONNX graph takes
``pixel_values`` (N×C×H×W float, dynamic batch) instead of token ids; everything around the graph
(metadata, parity, quantisation) is shared.

ONNX goes through ``torch.onnx.export`` (the torch.export-based exporter) rather than Optimum:
Optimum's ONNX packages pin transformers 4.57 and would downgrade the training stack, while
torch's exporter plus onnxruntime's own quantisation tools need nothing beyond onnxruntime.
Every artifact still opens the way Optimum's ONNX classes and transformers expect: config.json
(labels in id2label/label2id) and the tokenizer beside ``model.onnx``, the labels also in the
graph's own metadata, the trained max length in tokenizer_config.json, and a model card.
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import torch

from ..errors import ModelError
from ..models import load_trained
from ..models.card import write_model_card
from ..models.load import set_tokenizer_max_length
from ..predict import EMBEDDING_OUTPUT, artifact_task
from ..store.rundir import CALIBRATION_FILE, OOD_FILE

# What travels beside every artifact's weights; calibration.json carries the trained model's
# temperature, so exported and quantised variants give its calibrated probabilities, and
# ood.npz its fitted out-of-scope scores (abstention).
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "preprocessor_config.json",
    "labels.json",
    "tuneforge.json",
    CALIBRATION_FILE,
    OOD_FILE,
)


def copy_tokenizer_and_meta(model_dir: Path, out_dir: Path, **meta) -> None:
    """Tokenizer (or image processor) files and label metadata travel with every artifact,
    with the model's config.json where the artifact has none of its own (ONNX), the labels
    in model.onnx's metadata, the trained max length in tokenizer_config.json, and the card."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in TOKENIZER_FILES:
        if (model_dir / name).is_file():
            shutil.copy2(model_dir / name, out_dir / name)
    if (model_dir / "config.json").is_file() and not (out_dir / "config.json").is_file():
        shutil.copy2(model_dir / "config.json", out_dir / "config.json")
    info = json.loads((model_dir / "tuneforge.json").read_text(encoding="utf-8"))
    info.update(meta)
    (out_dir / "tuneforge.json").write_text(
        json.dumps(info, indent=1, ensure_ascii=False), encoding="utf-8"
    )
    if info.get("task", "text") == "text" and info.get("max_length"):
        set_tokenizer_max_length(out_dir, int(info["max_length"]))
    if (out_dir / "model.onnx").is_file():
        label_onnx(out_dir / "model.onnx", info)
    write_model_card(out_dir)


def label_onnx(path: Path, info: dict) -> None:
    """Put the label names (``labels``: a JSON list; ``id2label``: a JSON object) and the task
    into the ONNX model's metadata_props, so the graph names its outputs on its own."""
    import onnx

    labels = [str(label) for label in info["labels"]]
    entries = {
        "labels": json.dumps(labels, ensure_ascii=False),
        "id2label": json.dumps(dict(enumerate(labels)), ensure_ascii=False),
        "task": str(info.get("task", "text")),
    }
    model = onnx.load(str(path))
    kept = [(p.key, p.value) for p in model.metadata_props if p.key not in entries]
    del model.metadata_props[:]
    for key, value in [*kept, *entries.items()]:
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(path))


def export_hf(model_dir: Path, out_dir: Path) -> Path:
    """A standalone copy of the trained Hugging Face directory."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    shutil.copytree(model_dir, out_dir)
    copy_tokenizer_and_meta(model_dir, out_dir, format="hf", variant="hf")
    return out_dir


def export_torch_bf16(model_dir: Path, out_dir: Path) -> Path:
    """The same model with bf16 weights: half the size, AMX matrix multiplies on this CPU class."""
    if artifact_task(model_dir) == "image":
        # The image predictor runs in fp32 (a bf16 copy would only round its weights), and an
        # image model's size and speed gain comes from onnx-int8 instead.
        raise ModelError(
            f"{model_dir} is an image model: torch-bf16 is available for text models only.",
            hint="Use --format onnx (--quantize int8-dynamic or int8-static) for image models.",
        )
    cm = load_trained(model_dir)
    cm.model.to(torch.bfloat16)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    cm.model.save_pretrained(out_dir, safe_serialization=True)
    cm.tokenizer.save_pretrained(out_dir)
    copy_tokenizer_and_meta(model_dir, out_dir, format="hf", variant="torch-bf16")
    return out_dir


class LogitsAndEmbedding(torch.nn.Module):
    """The classifier as a graph from (input_ids, attention_mask) to its logits and the
    encoder's mean-pooled last layer (``TorchPredictor.embed``), so that an ONNX model serves
    embeddings and similarity without torch; a caller asks onnxruntime for the one it needs."""

    def __init__(self, inner) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, input_ids, attention_mask):
        out = self.inner(
            input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True
        )
        mask = attention_mask.unsqueeze(-1).to(out.hidden_states[-1].dtype)
        pooled = (out.hidden_states[-1] * mask).sum(1) / mask.sum(1).clamp(min=1)
        return out.logits, pooled


class PixelsToLogits(torch.nn.Module):
    """The image classifier as a graph from ``pixel_values`` to logits."""

    def __init__(self, inner) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, pixel_values):
        return self.inner(pixel_values=pixel_values).logits


def _text_graph(model_dir: Path) -> tuple[torch.nn.Module, tuple, list[str], list[str], dict]:
    """The text classifier's wrapper, sample inputs, input and output names and dynamic
    axes."""
    cm = load_trained(model_dir)
    sample = cm.tokenizer(
        ["a short text", "a somewhat longer text to trace the graph with"],
        padding=True,
        return_tensors="pt",
    )
    batch = torch.export.Dim("batch")
    seq = torch.export.Dim("sequence", max=cm.max_length if cm.max_length > 2 else 512)
    return (
        LogitsAndEmbedding(cm.model.float().eval()),
        (sample["input_ids"], sample["attention_mask"]),
        ["input_ids", "attention_mask"],
        ["logits", EMBEDDING_OUTPUT],
        {"input_ids": {0: batch, 1: seq}, "attention_mask": {0: batch, 1: seq}},
    )


def _image_graph(model_dir: Path) -> tuple[torch.nn.Module, tuple, list[str], list[str], dict]:
    """The image model's wrapper and a sample batch of two (a batch of one would fix the axis
    at 1)."""
    from ..models.hf_image import load_trained_image

    cm = load_trained_image(model_dir)
    f = cm.featurizer
    sample = torch.zeros(2, f.channels, f.height, f.width)
    batch = torch.export.Dim("batch")
    return (
        PixelsToLogits(cm.model.float().eval()),
        (sample,),
        ["pixel_values"],
        ["logits"],
        {"pixel_values": {0: batch}},
    )


def export_onnx(model_dir: Path, out_dir: Path) -> Path:
    """``out_dir/model.onnx`` (fp32, one file) with the tokenizer (or the image metadata) and
    labels beside it; dynamic batch axis, and dynamic sequence axis for text. A tfidf-linear
    model goes through skl2onnx (:mod:`tuneforge.compress.tfidf_export`), a char-cnn through
    its own graph (:func:`tuneforge.models.char_cnn.export_char_cnn_onnx`)."""
    from ..models.text_families import family_of_dir

    family = family_of_dir(model_dir)
    if family is not None:
        return family.function("export_onnx")(Path(model_dir), out_dir)
    build = _image_graph if artifact_task(model_dir) == "image" else _text_graph
    wrapper, sample, input_names, output_names, dynamic_shapes = build(model_dir)
    wrapper.eval()  # the exporter restores the wrapper's mode: eval, or dropout stays on
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                wrapper,
                sample,
                str(out_dir / "model.onnx"),
                input_names=input_names,
                output_names=output_names,
                dynamic_shapes=dynamic_shapes,
                dynamo=True,
                external_data=False,
                verbose=False,  # else it prints its steps to stdout, into `--json` output
            )
    except Exception as exc:  # the exporter raises many internal types
        raise ModelError(f"ONNX export of {model_dir} failed: {exc}") from exc
    copy_tokenizer_and_meta(model_dir, out_dir, format="onnx", variant="onnx-fp32")
    return out_dir
