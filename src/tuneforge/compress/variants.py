"""The release variants: one table of everything `export` and `compress` can build.

A row says how ``tuneforge export --format F --quantize Q`` names it, whether it must reproduce
the trained model exactly (parity gate) or may lose a little accuracy (trade-off gate), whether
it exists for image models, which variant it is built from, and the function that builds it.
Adding a variant is adding one row. The table itself imports nothing heavy, so the CLI can list
its names for ``--help`` without loading torch or onnxruntime.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError


@dataclass(frozen=True)
class VariantSource:
    """What a builder may read: the trained model, where each variant of the run lives, and the
    run's own examples of a split (train for calibration and distillation)."""

    model_dir: Path
    artifact_dir: Callable[[str], Path]
    examples: Callable[[str], Sequence]


Builder = Callable[[VariantSource, Path, Path | None], Path]


@dataclass(frozen=True)
class Variant:
    name: str
    summary: str
    build: Builder  # (source, out_dir, built artifact of `base` or None) -> out_dir
    exact: bool = False  # must reproduce the trained model within the parity tolerance
    images: bool = True  # exists for image models too
    export_as: tuple[str, str] | None = None  # (--format, --quantize) of `tuneforge export`
    base: str | None = None  # built first (and reused) when this variant starts from another
    # reads the run's training examples (calibration, distillation): outside a DP run's ε
    reads_train: bool = False


def _hf(source: VariantSource, out: Path, _base: Path | None) -> Path:
    from .export import export_hf

    return export_hf(source.model_dir, out)


def _torch_bf16(source: VariantSource, out: Path, _base: Path | None) -> Path:
    from .export import export_torch_bf16

    return export_torch_bf16(source.model_dir, out)


def _onnx(source: VariantSource, out: Path, _base: Path | None) -> Path:
    from .export import export_onnx

    return export_onnx(source.model_dir, out)


def _int8_dynamic(source: VariantSource, out: Path, base: Path | None) -> Path:
    from .quantize import quantize_int8_dynamic

    return quantize_int8_dynamic(base, out)


def _int8_static(source: VariantSource, out: Path, base: Path | None) -> Path:
    from .parity import model_inputs
    from .quantize import quantize_int8_static

    return quantize_int8_static(base, out, model_inputs(source.examples("train")[:256]))


def _int4_weights(source: VariantSource, out: Path, base: Path | None) -> Path:
    from .quantize import quantize_int4_weights

    return quantize_int4_weights(base, out)


def _distilled(source: VariantSource, out: Path, _base: Path | None) -> Path:
    from .distill import distill

    return distill(source.model_dir, source.examples("train"), source.examples("val"), out)


def _distilled_int8(source: VariantSource, out: Path, base: Path | None) -> Path:
    from .export import copy_tokenizer_and_meta, export_onnx
    from .quantize import quantize_int8_dynamic

    student_onnx = export_onnx(base, source.artifact_dir("distilled-onnx"))
    built = quantize_int8_dynamic(student_onnx, out)
    copy_tokenizer_and_meta(base, built, format="onnx", variant="distilled-int8")
    return built


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant("hf", "a standalone Hugging Face copy", _hf, exact=True, export_as=("hf", "none")),
        Variant(
            "torch-bf16",
            "bf16 weights for torch",
            _torch_bf16,
            images=False,
            export_as=("hf", "bf16"),
        ),
        Variant("onnx-fp32", "ONNX, fp32", _onnx, exact=True, export_as=("onnx", "none")),
        Variant(
            "onnx-int8-dynamic",
            "ONNX, int8 weights, activations scaled at run time",
            _int8_dynamic,
            export_as=("onnx", "int8-dynamic"),
            base="onnx-fp32",
        ),
        Variant(
            "onnx-int8-static",
            "ONNX, int8 calibrated on the run's training examples",
            _int8_static,
            export_as=("onnx", "int8-static"),
            base="onnx-fp32",
            reads_train=True,
        ),
        Variant(
            "onnx-int4",
            "ONNX, 4-bit weights in blocks of 32 (MatMul and embeddings)",
            _int4_weights,
            images=False,
            export_as=("onnx", "int4"),
            base="onnx-fp32",
        ),
        Variant(
            "distilled",
            "a student with half the blocks",
            _distilled,
            images=False,
            reads_train=True,
        ),
        Variant(
            "distilled-int8",
            "the student as int8 ONNX",
            _distilled_int8,
            images=False,
            base="distilled",
            reads_train=True,
        ),
    )
}
# The trained model itself, measured beside the variants by `compress`; never built.
TRAINED = "model"
COMPRESS_VARIANTS: tuple[str, ...] = (TRAINED, *(n for n in VARIANTS if n != "hf"))
EXPORT_FORMATS: tuple[str, ...] = tuple(
    dict.fromkeys(v.export_as[0] for v in VARIANTS.values() if v.export_as)
)
EXPORT_QUANTIZE: tuple[str, ...] = (
    "none",
    *dict.fromkeys(
        v.export_as[1] for v in VARIANTS.values() if v.export_as and v.export_as[1] != "none"
    ),
)


def get_variant(name: str) -> Variant:
    try:
        return VARIANTS[name]
    except KeyError:
        raise ConfigError(
            f"Unknown variant '{name}'.", hint=f"Known: {', '.join(COMPRESS_VARIANTS)}."
        ) from None


def variant_for_export(fmt: str, quantize: str) -> Variant:
    """The variant ``tuneforge export --format fmt --quantize quantize`` builds."""
    for variant in VARIANTS.values():
        if variant.export_as == (fmt, quantize):
            return variant
    valid = ", ".join(
        f"--format {v.export_as[0]} --quantize {v.export_as[1]}"
        for v in VARIANTS.values()
        if v.export_as
    )
    raise ConfigError(
        f"--format {fmt} with --quantize {quantize} is not a variant. Valid: {valid}."
    )


def is_built(path: Path) -> bool:
    """Whether ``path`` already holds a model (a reusable base of another variant)."""
    markers = ("model.onnx", "config.json", "cnn_config.json", "tfidf.json", "char_cnn.json")
    return any((path / name).is_file() for name in markers)


def build_variant(source: VariantSource, name: str, out_dir: Path) -> Path:
    """Write variant ``name`` into ``out_dir``, building its base variant first when missing."""
    variant = get_variant(name)
    base = None
    if variant.base is not None:
        base = source.artifact_dir(variant.base)
        if not is_built(base):
            build_variant(source, variant.base, base)
    from .quiet import quiet_exporters

    with quiet_exporters():
        return variant.build(source, out_dir, base)
