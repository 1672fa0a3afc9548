"""ONNX export of a char-cnn model (:mod:`tuneforge.models.char_cnn`): the network from
``input_ids`` (N × characters, int64; dynamic batch and length) to ``logits``, with its
char_cnn.json (vocabulary) beside it, so the ONNX predictor maps characters as training did."""

from __future__ import annotations

from pathlib import Path

from ..errors import ModelError


def export_char_cnn_onnx(model_dir: Path, out_dir: Path) -> Path:
    """``model.onnx`` from ``input_ids`` (dynamic batch and length) to ``logits``."""
    import warnings

    import torch

    from ..models.char_cnn import CONFIG_FILE, encode, load_char_cnn
    from .export import copy_tokenizer_and_meta

    cm = load_char_cnn(model_dir)
    sample = torch.from_numpy(encode(["一个样本", "another sample text"], cm.index, 64))
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # The TorchScript exporter: this graph (embedding, convolutions, max, dense) needs
            # nothing of torch.export, and it exports in half a second instead of 10-20 s.
            torch.onnx.export(
                cm.network.eval(),
                (sample,),
                str(out_dir / "model.onnx"),
                input_names=["input_ids"],
                output_names=["logits"],
                dynamic_axes={"input_ids": {0: "batch", 1: "chars"}, "logits": {0: "batch"}},
                dynamo=False,
                verbose=False,
            )
    except Exception as exc:  # the exporter raises many internal types
        raise ModelError(f"ONNX export of {model_dir} failed: {exc}") from exc
    (out_dir / CONFIG_FILE).write_text((Path(model_dir) / CONFIG_FILE).read_text("utf-8"))
    copy_tokenizer_and_meta(Path(model_dir), out_dir, format="onnx", variant="onnx-fp32")
    return out_dir
