"""release: export a run's model to a runtime format, check it against the trained model.

Text and image runs share every step; they differ in where the run keeps its examples
(``data/<split>.jsonl`` or ``data/<split>.npz``) and in the variants that exist: torch-bf16 and
distillation are transformer techniques, so an image run refuses them when asked by name and
``compress`` skips them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..compress import (
    ParityReport,
    check_parity,
    export_hf,
    export_onnx,
    export_torch_bf16,
    quantize_int8_dynamic,
    quantize_int8_static,
)
from ..compress.export import copy_tokenizer_and_meta
from ..compress.parity import model_inputs
from ..errors import ConfigError, ModelError, RunError, TuneforgeError
from ..predict import is_image_artifact, load_predictor
from ..store import RunDir, resolve_run
from ..types import Example, ImageExample
from .use import run_model_dir

# (format, quantize) → variant name; the variant is also the artifact folder's name.
VARIANTS = {
    ("hf", "none"): "hf",
    ("hf", "bf16"): "torch-bf16",
    ("onnx", "none"): "onnx-fp32",
    ("onnx", "int8-dynamic"): "onnx-int8-dynamic",
    ("onnx", "int8-static"): "onnx-int8-static",
}
EXACT = {"hf", "onnx-fp32"}
# Variants that only exist for transformer text models.
TEXT_ONLY = {"torch-bf16", "distilled", "distilled-int8"}


class ParityError(TuneforgeError):
    """An export that should reproduce the trained model does not."""


def variant_name(fmt: str, quantize: str) -> str:
    try:
        return VARIANTS[(fmt, quantize)]
    except KeyError:
        valid = ", ".join(f"--format {f} --quantize {q}" for f, q in VARIANTS)
        raise ConfigError(
            f"--format {fmt} with --quantize {quantize} is not a variant. Valid: {valid}."
        ) from None


def run_examples(run: RunDir, split: str) -> list[Example] | list[ImageExample]:
    """The examples of ``split`` the run saved in data/<split>.jsonl (images: .npz); for older
    text runs without them, rebuilt from the run's config, but only if the data fingerprint
    proves they match."""
    images = run.path / "data" / f"{split}.npz"
    if images.is_file():
        from ..data.images import load_image_split

        return load_image_split(images)
    if is_image_artifact(run.model_dir):
        raise RunError(
            f"Run '{run.run_id}' saved no {split} images ({images} is missing).",
            hint="Retrain the run: image runs keep their splits in data/<split>.npz.",
        )
    path = run.path / "data" / f"{split}.jsonl"
    if path.is_file():
        lines = path.read_text(encoding="utf-8").splitlines()
        rows = [json.loads(line) for line in lines if line]
        return [Example(r["text"], r["label"], r.get("row", i + 1)) for i, r in enumerate(rows)]
    from ..config import load_config
    from ..data import load_dataset

    data = load_dataset(load_config(run.config_path).data)
    if data.fingerprint != run.status().get("data_fingerprint"):
        raise TuneforgeError(
            f"Run '{run.run_id}' saved no {split} examples and its data files have changed "
            "since training, so they cannot be rebuilt.",
            hint="Retrain the run, or restore the data files it was trained on.",
        )
    return getattr(data, split)


def parity_samples(run: RunDir) -> list[Example] | list[ImageExample]:
    """The run's test examples, or its validation examples when it has no test split."""
    samples = run_examples(run, "test") or run_examples(run, "val")
    if not samples:
        raise TuneforgeError(f"Run '{run.run_id}' has no test or validation examples.")
    return samples


