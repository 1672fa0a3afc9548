"""check_parity: does an artifact reproduce the trained model's predictions?"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from ..types import Example, ImageExample, Predictor
from .gate import discordant_counts

# Exports that should be numerically the same model (HF copy, ONNX fp32).
EXACT_MIN_AGREEMENT = 0.999
EXACT_MAX_PROB_DIFF = 1e-3
EXACT_MIN_COSINE = 0.999  # of an exact export's embeddings to the trained model's
EMBEDDING_SAMPLES = 256  # texts whose embeddings are compared (a second pass each)


def model_inputs(samples: Sequence[Example | ImageExample]) -> list:
    """What a predictor takes for each example: its text, or its pixels (decoded if lazy)."""
    from ..data.image_files import pixels_of

    return [e.text if isinstance(e, Example) else pixels_of(e) for e in samples]


@dataclass(frozen=True)
class ParityReport:
    """Agreement and probability differences of a candidate against the reference model."""

    variant: str
    n: int
    agreement: float
    max_abs_prob_diff: float
    mean_abs_prob_diff: float
    reference_accuracy: float
    candidate_accuracy: float
    accuracy_delta: float
    exact: bool
    passed: bool
    reference_only_correct: int | None = None  # examples only the reference gets right
    candidate_only_correct: int | None = None  # examples only the candidate gets right
    embedding_min_cosine: float | None = None  # both embed: the worst of the compared texts
    embedding_mean_cosine: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def check_parity(
    reference: Predictor,
    candidate: Predictor,
    samples: Sequence[Example | ImageExample],
    variant: str,
    exact: bool,
) -> ParityReport:
    """Compare on ``samples``; ``exact`` variants must meet the exact-export tolerance."""
    if tuple(reference.labels) != tuple(candidate.labels):
        return ParityReport(variant, len(samples), 0.0, 1.0, 1.0, 0.0, 0.0, -1.0, exact, False)
    inputs = model_inputs(samples)
    ref = reference.predict_proba(inputs)
    cand = candidate.predict_proba(inputs)
    index = {n: i for i, n in enumerate(reference.labels)}
    truth = np.array([index.get(e.label, -1) for e in samples])
    diff = np.abs(ref - cand)
    agreement = float((ref.argmax(1) == cand.argmax(1)).mean()) if len(inputs) else 1.0
    ref_acc = float((ref.argmax(1) == truth).mean()) if len(inputs) else 0.0
    cand_acc = float((cand.argmax(1) == truth).mean()) if len(inputs) else 0.0
    max_diff = float(diff.max()) if diff.size else 0.0
    cosines = embedding_cosines(reference, candidate, inputs)
    same_vectors = cosines is None or float(cosines.min()) >= EXACT_MIN_COSINE
    passed = (not exact) or (
        agreement >= EXACT_MIN_AGREEMENT and max_diff <= EXACT_MAX_PROB_DIFF and same_vectors
    )
    b, c = discordant_counts(truth, ref.argmax(1), cand.argmax(1))
    return ParityReport(
        variant=variant,
        n=len(samples),
        agreement=agreement,
        max_abs_prob_diff=max_diff,
        mean_abs_prob_diff=float(diff.mean()) if diff.size else 0.0,
        reference_accuracy=ref_acc,
        candidate_accuracy=cand_acc,
        accuracy_delta=cand_acc - ref_acc,
        exact=exact,
        passed=passed,
        reference_only_correct=b,
        candidate_only_correct=c,
        embedding_min_cosine=None if cosines is None else float(cosines.min()),
        embedding_mean_cosine=None if cosines is None else float(cosines.mean()),
    )


def embedding_cosines(
    reference: Predictor, candidate: Predictor, inputs: list
) -> np.ndarray | None:
    """Cosine of each text's embedding by the candidate to the reference's, over the first
    ``EMBEDDING_SAMPLES`` inputs; None unless both embed (an export's vectors serve /v1/embed,
    /v1/similar and the Mahalanobis score, so they are checked like its probabilities)."""
    both = getattr(reference, "embeds", False) and getattr(candidate, "embeds", False)
    if not both or not inputs:
        return None
    part = inputs[:EMBEDDING_SAMPLES]
    ref, cand = (np.asarray(p.embed(part), dtype=np.float64) for p in (reference, candidate))
    ref /= np.maximum(np.linalg.norm(ref, axis=1, keepdims=True), 1e-12)
    cand /= np.maximum(np.linalg.norm(cand, axis=1, keepdims=True), 1e-12)
    return (ref * cand).sum(axis=1)
