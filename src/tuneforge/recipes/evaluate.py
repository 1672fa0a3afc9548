"""evaluate: a finished run's model on any labelled file or image source.

Which reader applies (a labelled table, or an image folder / path table / IDX / pixel CSV) is
the run's task; options not given (an image column, a pixel CSV's shape) default to those the
run was trained with.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..evaluate import EvalReport, evaluate
from ..predict import load_predictor
from ..store import resolve_model
from ..tasks import open_task


def evaluate_run(
    ref: str,
    runs_dir: Path,
    data_file: str,
    options: dict | None = None,
    slices: Sequence[str] = (),
) -> tuple[EvalReport, Path]:
    """Evaluate the model of ``ref`` on ``data_file``; writes ``eval-<file stem>.json`` in the
    run. ``options``: text_column, label_column, format, delimiter, image_column, image_shape,
    labels_file (None values are ignored). ``slices``: columns of the file to evaluate per
    value (text runs), checked before the model predicts anything."""
    run, artifact = resolve_model(ref, runs_dir)
    predictor = load_predictor(artifact)
    task = open_task(predictor)
    slices = tuple(dict.fromkeys(slices))
    task.check_slices(slices)
    trained = run.read_config_section("data")
    given = {k: v for k, v in (options or {}).items() if v is not None}
    merged = {k: trained.get(k) for k in ("image_column", "image_shape")} | given
    merged["slice_columns"] = slices
    examples = task.labelled(data_file, predictor.labels, merged)
    seed = run.read_config_section("train").get("seed", 0)
    report = evaluate(
        predictor,
        examples,
        split=Path(data_file).name,
        source=data_file,
        slices=slices,
        seed=seed if isinstance(seed, int) else 0,
    )
    out = run.eval_file_path(data_file)
    run.write_json(out.name, report.to_dict())
    return report, out
