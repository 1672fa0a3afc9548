"""train: data → run directory with a trained, evaluated, reported, saved model.

Texts and images go through the same steps; what differs (reading the data, building, saving
and loading the model, the baseline, the monitoring profile, the kept splits) is the task's
(:mod:`tuneforge.tasks`). Everything that can be checked (model directory, data, columns,
labels, image shapes) is checked before the run directory is created, so bad input never leaves
a half-made run behind; from then on :func:`tuneforge.store.record_run` records the outcome.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from ..config import RunConfig, dump_config, load_config, to_dict
from ..errors import ConfigError, RunError
from ..evaluate.baseline import baseline_verdict, verdict_message
from ..evaluate.evaluate import EvalReport, evaluate
from ..models.card import run_card_facts, write_model_card
from ..store import RunDir, RunRecorder, new_run_id, open_store, resolve_run
from ..tasks import TASKS, Task, open_task, task_name
from ..track import NO_TRACKING, RunFacts, TrackedRun, Tracking
from ..train import TrainResult, fit
from ..train.defaults import auto_epochs, resolve_train, schedule_of
from ..train.distributed import init_distributed, shutdown
from ..train.precision import resolve_device, resolve_precision
from ..train.privacy import PrivacyPlan, check_private_training, is_private, plan_privacy
from ..train.privacy import train_precision as private_precision
from ..train.seed import set_seed
from ..train.sinks import MetricSink, fan_out
from ..types import DatasetSplits
from .calibrate import calibrate_saved, check_oos_label, fit_out_of_scope


@dataclass
class TrainRunResult:
    run_id: str
    run_dir: Path
    eval: EvalReport
    train: TrainResult


def run_train(
    cfg: RunConfig,
    *,
    resume: str | None = None,
    progress: bool = True,
    log: Callable[[str], None] = lambda m: print(m, file=sys.stderr),
    on_validation: MetricSink | None = None,
    data: DatasetSplits | None = None,
    facts: dict | None = None,
    tracking: Tracking | None = None,
) -> TrainRunResult | None:
    """Train, evaluate, report and save; the run is recorded in the store whatever happens.

    ``on_validation`` sees every validation record (a search uses it to prune weak trials by
    raising :class:`RunPruned`; the run is then recorded as ``pruned``). Under ``torchrun``
    every process trains its shard of each batch; rank 0 alone writes the run, and the other
    ranks return None. ``data`` are splits already cut (a cross-validation fold) to train on
    instead of the config's files; ``facts`` go to status.json beside the run's own (a
    ``parent_run`` among them is tagged as such in the trackers). ``tracking`` (``--track``)
    is checked before anything is read or written and records the run as it trains.
    """
    if TASKS[task_name(cfg.data)].trains_itself:  # recommend: two towers, ranking evaluation
        from .recommend import train_recommender

        split_elsewhere = on_validation is not None or data is not None  # tune, --folds
        return train_recommender(  # type: ignore[return-value]
            cfg,
            resume=resume,
            progress=progress,
            log=log,
            alone=not split_elsewhere,
            tracking=tracking,
        )
    dist = init_distributed()
    tracking = tracking or NO_TRACKING
    if dist.is_main:
        tracking.check()  # an unreachable tracker: said (or refused) before any work
    previous = _previous_run(resume, Path(cfg.runs_dir))
    if previous is not None:
        cfg = replace(load_config(previous.config_path), runs_dir=cfg.runs_dir)
    task = open_task(resolved_config(cfg))
    task.check_slices(task.cfg.data.slices)
    if data is None:
        data = task.load_data()
    else:
        task.adopt(data)
    check_oos_label(task.cfg.data.oos_label, data.labels.names, task.cfg.data.train_file)
    task.cfg = with_epochs(task.cfg, len(data.train))
    privacy = _privacy_plan(task, len(data.train), dist.world)
    if not dist.is_main:
        _help_train(task, data, previous)
        return None
    for warning in task.warnings(data):
        log(warning)
    rd = previous or _new_run_dir(task.cfg)
    recorder = RunRecorder(rd, open_store(Path(cfg.runs_dir)))
    facts = dict(facts or {})
    if privacy is not None:
        facts["privacy"] = {"epsilon": None, **privacy.to_dict()}  # ε spent: known at the end
        log(
            f"differential privacy: ε ≤ {privacy.target_epsilon:g}, δ = {privacy.delta:.3g}, "
            f"noise σ = {privacy.noise_multiplier:.3f}, per-example clipping at "
            f"{privacy.max_grad_norm:g}, {privacy.steps} Poisson batches of about "
            f"{privacy.expected_batch_size:.0f}"
        )
    start_run(recorder, task, data, resume=previous is not None, log=log, facts=facts)
    with recorder.recording():  # a tracker refusing to open (required) fails the run
        opened = tracking.start(track_facts(task.cfg, data, rd.run_id, facts))
    with opened.closing() as track:
        with recorder.recording(finally_=lambda: _write_report_safely(rd, log)):
            result, report = _train_and_evaluate(
                task,
                data,
                rd,
                recorder,
                previous is not None,
                progress,
                log,
                on_validation,
                privacy,
                track,
            )
        track_outcome(track, rd, report.to_dict(), result.global_step)
    return TrainRunResult(rd.run_id, rd.path, report, result)


def track_facts(cfg: RunConfig, data: DatasetSplits, run_id: str, facts: dict) -> RunFacts:
    """What the trackers record of a run: the resolved config as parameters; data
    fingerprint, seed, method, task and parent run (a retrain's production run) as tags."""
    tags = {
        "tuneforge.data_fingerprint": data.fingerprint,
        "tuneforge.seed": str(cfg.train.seed),
        "tuneforge.method": cfg.method.name,
        "tuneforge.task": cfg.data.task,
    }
    if facts.get("parent_run"):
        tags["tuneforge.parent_run"] = str(facts["parent_run"])
    return RunFacts(run_id, to_dict(cfg), tags)


def track_outcome(track: TrackedRun, rd: RunDir, evaluation: dict, step: int) -> None:
    """A finished run's evaluation figures, and its report, eval, config, status and metrics
    files as artifacts."""
    track.log_evaluation(evaluation, step)
    files = (rd.report_path, rd.eval_path, rd.config_path, rd.status_path, rd.metrics_path)
    track.log_files(files)


def resolved_config(cfg: RunConfig) -> RunConfig:
    """``cfg`` with its task and training defaults resolved — once per run; config.yaml states
    what the run trained with (learning rate, batch size, ...)."""
    name = task_name(cfg.data)
    pretrained = TASKS[name].starts_pretrained(cfg)
    train = resolve_train(cfg.train, name, cfg.method.name, pretrained)
    if is_private(cfg.privacy):
        train = private_precision(train)  # DP trains in fp32 (bf16 is refused)
    return replace(cfg, data=replace(cfg.data, task=name), train=train)


def _privacy_plan(task: Task, n_train: int, world: int) -> PrivacyPlan | None:
    """The DP-SGD plan of a ``--privacy dp`` run, checked before anything is stored: settings
    it cannot make private, and an ε the data, batch size and epochs cannot meet, are refused."""
    cfg = task.cfg
    plan = plan_privacy(cfg.privacy, n_train, cfg.train.batch_size, cfg.train.epochs)
    if plan is None:
        return None
    if not task.supports_privacy:
        raise ConfigError(
            f"--privacy dp trains text classifiers; this run's task is {task.name}.",
            hint="Leave out --privacy for this run.",
        )
    check_private_training(cfg.train, method=cfg.method.name, world=world)
    return plan


def _previous_run(resume: str | None, runs_dir: Path) -> RunDir | None:
    if not resume:
        return None
    previous = resolve_run(resume, runs_dir)
    if previous.status().get("state") == "succeeded":
        raise RunError(f"Run '{previous.run_id}' already succeeded; there is nothing to resume.")
    return previous


def _new_run_dir(cfg: RunConfig) -> RunDir:
    rd = RunDir.create(Path(cfg.runs_dir), new_run_id(cfg.name))
    dump_config(cfg, rd.config_path)
    return rd


def with_epochs(cfg: RunConfig, n_train: int) -> RunConfig:
    """``train.epochs: null`` (auto) replaced by the count the data size gives, so config.yaml
    records the epochs that ran (the loop would compute the same number)."""
    if cfg.train.epochs is not None:
        return cfg
    schedule = schedule_of(cfg.data.task, TASKS[cfg.data.task].starts_pretrained(cfg))
    return replace(cfg, train=replace(cfg.train, epochs=auto_epochs(n_train, schedule)))


def start_run(recorder: RunRecorder, task: Task, data, *, resume: bool, log, facts: dict) -> None:
    """Record the run's start (its config, data, seed, precision, sizes and ``facts``), keep
    its splits and say so: what every trained run begins with, here or federated."""
    cfg = task.cfg
    # a model trained from scratch outside the torch loop (tfidf-linear, the choice) is fp32
    precision = "fp32" if task.family else resolve_precision(cfg.train.precision, resolve_device())
    recorder.start(
        to_dict(cfg),
        name=cfg.name or recorder.run_id,
        resume=resume,
        data_fingerprint=data.fingerprint,
        data_source=data.source,
        seed=cfg.train.seed,
        precision=precision,
        model_dir=task.model_ref,
        task=task.name,
        n_train=len(data.train),
        n_val=len(data.val),
        n_test=len(data.test),
        **facts,
    )
    task.save_splits(recorder.rd, data)
    log(
        f"run {recorder.run_id}: {len(data.train)} train / {len(data.val)} val / "
        f"{len(data.test)} test, {len(data.labels)} labels, {precision}"
    )


def _train_and_evaluate(
    task: Task,
    data,
    rd: RunDir,
    recorder: RunRecorder,
    resume: bool,
    progress: bool,
    log,
    on_validation: MetricSink | None,
    privacy: PrivacyPlan | None = None,
    track: TrackedRun | None = None,
) -> tuple[TrainResult, EvalReport]:
    def validation_only(record: dict) -> None:
        if on_validation is not None and record["split"] == "val":
            on_validation(record)

    def on_resume(step: int) -> None:
        if step:
            log(f"resuming {recorder.run_id} from its checkpoint at step {step}")
        else:
            log(f"restarting {recorder.run_id} from the start (no intact checkpoint)")
        recorder.rewind(step)

    set_seed(task.cfg.train.seed)
    cm = task.build_model(data)
    result = task.fit(
        cm,
        data,
        task.cfg.train,
        log=log,
        checkpoint_dir=rd.checkpoint_dir,
        resume=resume,
        on_metrics=fan_out(
            [recorder.log_metrics, track.log_metrics if track else None, validation_only]
        ),
        on_resume=on_resume,
        progress=progress,
        privacy=privacy,
    )
    shutdown()  # no collective follows: the other ranks may leave
    report = finish_run(task, data, rd, recorder, cm, result, log)
    return result, report


def finish_run(
    task: Task,
    data,
    rd: RunDir,
    recorder: RunRecorder,
    cm,
    result: TrainResult,
    log: Callable[[str], None],
    **facts,
) -> EvalReport:
    """Everything after the weights are trained: save the model, calibrate it, fit its
    out-of-scope scores, evaluate the saved artifact, write its card and mark the run
    succeeded (``facts`` join status.json). ``tuneforge federate`` ends its runs here too."""
    chosen = task.outcome_facts()  # the automatic model choice: which model won, and why
    if chosen:
        rd.update_status(**chosen)
    task.save_model(cm, rd)
    # The saved artifact, not the in-memory model: it is what users will load.
    predictor = task.predictor(rd)
    calibration = calibrate_saved(predictor, rd, data.val, log)
    # A private run's class statistics come from the validation split: means of the training
    # examples' features would carry them out of the run beside the model, outside ε.
    described = data.val if result.privacy is not None else data.train
    fit_out_of_scope(predictor, rd, described, data.val, task.cfg.data.oos_label)
    report = _evaluate_saved(task, data, rd, recorder, result, predictor, calibration, log)
    card = run_card_facts(rd.status(), report.to_dict(), method=cm.method)
    if result.privacy is not None:
        card["privacy"] = result.privacy  # status.json gets ε spent just below
    write_model_card(rd.model_dir, card)
    verdict = baseline_verdict(report.to_dict())
    if verdict is not None:
        log(verdict_message(verdict, report.split))
    recorder.succeeded(
        baseline_beats_model=verdict,
        train_seconds=round(result.train_seconds, 2),
        examples_per_s=round(result.examples_per_s, 1),
        best_epoch=result.best_epoch,
        best_step=result.best_step,
        epochs_run=result.epochs_run,
        stopped_early=result.stopped_early,
        frozen_layers=result.frozen_layers,
        **({"privacy": result.privacy} if result.privacy is not None else {}),
        **facts,
    )
    rd.remove_checkpoints()  # resume is only for unfinished runs
    return report


def _evaluate_saved(
    task: Task,
    data,
    rd: RunDir,
    recorder: RunRecorder,
    result,
    predictor,
    calibration: dict | None,
    log: Callable[[str], None],
) -> EvalReport:
    """Evaluate the saved, calibrated artifact's predictor on the test split (validation
    when there is none; ``calibration``'s note, why T stayed 1, goes with the figures); then
    explain its most confident mistakes for the report."""
    test, split = (data.test, "test") if data.test else (data.val, "val")
    report = evaluate(
        predictor,
        test,
        split=split,
        source=data.source.get(split, split),
        slices=task.cfg.data.slices,
        seed=task.cfg.train.seed,
    )
    report.baseline = task.baseline(data.train, test)
    if calibration and calibration.get("note"):
        report.calibration["note"] = calibration["note"]
    rd.write_json(rd.eval_path.name, report.to_dict())
    rd.write_json(rd.profile_path.name, task.profile(predictor, test, report.probs).to_dict())
    recorder.store.log_metrics(
        recorder.run_id,
        step=result.global_step,
        epoch=float(result.epochs_run),
        split=split,
        metrics={"accuracy": report.accuracy, "macro_f1": report.macro_f1},
    )
    _explain_mistakes(task, predictor, rd, test, split, report, log)
    return report


def _explain_mistakes(
    task: Task, predictor, rd: RunDir, examples: list, split: str, report: EvalReport, log
) -> None:
    """The report's "why the most confidently wrong texts were misread", from the
    probabilities the evaluation already has (``report.explain_wrong`` of them; 0: none)."""
    limit = task.cfg.report.explain_wrong
    if limit <= 0 or not task.explains_mistakes or report.probs is None:
        return
    from .explain import Explainer, write_wrong_explanations

    try:
        write_wrong_explanations(
            Explainer(rd, predictor, task), examples, report.probs, split, limit=limit
        )
    except Exception as exc:  # an explanation must never fail a trained, evaluated run
        log(f"warning: could not explain the run's mistakes ({exc}); the report lacks them")


def _help_train(task: Task, data, previous: RunDir | None) -> None:
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


def _write_report_safely(rd: RunDir, log: Callable[[str], None]) -> None:
    from ..report import write_report

    try:
        write_report(rd.path)
    except Exception as exc:  # the report must never hide the run's own outcome
        log(f"warning: could not write {rd.report_path}: {exc}")
