"""ONNX export of a tfidf-linear model: skl2onnx's graph of the vectorizer, then the linear layer.

skl2onnx turns the rebuilt scikit-learn vectorizer into its ONNX form (Tokenizer into single
characters, TfIdfVectorizer over 1–3-grams, idf weights, L2 normalisation); the coefficients
follow as one MatMul and Add, so the graph's output is the model's ``logits`` (N × labels) and
every runtime applies the same temperature and softmax. The graph takes ``text`` (N × 1
strings) normalised as :func:`tuneforge.models.tfidf.normalize` does (lowercase, whitespace
folded); onnxruntime's StringNormalizer is left out because it needs an installed
``en_US.UTF-8`` locale. Needs ``skl2onnx`` (the ``onnx`` extra).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ..errors import ModelError


def tfidf_graph(model_dir: Path):
    """The ONNX model of the saved tfidf-linear model in ``model_dir``."""
    from onnx import TensorProto, helper, numpy_helper

    from ..models.tfidf import load_linear

    try:
        from skl2onnx import to_onnx
        from skl2onnx.common.data_types import StringTensorType
    except ImportError as exc:
        raise ModelError(
            "Exporting a tfidf-linear model to ONNX needs skl2onnx.",
            hint="pip install skl2onnx==1.20.0",
        ) from exc
    cm = load_linear(model_dir)
    with warnings.catch_warnings():  # "only tokenizer='word' is fully supported": char is too
        warnings.simplefilter("ignore")
        model = to_onnx(
            cm.vectorizer,
            initial_types=[("text", StringTensorType([None, 1]))],
            target_opset={"": 17, "ai.onnx.ml": 3},
        )
    graph = model.graph
    features = graph.output[0].name
    weights = numpy_helper.from_array(cm.coef.T.astype(np.float32), "tfidf_linear_coef")
    bias = numpy_helper.from_array(cm.intercept.astype(np.float32), "tfidf_linear_intercept")
    graph.initializer.extend([weights, bias])
    graph.node.extend(
        [
            helper.make_node("MatMul", [features, weights.name], ["tfidf_linear_scores"]),
            helper.make_node("Add", ["tfidf_linear_scores", bias.name], ["logits"]),
        ]
    )
    del graph.output[:]
    graph.output.append(
        helper.make_tensor_value_info("logits", TensorProto.FLOAT, [None, len(cm.labels)])
    )
    return model


def export_tfidf_onnx(model_dir: Path, out_dir: Path) -> Path:
    """``out_dir/model.onnx`` with labels, calibration and metadata beside it."""
    import onnx

    from .export import copy_tokenizer_and_meta

    model = tfidf_graph(Path(model_dir))
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(out_dir / "model.onnx"))
    copy_tokenizer_and_meta(Path(model_dir), out_dir, format="onnx", variant="onnx-fp32")
    return out_dir
