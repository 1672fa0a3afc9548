"""Release stage: export (HF, ONNX), quantise (int8 dynamic/static, bf16), check parity."""

from .export import export_hf, export_onnx, export_torch_bf16
from .parity import ParityReport, check_parity
from .quantize import quantize_int8_dynamic, quantize_int8_static

__all__ = [
    "ParityReport",
    "check_parity",
    "export_hf",
    "export_onnx",
    "export_torch_bf16",
    "quantize_int8_dynamic",
    "quantize_int8_static",
]