def build_variant(run: RunDir, variant: str, out_dir: Path) -> Path:
    """Write the artifact for ``variant`` into ``out_dir``."""
    model_dir = run_model_dir(run)
    if variant in TEXT_ONLY and is_image_artifact(model_dir):
        raise ModelError(
            f"Run '{run.run_id}' is an image run: the {variant} variant is available for text "
            "(transformer) models only.",
            hint="For image models use hf, onnx-fp32, onnx-int8-dynamic or onnx-int8-static.",
        )
    if variant == "hf":
        return export_hf(model_dir, out_dir)
    if variant == "torch-bf16":
        return export_torch_bf16(model_dir, out_dir)
    if variant == "onnx-fp32":
        return export_onnx(model_dir, out_dir)
    if variant == "distilled":
        from ..compress.distill import distill

        return distill(model_dir, run_examples(run, "train"), run_examples(run, "val"), out_dir)
    if variant == "distilled-int8":
        student = run.path / "artifacts" / "distilled"
        if not (student / "config.json").is_file():
            build_variant(run, "distilled", student)
        student_onnx = run.path / "artifacts" / "distilled-onnx"
        export_onnx(student, student_onnx)
        built = quantize_int8_dynamic(student_onnx, out_dir)
        copy_tokenizer_and_meta(student, built, format="onnx", variant="distilled-int8")
        return built
    fp32 = run.path / "artifacts" / "onnx-fp32"
    if not (fp32 / "model.onnx").is_file():
        export_onnx(model_dir, fp32)
    if variant == "onnx-int8-dynamic":
        return quantize_int8_dynamic(fp32, out_dir)
    if variant == "onnx-int8-static":
        calibration = model_inputs(run_examples(run, "train")[:256])
        return quantize_int8_static(fp32, out_dir, calibration)
    raise ConfigError(f"Unknown variant '{variant}'.")


def record_parity(run: RunDir, report: ParityReport) -> None:
    parity = run.read_json("parity.json") or {}
    parity[report.variant] = report.to_dict()
    run.write_json("parity.json", parity)


def export_run(
    ref: str, runs_dir: Path, fmt: str, quantize: str = "none", output: str | None = None
) -> tuple[Path, ParityReport]:
    """Export, check parity against the trained model, record it; fail on a broken exact export."""
    variant = variant_name(fmt, quantize)
    run = resolve_run(ref, runs_dir)
    out_dir = Path(output) if output else run.path / "artifacts" / variant
    samples = parity_samples(run)
    reference = load_predictor(run_model_dir(run))
    built = build_variant(run, variant, out_dir)
    report = check_parity(
        reference, load_predictor(built), samples, variant, exact=variant in EXACT
    )
    (built / "parity.json").write_text(json.dumps(report.to_dict(), indent=1), "utf-8")
    record_parity(run, report)
    if not report.passed:
        raise ParityError(
            f"{variant} export in {built} does not reproduce the trained model: agreement "
            f"{report.agreement:.4f} (need ≥ 0.999), max probability difference "
            f"{report.max_abs_prob_diff:.2e} (need ≤ 1e-3) on {report.n} test examples.",
            hint="Do not ship it; see parity.json, and report the model architecture.",
        )
    return built, report


DEFAULT_MAX_ACCURACY_DROP = 0.5  # accuracy points a non-exact variant may lose


def variant_gate(run: RunDir, variant: str) -> str | None:
    """Why ``variant`` must not ship, or None when its recorded parity passes the gate."""
    if variant == "model":
        return None
    report = (run.read_json("parity.json") or {}).get(variant)
    if report is None:
        return f"variant '{variant}' has no parity record; export it with 'tuneforge export'"
    if not report["passed"]:
        return f"variant '{variant}' failed its parity check (agreement {report['agreement']:.4f})"
    tradeoff = run.read_json("tradeoff.json") or {}
    limit = tradeoff.get("max_accuracy_drop", DEFAULT_MAX_ACCURACY_DROP)
    drop = -100 * report["accuracy_delta"]
    if not report["exact"] and drop > limit:
        return f"variant '{variant}' loses {drop:.2f} accuracy points (limit {limit})"
    return None


def promote(ref: str, runs_dir: Path, name: str, stage: str, force: bool = False):
    """Register ``RUN[:VARIANT]`` as a new version of ``name`` in ``stage``."""
    from ..store import Registry, RunStore, default_store_url

    run_ref, _, variant = ref.partition(":")
    variant = variant or "model"
    run = resolve_run(run_ref, runs_dir)
    artifact = run_model_dir(run) if variant == "model" else run.path / "artifacts" / variant
    if not artifact.is_dir():
        raise TuneforgeError(
            f"Run '{run.run_id}' has no variant '{variant}' ({artifact} does not exist).",
            hint="Build it with 'tuneforge export' or 'tuneforge compress' first.",
        )
    problem = variant_gate(run, variant)
    if problem and not force:
        raise TuneforgeError(
            f"Refusing to promote {run.run_id}:{variant} to {name}@{stage}: {problem}.",
            hint="Pass --force to promote anyway (it is recorded as forced).",
        )
    registry = Registry(RunStore(default_store_url(runs_dir)))
    return registry.promote(
        name,
        run.run_id,
        variant,
        str(artifact.resolve()),
        stage,
        forced=bool(problem),
        note=f"forced: {problem}" if problem else None,
    )


