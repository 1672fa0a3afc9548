"""finetune: data → run directory with a trained, evaluated, reported, saved model.

Texts and images go through the same steps; what differs (reading the data, building, saving
and loading the model, the baseline, the monitoring profile, the kept splits) lives in
:mod:`tuneforge.recipes.tasks`. Everything that can be checked (model directory, data, columns,
labels, image shapes) is checked before the run directory is created, so bad input never leaves
a half-made run behind.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import random
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..config import RunConfig, dump_config, load_config, to_dict
from ..data import detect_task
from ..errors import RunError, RunPruned
from ..evaluate import EvalReport, evaluate
from ..store import RunDir, RunStore, default_store_url, new_run_id, resolve_run
from ..train import TrainResult, fit
from ..train.defaults import resolve_train
from ..train.distributed import init_distributed, shutdown
from ..train.precision import resolve_device, resolve_precision
from .tasks import ImageTask, TextTask, open_task, starts_pretrained

PACKAGES = ("tuneforge", "torch", "transformers", "tokenizers", "scikit-learn", "numpy")


@dataclass
class FinetuneResult:
    run_id: str
    run_dir: Path
    eval: EvalReport
    train: TrainResult


def set_seed(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def git_sha() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def package_versions() -> dict[str, str]:
    versions = {"python": sys.version.split()[0]}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return versions


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def run_finetune(
    cfg: RunConfig,
    *,
    resume: str | None = None,
    progress: bool = True,
    log: Callable[[str], None] = lambda m: print(m, file=sys.stderr),
    on_validation: Callable[[dict], None] | None = None,
) -> FinetuneResult | None:
    """Train, evaluate, report and save; the run is recorded in the store whatever happens.

    ``on_validation`` sees every validation record (a search uses it to prune weak trials by
    raising :class:`RunPruned`; the run is then recorded as ``pruned``). Under ``torchrun``
    every process trains its shard of each batch; rank 0 alone writes the run, and the other
    ranks return None.
    """
    dist = init_distributed()
    runs_dir = Path(cfg.runs_dir)
    previous: RunDir | None = None
    if resume:
        previous = resolve_run(resume, runs_dir)
        state = previous.status().get("state")
        if state == "succeeded":
            raise RunError(
                f"Run '{previous.run_id}' already succeeded; there is nothing to resume."
            )
        cfg = replace(load_config(previous.config_path), runs_dir=str(runs_dir))
    # The task and the resolved training values (learning rate, batch size, ...) go into
    # config.yaml: the run states what it trained with.
    task_name = detect_task(cfg.data)
    pretrained = starts_pretrained(cfg, task_name)
    cfg = replace(
        cfg,
        data=replace(cfg.data, task=task_name),
        train=resolve_train(cfg.train, task_name, cfg.method.name, pretrained),
    )
    task = open_task(cfg)
    data = task.load_data()
    if not dist.is_main:
        _help_train(task, data, previous)
        return None
    for warning in task.warnings(data):
        log(warning)

    if previous is not None:
        rd, run_id = previous, previous.run_id
    else:
        run_id = new_run_id(cfg.name)
        rd = RunDir.create(runs_dir, run_id)
        dump_config(cfg, rd.config_path)
    store = RunStore(default_store_url(runs_dir))
    precision = resolve_precision(cfg.train.precision, resolve_device())
    store.start(
        run_id,
        cfg.name or run_id,
        str(rd.path.resolve()),
        to_dict(cfg),
        model=task.model_ref,
        git_sha=git_sha(),
        data_fingerprint=data.fingerprint,
        seed=cfg.train.seed,
        resume=previous is not None,
    )
    rd.update_status(
        run_id=run_id,
        state="running",
        created_at=rd.status().get("created_at", _now()),
        git_sha=git_sha(),
        packages=package_versions(),
        data_fingerprint=data.fingerprint,
        data_source=data.source,
        seed=cfg.train.seed,
        precision=precision,
        model_dir=task.model_ref,
        task=task.name,
        n_train=len(data.train),
        n_val=len(data.val),
        n_test=len(data.test),
    )
    task.save_splits(rd, data)
    log(
        f"run {run_id}: {len(data.train)} train / {len(data.val)} val / {len(data.test)} test, "
        f"{len(data.labels)} labels, {precision}"
    )

    def on_metrics(record: dict) -> None:
        rd.append_metrics(record)
        numeric = {k: v for k, v in record.items() if k not in ("split", "step", "epoch")}
        store.log_metrics(
            run_id,
            step=record["step"],
            epoch=record["epoch"],
            split=record["split"],
            metrics=numeric,
        )
        if on_validation is not None and record["split"] == "val":
            on_validation(record)

    def on_resume(step: int) -> None:
        log(f"resuming {run_id} from its checkpoint at step {step}")
        store.delete_metrics_after(run_id, step)
        kept = [r for r in rd.read_metrics() if r.get("step", 0) <= step]
        rd.metrics_path.write_text("".join(_json_line(r) for r in kept), encoding="utf-8")

    try:
        set_seed(cfg.train.seed)
        cm = task.build_model(data)
        result = fit(
            cm,
            data,
            cfg.train,
            checkpoint_dir=rd.checkpoint_dir,
            resume=previous is not None,
            on_metrics=on_metrics,
            on_resume=on_resume,
            progress=progress,
        )
        shutdown()  # no collective follows: the other ranks may leave
        task.save_model(cm, rd)
        # Evaluate the saved artifact, not the in-memory model: it is what users will load.
        predictor = task.predictor(rd)
        test, split = (data.test, "test") if data.test else (data.val, "val")
        report = evaluate(predictor, test, split=split, source=data.source.get(split, split))
        report.baseline = task.baseline(data.train, test)
        rd.write_json("eval.json", report.to_dict())
        rd.write_json("profile.json", task.profile(predictor, test, report.probs).to_dict())
        store.log_metrics(
            run_id,
            step=result.global_step,
            epoch=float(result.epochs_run),
            split=split,
            metrics={"accuracy": report.accuracy, "macro_f1": report.macro_f1},
        )
        rd.update_status(
            state="succeeded",
            finished_at=_now(),
            train_seconds=round(result.train_seconds, 2),
            examples_per_s=round(result.examples_per_s, 1),
            best_epoch=result.best_epoch,
            best_step=result.best_step,
            epochs_run=result.epochs_run,
            stopped_early=result.stopped_early,
            frozen_layers=result.frozen_layers,
        )
        store.finish(run_id, "succeeded")
        shutil.rmtree(rd.checkpoint_dir, ignore_errors=True)  # resume is only for unfinished runs
    except RunPruned as exc:
        rd.update_status(state="pruned", finished_at=_now(), error=str(exc))
        store.finish(run_id, "pruned", error=str(exc))
        raise
    except KeyboardInterrupt:
        rd.update_status(state="interrupted", finished_at=_now())
        store.finish(run_id, "interrupted")
        raise
    except BaseException as exc:
        rd.update_status(state="failed", finished_at=_now(), error=f"{type(exc).__name__}: {exc}")
        store.finish(run_id, "failed", error=f"{type(exc).__name__}: {exc}")
        raise
    finally:
        _write_report_safely(rd, log)
    return FinetuneResult(run_id, rd.path, report, result)


def _help_train(task: TextTask | ImageTask, data, previous: RunDir | None) -> None:
    """A non-zero rank of a distributed run: trains on its shards and writes nothing."""
    set_seed(task.cfg.train.seed)
    cm = task.build_model(data)
    try:
        fit(
            cm,
            data,
            task.cfg.train,
            checkpoint_dir=previous.checkpoint_dir if previous is not None else None,
            resume=previous is not None,
            progress=False,
        )
    finally:
        shutdown()


def _json_line(record: dict) -> str:
    return json.dumps(record, ensure_ascii=False) + "\n"


def _write_report_safely(rd: RunDir, log: Callable[[str], None]) -> None:
    from ..report import write_report

    try:
        write_report(rd.path)
    except Exception as exc:  # the report must never hide the run's own outcome
        log(f"warning: could not write {rd.report_path}: {exc}")
