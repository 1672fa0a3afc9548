"""Measure what each variant costs and keeps: accuracy, agreement, size, memory, latency, speed.

All variants are measured in one process run on the same inputs (texts, or images for an image
model), so the numbers compare. Peak memory is taken in a fresh subprocess per variant (the only
honest way to attribute it).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..evaluate.metrics import accuracy_and_macro_f1
from ..predict import load_predictor
from ..types import Example, ImageExample, Predictor
from .gate import accuracy_gate, discordant_counts
from .parity import model_inputs


@dataclass(frozen=True)
class VariantMeasurement:
    variant: str
    accuracy: float
    macro_f1: float
    agreement: float
    size_mb: float
    peak_rss_mb: float
    p50_ms: float
    p95_ms: float
    throughput_batch32: float
    within_tolerance: bool = True
    n: int = 0
    reference_only_correct: int | None = None
    candidate_only_correct: int | None = None
    gate: str = ""  # the accuracy rule that decided within_tolerance

    def to_dict(self) -> dict:
        return asdict(self)


def artifact_size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


# VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss over from the parent across
# fork+exec, so every variant measured after a large one reported the large one's peak.
# VmHWM belongs to the new process image and starts small.
_RSS_PROBE = """
import sys
from tuneforge.predict import load_predictor
from tuneforge.tasks import open_task
p = load_predictor(sys.argv[1])
p.predict_proba([open_task(p).warmup_input(p)])
with open("/proc/self/status", encoding="ascii") as status:
    print(next(int(l.split()[1]) for l in status if l.startswith("VmHWM:")) / 1024)
"""


def peak_rss_mb(artifact: Path) -> float:
    """Peak resident memory of a fresh process that loads the artifact and predicts once."""
    out = subprocess.run(
        [sys.executable, "-c", _RSS_PROBE, str(artifact)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    try:
        return float(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return float("nan")


def latency_ms(predictor: Predictor, sample, repeats: int = 100) -> tuple[float, float]:
    """p50 and p95 of one-input requests (a text or an image), after a warm-up."""
    for _ in range(10):
        predictor.predict_proba([sample])
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        predictor.predict_proba([sample])
        times.append(1000 * (time.perf_counter() - start))
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def throughput(predictor: Predictor, texts: list, rounds: int = 2) -> float:
    """Examples per second over ``texts`` (or images) in batches of 32 (best of ``rounds``)."""
    predictor.batch_size = 32  # every tuneforge predictor batches by this attribute
    predictor.predict_proba(texts[:32])
    best = 0.0
    for _ in range(rounds):
        start = time.perf_counter()
        predictor.predict_proba(texts)
        best = max(best, len(texts) / (time.perf_counter() - start))
    return best


def typical_input(examples: list[Example] | list[ImageExample]):
    """The single-request latency sample: the median-length text, or the middle image (images
    are all one size once the featurizer has conformed them)."""
    inputs = model_inputs(examples)
    if examples and isinstance(examples[0], Example):
        return sorted(inputs, key=len)[len(inputs) // 2]
    return inputs[len(inputs) // 2]


def measure_variant(
    variant: str,
    artifact: Path,
    examples: list[Example] | list[ImageExample],
    reference_probs: np.ndarray,
    short_text,
) -> VariantMeasurement:
    """Accuracy, agreement, size, memory, latency (``short_text``: one text or image) and
    throughput of one artifact on ``examples``."""
    predictor = load_predictor(artifact)
    texts = model_inputs(examples)
    probs = predictor.predict_proba(texts)
    index = {n: i for i, n in enumerate(predictor.labels)}
    truth = [index[e.label] for e in examples]
    acc, f1 = accuracy_and_macro_f1(truth, probs.argmax(1).tolist())
    b, c = discordant_counts(truth, reference_probs.argmax(1), probs.argmax(1))
    p50, p95 = latency_ms(predictor, short_text)
    speed_texts = (texts * (1 + 320 // max(len(texts), 1)))[: max(320, min(len(texts), 2048))]
    return VariantMeasurement(
        variant=variant,
        accuracy=acc,
        macro_f1=f1,
        agreement=float((probs.argmax(1) == reference_probs.argmax(1)).mean()),
        size_mb=artifact_size_mb(artifact),
        peak_rss_mb=peak_rss_mb(artifact),
        p50_ms=p50,
        p95_ms=p95,
        throughput_batch32=throughput(predictor, speed_texts),
        n=len(examples),
        reference_only_correct=b,
        candidate_only_correct=c,
    )


def recommend(
    rows: list[VariantMeasurement], reference_accuracy: float, max_drop_points: float
) -> tuple[list[VariantMeasurement], str]:
    """Mark each variant the accuracy gate (:mod:`.gate`) passes; the fastest of those (p50)
    is chosen."""
    marked = []
    for r in rows:
        loss = 100 * (reference_accuracy - r.accuracy)
        b, c = r.reference_only_correct, r.candidate_only_correct
        decision = accuracy_gate(r.n, b, c, loss, max_drop_points)
        fields = {**r.to_dict(), "within_tolerance": decision.passed, "gate": decision.rule}
        marked.append(VariantMeasurement(**fields))
    eligible = [r for r in marked if r.within_tolerance]
    best = min(eligible, key=lambda r: (r.p50_ms, -r.throughput_batch32))
    return marked, best.variant


def write_tradeoff(path: Path, rows, recommended: str, max_drop: float, measured_on: str) -> dict:
    data = {
        "measured_on": measured_on,
        "max_accuracy_drop": max_drop,
        "recommended": recommended,
        "variants": [r.to_dict() for r in rows],
    }
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    return data


TRADEOFF_COLUMNS = (
    "variant",
    "accuracy",
    "macro-F1",
    "agreement",
    "size MB",
    "peak RSS MB",
    "p50 ms",
    "p95 ms",
    "ex/s @32",
    "within tolerance",
)


def tradeoff_rows(data: dict, recommended_mark: str) -> list[list[str]]:
    """tradeoff.json as table rows (console and report show the same figures the same way)."""
    return [
        [
            r["variant"] + (recommended_mark if r["variant"] == data.get("recommended") else ""),
            f"{r['accuracy']:.4f}",
            f"{r['macro_f1']:.4f}",
            f"{r['agreement']:.4f}",
            f"{r['size_mb']:.1f}",
            f"{r['peak_rss_mb']:.0f}",
            f"{r['p50_ms']:.2f}",
            f"{r['p95_ms']:.2f}",
            f"{r['throughput_batch32']:.0f}",
            "yes" if r["within_tolerance"] else "no",
        ]
        for r in data["variants"]
    ]
