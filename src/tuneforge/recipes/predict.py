"""predict: a finished run's model on texts or images given directly or read from a file."""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..batch.engines import ENGINES, EngineOptions
from ..batch.job import BatchJob
from ..data.parts import PartWriter
from ..data.stream import CHUNK_ROWS, list_stream
from ..errors import DataError
from ..predict import load_predictor
from ..store import resolve_model
from ..tasks import open_task
from ..types import Prediction, Predictor
from .calibrate import uncalibrated_note


def predict_run(
    ref: str,
    runs_dir: Path,
    inputs: list[str],
    input_file: str | None = None,
    *,
    options: dict | None = None,
    top_k: int = 1,
    log: Callable[[str], None] = lambda m: print(m, file=sys.stderr),
    abstain: dict | None = None,
) -> tuple[list[str], list[Prediction], str]:
    """Predict ``inputs`` plus those read from ``input_file``: texts for a text run, image
    paths for an image run (``options``: text_column, image_column, format). Returns the
    inputs, their predictions and what the inputs are (``text`` or ``image``). A model
    without a fitted temperature is said so through ``log``, once. ``abstain`` (score,
    threshold, recall, unknown_label): inputs below the out-of-scope threshold get the
    unknown label; the request is checked before anything is read or predicted."""
    _, artifact = resolve_model(ref, runs_dir)
    predictor, abstainer = open_predictor(ref, artifact, abstain, log)
    task = open_task(predictor)
    items = task.inputs(list(inputs), input_file, options or {})
    if not items:
        raise DataError(
            f"Nothing to predict: no {task.input_noun}s given and none read from the input."
        )
    model = abstainer if abstainer is not None else predictor
    return items, model.predict(items, top_k=top_k), task.input_noun


def open_predictor(
    ref: str, artifact: Path, abstain: dict | None, log: Callable[[str], None]
) -> tuple[Predictor, Any]:
    """The predictor of ``artifact`` and, with ``abstain`` (score, threshold, recall,
    unknown_label), its checked abstention rule; says once when the model has no fitted
    temperature. What `predict` and `evaluate` both start with."""
    predictor = load_predictor(artifact)
    abstainer = None
    if abstain is not None:
        from ..evaluate.abstain import plan_abstention

        abstainer = plan_abstention(predictor, artifact, **abstain, run_ref=ref)
    note = uncalibrated_note(predictor, ref)
    if note:
        log(note)
    return predictor, abstainer


@dataclass(frozen=True)
class PredictedFile:
    """What `predict --input --output` did: ``rows`` written in all (``resumed_from`` of
    them by the job it resumed), how long this job took, and whether the output was complete
    already (``--resume`` on a finished job: nothing done)."""

    output: Path
    rows: int
    resumed_from: int
    seconds: float
    complete_already: bool = False


def predict_file(
    ref: str,
    runs_dir: Path,
    input_file: str | None,
    output: Path,
    *,
    given: list[str] | None = None,
    options: dict | None = None,
    top_k: int = 1,
    abstain: dict | None = None,
    resume: bool = False,
    overwrite: bool = False,
    chunk_rows: int | None = None,
    engine: str = "local",
    engine_options: EngineOptions | None = None,
    progress: Callable[[int, int | None], None] = lambda done, total: None,
    log: Callable[[str], None] = lambda m: print(m, file=sys.stderr),
) -> PredictedFile:
    """Predict every row of ``input_file`` (or the ``given`` inputs) into ``output``
    (.parquet, .csv, .jsonl) in chunks, with bounded memory whatever the input's size: rows
    keep the input's order and an ``id`` (the input's id column, else the row number).
    Chunks are written as they finish, so a stopped job goes on with ``resume``; an existing
    output is replaced only with ``overwrite``, and only once the new one is whole. ``engine``
    (``local``, ``ray``) runs the predictions in this process or on a Ray cluster: the same
    output either way."""
    if chunk_rows is not None and chunk_rows < 1:
        raise DataError(f"--chunk-rows must be at least 1, not {chunk_rows}.")
    if engine not in ENGINES:
        raise DataError(f"Unknown engine '{engine}'.", hint=f"Choose one of: {', '.join(ENGINES)}.")
    _, artifact = resolve_model(ref, runs_dir)
    predictor, abstainer = open_predictor(ref, artifact, abstain, log)
    stream = _input_stream(open_task(predictor), input_file, given or [], options or {})
    job = BatchJob(
        str(Path(artifact).resolve()),
        top_k,
        _chosen(abstainer, abstain),
        stream.input_name,
        stream.id_name == "row",
    )
    identity = {**stream.identity, "model": job.artifact, "top_k": top_k, "abstain": abstain}
    writer = PartWriter(output, identity, resume=resume, overwrite=overwrite)
    if writer.complete:
        return PredictedFile(output, 0, 0, 0.0, complete_already=True)
    started, first = time.perf_counter(), writer.done
    progress(first, stream.total)
    model = abstainer if abstainer is not None else predictor
    tables = ENGINES[engine](
        job, stream, first, chunk_rows or CHUNK_ROWS, engine_options or EngineOptions(), model
    )
    for table in tables:
        writer.write(table)
        progress(writer.done, stream.total)
    if writer.done == 0:
        raise DataError(f"Nothing to predict: {input_file or 'the input'} has no rows.")
    writer.finish()
    return PredictedFile(output, writer.done, first, time.perf_counter() - started)


def _chosen(abstainer: Any, asked: dict | None) -> dict | None:
    """The abstention as every worker must apply it: the threshold this process chose."""
    if abstainer is None or asked is None:
        return None
    rule = abstainer.rule
    return {"score": rule.score, "threshold": rule.threshold, "unknown_label": rule.unknown_label}


def _input_stream(task: Any, input_file: str | None, given: list[str], options: dict) -> Any:
    if input_file and given:
        raise DataError(
            f"Give {task.input_noun}s or --input, not both, when writing to --output.",
            hint="Put the extra inputs into the file, or predict them in a second call.",
        )
    if input_file:
        return task.input_stream(input_file, options)
    items = task.inputs(given, None, options)
    digest = hashlib.sha256("\n".join(items).encode("utf-8")).hexdigest()
    return list_stream(items, task.input_noun, {"inputs": digest})
