"""Use a finished run: evaluate it on any labelled file, predict texts or a file of texts."""

from __future__ import annotations

from pathlib import Path

from ..data import load_examples, read_table
from ..data.sources import resolve_columns
from ..errors import DataError, RunError
from ..evaluate import EvalReport, evaluate
from ..predict import Predictor, load_predictor
from ..store import RunDir, resolve_run
from ..types import Prediction


def run_model_dir(run: RunDir) -> Path:
    """The saved model of a run (a plain model directory, or the adapter itself for methods
    that cannot merge), or a clear error when the run has none."""
    model_dir = run.model_dir
    if not any((model_dir / name).is_file() for name in ("config.json", "adapter_config.json")):
        state = run.status().get("state", "unknown")
        raise RunError(
            f"Run '{run.run_id}' has no saved model in {model_dir} (state: {state}).",
            hint="Pick a succeeded run (tuneforge runs list), or resume this one with --resume.",
        )
    return model_dir


def resolve_model(ref: str, runs_dir: Path) -> tuple[RunDir, Path]:
    """A run id, run directory or registry reference ``NAME@stage`` → (run, artifact dir)."""
    if "@" in ref and not Path(ref).exists():
        from ..store import Registry, RunStore, default_store_url

        name, stage = ref.rsplit("@", 1)
        store = RunStore(default_store_url(runs_dir))
        version = Registry(store).resolve(name, stage)
        record = store.get(version.run_id)
        run = RunDir(Path(record.run_dir)) if record else RunDir(Path(version.artifact).parents[1])
        return run, Path(version.artifact)
    run = resolve_run(ref, runs_dir)
    return run, run_model_dir(run)


def load_run_predictor(ref: str, runs_dir: Path) -> tuple[RunDir, Predictor]:
    run, artifact = resolve_model(ref, runs_dir)
    return run, load_predictor(artifact)


def evaluate_run(
    ref: str,
    runs_dir: Path,
    data_file: str,
    text_column: str | None = None,
    label_column: str | None = None,
    fmt: str | None = None,
) -> tuple[EvalReport, Path]:
    """Evaluate a run's model on a labelled file; writes ``eval-<file stem>.json`` in the run."""
    run, predictor = load_run_predictor(ref, runs_dir)
    examples = labelled_examples(data_file, predictor.labels, text_column, label_column, fmt)
    report = evaluate(predictor, examples, split=Path(data_file).name, source=data_file)
    stem = Path(data_file).name.split(".")[0]
    out = run.path / f"eval-{stem}.json"
    run.write_json(out.name, report.to_dict())
    return report, out


def labelled_examples(
    data_file: str,
    labels,
    text_column: str | None = None,
    label_column: str | None = None,
    fmt: str | None = None,
) -> list:
    """Examples of a labelled file, refusing empty texts/labels and labels the model lacks."""
    loaded = load_examples(data_file, text_column, label_column, fmt)
    empty = [e.row for e in loaded.examples if not e.text.strip() or not e.label.strip()]
    if empty:
        raise DataError(
            f"{data_file}: rows {', '.join(map(str, empty[:10]))} have an empty text or label.",
            hint="Fill or remove them (tuneforge data check FILE lists every problem).",
        )
    unseen = sorted({e.label for e in loaded.examples} - set(labels))
    if unseen:
        rows = [e.row for e in loaded.examples if e.label in set(unseen)][:10]
        raise DataError(
            f"{data_file}: labels {', '.join(map(repr, unseen[:10]))} (rows "
            f"{', '.join(map(str, rows))}) are not among the model's labels.",
            hint="Use data with the model's labels, or retrain with examples of them.",
        )
    return loaded.examples


def read_texts(path: str, text_column: str | None, fmt: str | None) -> list[str]:
    """Texts from a file for prediction: a label column is optional here."""
    frame = read_table(path, fmt)
    if text_column is None:
        try:
            text_column, _ = resolve_columns(frame, path, None, None)
        except DataError:
            text_column = "text" if "text" in frame.columns else str(frame.columns[0])
    else:
        resolve_columns(frame, path, text_column, text_column)
    return ["" if v is None else str(v) for v in frame[text_column].tolist()]


def predict_texts(
    ref: str, runs_dir: Path, texts: list[str], top_k: int = 1
) -> tuple[RunDir, list[Prediction]]:
    run, predictor = load_run_predictor(ref, runs_dir)
    return run, predictor.predict(texts, top_k=top_k)
