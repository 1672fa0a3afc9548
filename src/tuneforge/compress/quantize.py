"""int8 quantisation of an exported ONNX model with onnxruntime's own tools."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import ModelError
from .export import copy_tokenizer_and_meta


def _prepare(src: Path, out_dir: Path) -> tuple[Path, Path]:
    source = src / "model.onnx"
    if not source.is_file():
        raise ModelError(f"{src} has no model.onnx to quantise; export to ONNX first.")
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    return source, out_dir / "model.onnx"


def quantize_int8_dynamic(onnx_dir: Path, out_dir: Path) -> Path:
    """Weights int8 ahead of time, activations quantised per batch at run time."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    source, target = _prepare(onnx_dir, out_dir)
    quantize_dynamic(
        str(source),
        str(target),
        weight_type=QuantType.QInt8,
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )
    copy_tokenizer_and_meta(onnx_dir, out_dir, format="onnx", variant="onnx-int8-dynamic")
    return out_dir


class _Calibration:
    """Feeds tokenised calibration texts to onnxruntime's static quantiser, one batch at a time.

    Every batch is padded to the same width: histogram calibration stacks the activations of
    all batches, which needs equal shapes.
    """

    def __init__(self, tokenizer, texts: Sequence[str], max_length: int, batch_size: int = 16):
        lengths = tokenizer(list(texts), truncation=True, max_length=max_length)["input_ids"]
        width = max(len(ids) for ids in lengths)
        self.batches = []
        for start in range(0, len(texts), batch_size):
            enc = tokenizer(
                list(texts[start : start + batch_size]),
                truncation=True,
                max_length=width,
                padding="max_length",
                return_tensors="np",
            )
            self.batches.append(
                {
                    "input_ids": enc["input_ids"].astype(np.int64),
                    "attention_mask": enc["attention_mask"].astype(np.int64),
                }
            )
        self._iter = iter(self.batches)

    def get_next(self):
        return next(self._iter, None)

    def rewind(self) -> None:
        self._iter = iter(self.batches)


def quantize_int8_static(onnx_dir: Path, out_dir: Path, calibration_texts: Sequence[str]) -> Path:
    """Weights and activations int8, activation ranges calibrated on ``calibration_texts``."""
    import onnx
    import transformers
    from onnxruntime.quantization import (
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    if not calibration_texts:
        raise ModelError("Static int8 quantisation needs calibration texts; none were given.")
    source, target = _prepare(onnx_dir, out_dir)
    tokenizer = transformers.AutoTokenizer.from_pretrained(onnx_dir, local_files_only=True)
    import json

    max_length = json.loads((onnx_dir / "tuneforge.json").read_text())["max_length"]
    quantize_static(
        str(source),
        str(target),
        _Calibration(tokenizer, calibration_texts, max_length),
        quant_format=QuantFormat.QDQ,
        activation_type=QuantType.QInt8,
        weight_type=QuantType.QInt8,
        per_channel=True,
        # Only the matrix multiplies: quantising softmax, GELU and layer-norm inputs of a BERT
        # cost 40 accuracy points on the demo model, for little speed.
        op_types_to_quantize=["MatMul", "Gemm"],
        calibrate_method=CalibrationMethod.Percentile,
        extra_options={
            "DefaultTensorType": onnx.TensorProto.FLOAT,
            "ActivationSymmetric": True,
            "CalibPercentile": 99.99,
        },
    )
    copy_tokenizer_and_meta(onnx_dir, out_dir, format="onnx", variant="onnx-int8-static")
    return out_dir
