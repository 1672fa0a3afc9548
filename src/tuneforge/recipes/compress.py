"""compress: build every release variant, measure them side by side, recommend one.

Accuracy, size, memory and speed of each variant are measured on the same examples (the run's
test split, or ``--data``); the recommendation is the fastest single request within the
accuracy tolerance. Variants the run's task lacks are skipped (or refused when named).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..compress.parity import check_parity, model_inputs
from ..compress.variants import COMPRESS_VARIANTS, TRAINED, VARIANTS
from ..errors import ConfigError
from ..models.card import write_model_card
from ..predict import load_predictor
from ..store import RunDir, resolve_run
from ..tasks import Task, open_task
from .export import (
    build_run_variant,
    card_facts,
    check_private_variant,
    is_private_run,
    parity_samples,
    record_parity,
)

DEFAULT_MAX_ACCURACY_DROP = 0.5  # accuracy points a non-exact variant may lose


def chosen_variants(task: Task, run: RunDir, variants: list[str] | None, log) -> list[str]:
    """The variants to build: those named (checked), else every one the task has."""
    unknown = [v for v in variants or [] if v not in COMPRESS_VARIANTS]
    if unknown:
        raise ConfigError(f"Unknown variants {unknown}. Known: {', '.join(COMPRESS_VARIANTS)}.")
    if variants:
        task.check_variants(variants, run.run_id)
        for variant in variants:
            check_private_variant(run, variant)
        return list(variants)
    chosen = [v for v in COMPRESS_VARIANTS if v == TRAINED or task.supports_variant(VARIANTS[v])]
    skipped = sorted(set(COMPRESS_VARIANTS) - set(chosen))
    if skipped:
        log(f"{task.name} run: skipping {', '.join(skipped)} (text models only)")
    if is_private_run(run):
        reading = [v for v in chosen if v != TRAINED and VARIANTS[v].reads_train]
        chosen = [v for v in chosen if v not in reading]
        if reading:
            log(
                f"private run: skipping {', '.join(reading)} (they read the training examples "
                "outside the privacy budget)"
            )
    return chosen


def compress_run(
    ref: str,
    runs_dir: Path,
    variants: list[str] | None = None,
    max_accuracy_drop: float = DEFAULT_MAX_ACCURACY_DROP,
    data_file: str | None = None,
    log=print,
    progress: Callable[[int, int, str], None] | None = None,
) -> dict:
    """Build every variant, measure them side by side, recommend the fastest within tolerance.

    ``progress(done, total, variant)`` hears before each variant and once at the end."""
    from ..compress.tradeoff import measure_variant, recommend, typical_input, write_tradeoff
    from ..report import write_report

    run = resolve_run(ref, runs_dir)
    model_dir = run.saved_model_dir()
    task = open_task(run)
    variants = chosen_variants(task, run, variants, log)
    reference = load_predictor(model_dir)
    if data_file:
        examples, measured_on = task.labelled(data_file, reference.labels, {}), data_file
    else:
        examples = parity_samples(run)
        measured_on = f"run test split (n={len(examples)})"
    reference_probs = reference.predict_proba(model_inputs(examples))
    short_text = typical_input(examples)
    rows = []
    for done, variant in enumerate(variants):
        if progress is not None:
            progress(done, len(variants), variant)
        else:
            log(f"building and measuring {variant} ...")
        artifact = model_dir if variant == TRAINED else _built(run, variant, reference, examples)
        rows.append(measure_variant(variant, artifact, examples, reference_probs, short_text))
    reference_accuracy = next((r.accuracy for r in rows if r.variant == TRAINED), None)
    if reference_accuracy is None:
        index = {n: i for i, n in enumerate(reference.labels)}
        truth = np.array([index[e.label] for e in examples])
        reference_accuracy = float((reference_probs.argmax(1) == truth).mean())
    if progress is not None:
        progress(len(variants), len(variants), "done")
    rows, recommended = recommend(rows, reference_accuracy, max_accuracy_drop)
    data = write_tradeoff(run.tradeoff_path, rows, recommended, max_accuracy_drop, measured_on)
    write_report(run.path)
    return data


def _built(run: RunDir, variant: str, reference, examples) -> Path:
    """Build ``variant`` and record its parity against the trained model."""
    artifact = build_run_variant(run, variant, run.variant_dir(variant))
    candidate = load_predictor(artifact)
    exact = VARIANTS[variant].exact
    report = check_parity(reference, candidate, examples, variant, exact=exact)
    record_parity(run, report)
    write_model_card(artifact, card_facts(run, report))
    return artifact