COMPRESS_VARIANTS = (
    "model",
    "torch-bf16",
    "onnx-fp32",
    "onnx-int8-dynamic",
    "onnx-int8-static",
    "distilled",
    "distilled-int8",
)


def compress_run(
    ref: str,
    runs_dir: Path,
    variants: list[str] | None = None,
    max_accuracy_drop: float = DEFAULT_MAX_ACCURACY_DROP,
    data_file: str | None = None,
    log=print,
) -> dict:
    """Build every variant, measure them side by side, recommend the fastest within tolerance."""
    from ..compress.tradeoff import measure_variant, recommend, typical_input, write_tradeoff
    from ..report import write_report

    unknown = [v for v in variants or [] if v not in COMPRESS_VARIANTS]
    if unknown:
        raise ConfigError(f"Unknown variants {unknown}. Known: {', '.join(COMPRESS_VARIANTS)}.")
    run = resolve_run(ref, runs_dir)
    model_dir = run_model_dir(run)
    image = is_image_artifact(model_dir)
    if not variants:
        variants = [v for v in COMPRESS_VARIANTS if not (image and v in TEXT_ONLY)]
        if image:
            log(f"image run: skipping {', '.join(sorted(TEXT_ONLY))} (text models only)")
    elif image and set(variants) & TEXT_ONLY:
        raise ModelError(
            f"Run '{run.run_id}' is an image run: {', '.join(sorted(set(variants) & TEXT_ONLY))} "
            "exist for text (transformer) models only.",
            hint="Leave out --variants to build every variant an image model has.",
        )
    reference = load_predictor(model_dir)
    if data_file:
        examples, measured_on = _labelled_data(data_file, reference.labels, image), data_file
    else:
        examples = parity_samples(run)
        measured_on = f"run test split (n={len(examples)})"
    reference_probs = reference.predict_proba(model_inputs(examples))
    short_text = typical_input(examples)
    rows = []
    for variant in variants:
        log(f"building and measuring {variant} ...")
        if variant == "model":
            artifact = model_dir
        else:
            artifact = build_variant(run, variant, run.path / "artifacts" / variant)
            record_parity(
                run,
                check_parity(
                    reference, load_predictor(artifact), examples, variant, exact=variant in EXACT
                ),
            )
        rows.append(measure_variant(variant, artifact, examples, reference_probs, short_text))
    reference_accuracy = next((r.accuracy for r in rows if r.variant == "model"), None)
    if reference_accuracy is None:
        index = {n: i for i, n in enumerate(reference.labels)}
        truth = np.array([index[e.label] for e in examples])
        reference_accuracy = float((reference_probs.argmax(1) == truth).mean())
    rows, recommended = recommend(rows, reference_accuracy, max_accuracy_drop)
    data = write_tradeoff(
        run.path / "tradeoff.json", rows, recommended, max_accuracy_drop, measured_on
    )
    write_report(run.path)
    return data


def _labelled_data(data_file: str, labels, image: bool) -> list[Example] | list[ImageExample]:
    """The examples of ``--data``: a labelled text file, or for an image run any image source
    (folder, table of paths, IDX), refusing labels the model lacks."""
    from .use import labelled_examples

    if not image:
        return labelled_examples(data_file, labels)
    from ..data.images import read_images
    from ..errors import DataError

    examples = read_images(data_file).examples
    unseen = sorted({e.label for e in examples} - set(labels))
    if unseen:
        raise DataError(
            f"{data_file}: labels {', '.join(map(repr, unseen[:10]))} are not among the "
            "model's labels.",
            hint="Measure on images of the model's labels.",
        )
    if not examples:
        raise DataError(f"{data_file} holds no images.")
    return examples
