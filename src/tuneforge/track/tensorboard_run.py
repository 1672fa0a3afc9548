"""TensorBoard: one tuneforge run is one event folder, ``<DIR>/<run id>`` (a study's trials
in ``<DIR>/<study>/<trial run>``), so ``tensorboard --logdir DIR`` lists them side by side.

Scalars carry the names of metrics.jsonl (``train/loss``, ``val/macro_f1``) at the training
step; the evaluation is ``eval/<name>``. The config and tags are text; TensorBoard has no
artifacts, so the run's report and eval files are copied into ``files/`` of the folder.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from .backends import metric_items
from .session import RunFacts


class TensorBoardRun:
    """The event files of one run (``handle``: its folder)."""

    def __init__(self, root: str, facts: RunFacts, parent: Path | None = None) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.handle = Path(parent or root) / facts.run_id
        self.writer = SummaryWriter(log_dir=str(self.handle))
        if facts.params:
            self.writer.add_text("config", _as_code(facts.params), 0)
        if facts.tags:
            rows = "\n".join(f"| {k} | {v} |" for k, v in sorted(facts.tags.items()))
            self.writer.add_text("tags", f"| tag | value |\n|---|---|\n{rows}", 0)

    def log_metrics(self, record: dict) -> None:
        step = int(record["step"])
        for name, value in metric_items(record):
            self.writer.add_scalar(name, value, step)

    def log_evaluation(self, split: str, figures: dict[str, float], step: int) -> None:
        for name, value in figures.items():
            self.writer.add_scalar(f"eval/{name}", value, step)
        self.writer.add_text("eval_split", split, step)

    def log_values(self, values: dict[str, float], step: int) -> None:
        for name, value in values.items():
            self.writer.add_scalar(name, value, step)

    def log_files(self, paths: Sequence[Path]) -> None:
        folder = self.handle / "files"
        folder.mkdir(parents=True, exist_ok=True)
        for path in paths:
            shutil.copy2(path, folder / path.name)

    def end(self, state: str) -> None:
        self.writer.add_text("state", state)
        self.writer.close()


def _as_code(params: dict) -> str:
    """The config as YAML in a Markdown code block (TensorBoard renders text as Markdown)."""
    import yaml

    text = yaml.safe_dump(params, sort_keys=False, allow_unicode=True)
    return "\n".join("    " + line for line in text.splitlines())
