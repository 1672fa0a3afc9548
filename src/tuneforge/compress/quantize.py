"""int8 quantisation of an exported ONNX model with onnxruntime's own tools.

Text and image models go through the same two functions; only the static quantiser's
calibration batches (token ids or normalised pixels) and the operators it quantises differ.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import ModelError
from ..predict import artifact_task
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
    # Image models: the dense layers only (onnxruntime turns their Gemm into MatMul). They hold
    # nearly all of a compact CNN's weights, while dynamic ConvInteger has no fast CPU kernel:
    # on MNIST-5k (default CNN) quantising Conv as well cut throughput from 6100 to 1100
    # images/s for 0.06 MB less, at the same accuracy (95.8%).
    op_types = ["MatMul"] if artifact_task(onnx_dir) == "image" else None
    quantize_dynamic(
        str(source),
        str(target),
        op_types_to_quantize=op_types,
        weight_type=QuantType.QInt8,
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )
    copy_tokenizer_and_meta(onnx_dir, out_dir, format="onnx", variant="onnx-int8-dynamic")
    return out_dir


class _Calibration:
    """Feeds tokenised calibration texts to onnxruntime's static quantiser, one batch at a time.

    Every batch has the same shape, padded to the longest text: histogram calibration stacks
    the activations of all batches. Only full batches go (the remainder, at most
    batch_size - 1 texts, is left out), as for images.
    """

    def __init__(self, tokenizer, texts: Sequence[str], max_length: int, batch_size: int = 16):
        lengths = tokenizer(list(texts), truncation=True, max_length=max_length)["input_ids"]
        width = max(len(ids) for ids in lengths)
        size = min(batch_size, len(texts))
        self.batches = []
        for start in range(0, len(texts) - size + 1, size):
            enc = tokenizer(
                list(texts[start : start + size]),
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


class _ImageCalibration:
    """Feeds calibration images to the static quantiser as normalised ``pixel_values`` batches,
    prepared by the artifact's own featurizer exactly as at prediction time.

    Only full batches: histogram calibration stacks the activations of all batches, which needs
    one batch size (the remainder, at most batch_size - 1 images, is left out).
    """

    def __init__(self, featurizer, images: Sequence, batch_size: int = 16) -> None:
        size = min(batch_size, len(images))
        self.batches = [
            {"pixel_values": featurizer.tensor(list(images[i : i + size])).numpy()}
            for i in range(0, len(images) - size + 1, size)
        ]
        self._iter = iter(self.batches)

    def get_next(self):
        return next(self._iter, None)

    def rewind(self) -> None:
        self._iter = iter(self.batches)


def _calibration_reader(onnx_dir: Path, calibration: Sequence):
    """The calibration reader and the operators to quantise, for a text or an image model."""
    import json

    meta = json.loads((onnx_dir / "tuneforge.json").read_text(encoding="utf-8"))
    if artifact_task(onnx_dir) == "image":
        from ..data.image_features import ImageFeaturizer

        # Convolutions and the dense head carry almost all of a CNN's compute; ReLU and
        # max-pool commute with the quantisation grid, so they gain nothing from it.
        return _ImageCalibration(ImageFeaturizer.from_meta(meta), calibration), [
            "Conv",
            "MatMul",
            "Gemm",
        ]
    from ..models import load_tokenizer

    tokenizer = load_tokenizer(onnx_dir)
    # Only the matrix multiplies: quantising softmax, GELU and layer-norm inputs of a BERT
    # cost 40 accuracy points on the demo model, for little speed.
    return _Calibration(tokenizer, calibration, meta["max_length"]), ["MatMul", "Gemm"]


def quantize_int8_static(onnx_dir: Path, out_dir: Path, calibration: Sequence) -> Path:
    """Weights and activations int8, activation ranges calibrated on ``calibration``: texts
    for a text model, images (uint8 arrays or image files) for an image model."""
    import onnx
    from onnxruntime.quantization import (
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    if len(calibration) == 0:
        raise ModelError("Static int8 quantisation needs calibration examples; none were given.")
    source, target = _prepare(onnx_dir, out_dir)
    reader, op_types = _calibration_reader(onnx_dir, calibration)
    quantize_static(
        str(source),
        str(target),
        reader,
        quant_format=QuantFormat.QDQ,
        activation_type=QuantType.QInt8,
        weight_type=QuantType.QInt8,
        per_channel=True,
        op_types_to_quantize=op_types,
        calibrate_method=CalibrationMethod.Percentile,
        extra_options={
            "DefaultTensorType": onnx.TensorProto.FLOAT,
            "ActivationSymmetric": True,
            "CalibPercentile": 99.99,
        },
    )
    copy_tokenizer_and_meta(onnx_dir, out_dir, format="onnx", variant="onnx-int8-static")
    return out_dir
