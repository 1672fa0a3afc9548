"""What one batch prediction does to a chunk: loaded once per worker, applied per chunk."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..data.stream import Chunk
from ..types import Prediction


@dataclass(frozen=True)
class BatchJob:
    """A prediction job as every worker rebuilds it: the model's artifact directory, the
    abstention rule with its threshold already chosen (so every worker applies the same one),
    the alternatives asked, and the names of the output's columns."""

    artifact: str
    top_k: int = 1
    abstain: dict | None = None
    input_name: str = "text"
    ids_are_rows: bool = True

    def open(self, threads: int = 0) -> Any:
        """The predictor (and its abstention rule) for this worker; ``threads`` for an ONNX
        session (0: onnxruntime's choice, one per core)."""
        from ..predict import load_predictor

        predictor = load_predictor(self.artifact, threads=threads)
        if self.abstain is None:
            return predictor
        from ..evaluate.abstain import plan_abstention

        return plan_abstention(predictor, self.artifact, **self.abstain)

    def rows(self, model: Any, chunk: Chunk) -> Any:
        """One chunk's predictions as an Arrow table (see :func:`prediction_rows`)."""
        predictions = model.predict(chunk.items, top_k=self.top_k)
        return prediction_rows(chunk.ids, chunk.items, predictions, self)


def prediction_rows(ids: list, inputs: list, predictions: list[Prediction], job: BatchJob) -> Any:
    """Predictions as an Arrow table: ``id`` (the input's id column as text, or the row number;
    one name whatever the source, so outputs of different inputs share a schema), the input,
    the label, its probability, the top-k alternatives, and with abstention the score and the
    verdict."""
    import pyarrow as pa

    alternatives = pa.list_(pa.struct([("label", pa.string()), ("score", pa.float64())]))
    columns = {
        "id": pa.array(ids, pa.int64() if job.ids_are_rows else pa.string()),
        job.input_name: pa.array([str(x) for x in inputs], pa.string()),
        "label": pa.array([p.label for p in predictions], pa.string()),
        "score": pa.array([p.score for p in predictions], pa.float64()),
        "top_k": pa.array(
            [[{"label": n, "score": s} for n, s in p.top_k] for p in predictions], alternatives
        ),
    }
    if job.abstain is not None:
        columns["ood_score"] = pa.array([p.ood_score for p in predictions], pa.float64())
        columns["abstained"] = pa.array([p.abstained for p in predictions], pa.bool_())
    return pa.table(columns)
