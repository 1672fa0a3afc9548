"""A keyword text run and a bar-image CNN, each with its ONNX exports: models with enough
signal that attributions have a sign worth testing."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..conftest import train_tiny_run


@pytest.fixture(scope="session")
def text_artifacts(tiny_model_dir, tmp_path_factory) -> dict[str, Path]:
    """``model`` (torch), ``onnx`` (fp32 export) and ``int8`` (dynamic int8) directories."""
    from tuneforge.compress.export import export_onnx
    from tuneforge.compress.quantize import quantize_int8_dynamic

    root = tmp_path_factory.mktemp("explain-text")
    model = train_tiny_run(root, tiny_model_dir, "kw") / "kw" / "artifacts" / "model"
    onnx = export_onnx(model, root / "onnx")
    return {"model": model, "onnx": onnx, "int8": quantize_int8_dynamic(onnx, root / "int8")}


@pytest.fixture(scope="session")
def bar_artifacts(tmp_path_factory) -> dict:
    """The tiny bar CNN saved (``model``) and exported (``onnx``), with its images."""
    from tuneforge.compress.export import export_onnx
    from tuneforge.models.cnn import save_cnn

    from ..tiny_images import bar_images, train_tiny_cnn

    root = tmp_path_factory.mktemp("explain-images")
    images = bar_images(24)
    model = save_cnn(train_tiny_cnn(images, steps=30), root / "model")
    return {"model": model, "onnx": export_onnx(model, root / "onnx"), "images": images}
