"""export: one release variant of a run's model, checked against the trained model.

Text and image runs share every step; the run's task says where it keeps its examples
(``data/<split>.jsonl`` or ``.npz``) and which variants exist for it. An exact variant (HF copy,
ONNX fp32) that does not reproduce the trained model is refused loudly.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..compress.parity import EXACT_MAX_PROB_DIFF, EXACT_MIN_AGREEMENT, ParityReport, check_parity
from ..compress.variants import VARIANTS, VariantSource, build_variant, variant_for_export
from ..errors import ConfigError, GateError, RunError, TuneforgeError
from ..models.card import run_card_facts, write_model_card
from ..predict import load_predictor
from ..store import RunDir, resolve_run
from ..store.rundir import artifact_parity_path
from ..tasks import open_task
from ..types import Example, ImageExample


class ParityError(GateError):
    """An export that should reproduce the trained model does not."""


def run_examples(run: RunDir, split: str) -> list[Example] | list[ImageExample]:
    """The examples of ``split`` the run kept in data/<split>.jsonl (images: .npz); for older
    text runs without them, rebuilt from the run's config, but only if the data fingerprint
    proves they match."""
    task = open_task(run)
    path = run.split_path(split, task.split_suffix)
    if path.is_file():
        return task.load_split(path)
    if task.name != "text":
        raise RunError(
            f"Run '{run.run_id}' saved no {split} {task.input_noun}s ({path} is missing).",
            hint=f"Retrain the run: {task.name} runs keep their splits in data/<split>"
            f"{task.split_suffix}.",
        )
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


def variant_source(run: RunDir) -> VariantSource:
    """What the variant builders read of ``run``."""
    return VariantSource(
        model_dir=run.saved_model_dir(),
        artifact_dir=run.variant_dir,
        examples=lambda split: run_examples(run, split),
    )


def is_private_run(run: RunDir) -> bool:
    """Whether ``run`` was trained with differential privacy (status.json says so)."""
    return isinstance(run.status().get("privacy"), dict)


def check_private_variant(run: RunDir, variant: str) -> None:
    """A ConfigError for a variant that would read a private run's training examples again
    (static int8 calibration, distillation): what it learns from them is outside the ε."""
    found = VARIANTS.get(variant)
    if found is not None and found.reads_train and is_private_run(run):
        raise ConfigError(
            f"Run '{run.run_id}' was trained with differential privacy; variant '{variant}' "
            "would read its training examples again outside the privacy budget.",
            hint="Use a variant built from the model alone: onnx-fp32, onnx-int8-dynamic, "
            "torch-bf16.",
        )


def build_run_variant(run: RunDir, variant: str, out_dir: Path) -> Path:
    """Build ``variant`` of ``run`` into ``out_dir``, refusing variants its task lacks and,
    for a private run, variants that read its training examples."""
    open_task(run).check_variants([variant], run.run_id)
    check_private_variant(run, variant)
    return build_variant(variant_source(run), variant, out_dir)


def record_parity(run: RunDir, report: ParityReport) -> None:
    parity = run.read_json(run.parity_path.name) or {}
    parity[report.variant] = report.to_dict()
    run.write_json(run.parity_path.name, parity)


def card_facts(run: RunDir, report: ParityReport) -> dict:
    """What an exported artifact's card states beyond the artifact itself: the run's facts,
    the trained model's evaluation and this variant's parity with it."""
    method = run.read_config_section("method").get("name")
    evaluation = run.read_json(run.eval_path.name)
    return run_card_facts(run.status(), evaluation, method=method, parity=report.to_dict())


def export_run(
    ref: str, runs_dir: Path, fmt: str, quantize: str = "none", output: str | None = None
) -> tuple[Path, ParityReport]:
    """Export, check parity against the trained model, record it; fail on a broken exact export."""
    variant = variant_for_export(fmt, quantize)
    run = resolve_run(ref, runs_dir)
    open_task(run).check_variants([variant.name], run.run_id)  # a kind without it says why
    out_dir = Path(output) if output else run.variant_dir(variant.name)
    samples = parity_samples(run)
    reference = load_predictor(run.saved_model_dir())
    built = build_run_variant(run, variant.name, out_dir)
    report = check_parity(
        reference, load_predictor(built), samples, variant.name, exact=variant.exact
    )
    artifact_parity_path(built).write_text(
        json.dumps(report.to_dict(), indent=1, ensure_ascii=False), "utf-8"
    )
    write_model_card(built, card_facts(run, report))
    record_parity(run, report)
    if not report.passed:
        raise ParityError(
            f"{variant.name} export in {built} does not reproduce the trained model: agreement "
            f"{report.agreement:.4f} (need ≥ {EXACT_MIN_AGREEMENT}), max probability difference "
            f"{report.max_abs_prob_diff:.2e} (need ≤ {EXACT_MAX_PROB_DIFF:.0e}) on {report.n} "
            "test examples.",
            hint="Do not ship it; see parity.json, and report the model architecture.",
        )
    return built, report
