"""Release stage: export (HF, ONNX), quantise (int8 dynamic/static, bf16), distil, check parity.

The variant table (:mod:`.variants`) is light; the exporters import torch and onnxruntime, so
they load on first use (PEP 562) and ``tuneforge --help`` can list the variants without them.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ParityReport": "parity",
    "check_parity": "parity",
    "export_hf": "export",
    "export_onnx": "export",
    "export_torch_bf16": "export",
    "quantize_int8_dynamic": "quantize",
    "quantize_int8_static": "quantize",
    "VARIANTS": "variants",
    "build_variant": "variants",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'tuneforge.compress' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
