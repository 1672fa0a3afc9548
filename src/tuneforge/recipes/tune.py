"""tune: a hyperparameter search whose every trial is a normal tuneforge run.

Each trial draws values from the search space, trains through ``run_train`` (so it is
evaluated, reported and recorded in the store), reports its validation macro-F1 after every
evaluation, and is pruned — recorded as a ``pruned`` run — when it falls below the median of
earlier trials at the same point. The study, a summary and a search report are kept under
``<runs_dir>/studies/<study>/``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path

from ..config import RunConfig, load_config, to_dict
from ..errors import ConfigError, RunPruned
from ..store import study_dir
from ..track import NO_TRACKING, RunFacts, Tracking, tracked
from ..tune import Param, TuneConfig, TuneResult, open_study, summarize
from .train import run_train


def searched_space(
    space: tuple[Param, ...], overrides: list[str], log: Callable[[str], None]
) -> tuple[Param, ...]:
    """The space without the keys the user fixed with ``key=value``: a fixed key stays fixed
    in every trial (said once), instead of being overwritten by a sampled value."""
    fixed = {pair.split("=", 1)[0].strip() for pair in overrides if "=" in pair}
    kept = tuple(p for p in space if p.key not in fixed)
    dropped = [p.key for p in space if p.key in fixed]
    if dropped:
        log(f"not searched (fixed on the command line): {', '.join(dropped)}")
    return kept


def _best_value(study) -> float | None:
    """The best completed trial's value, None before the first completes."""
    try:
        return float(study.best_value)
    except ValueError:
        return None


def _step(record: dict) -> int:
    """Pruning compares trials at the same point of training: quarter epochs, not steps (a
    trial with a larger batch takes fewer steps per epoch)."""
    return int(round(4 * record["epoch"]))


def run_tune(
    base: dict,
    overrides: list[str],
    space: tuple[Param, ...],
    cfg: TuneConfig,
    *,
    log: Callable[[str], None] = lambda m: print(m, file=sys.stderr),
    progress: Callable[[int, int, float | None], None] | None = None,
    tracking: Tracking | None = None,
) -> TuneResult:
    """Run ``cfg.trials`` trials (or until ``cfg.timeout_s``) of the study; return its summary.

    ``base`` and ``overrides`` are the run config as for ``tuneforge train``; the searched keys
    are applied on top of them for each trial. ``progress(done, total, best)`` hears after
    every trial of this call, with the study's best validation macro-F1 so far. With
    ``tracking`` the study is one tracked run and every trial a child run of it.
    """
    tracking = (tracking or NO_TRACKING).check()
    fixed = load_config(base=base, overrides=overrides)  # a bad config fails before any trial
    if fixed.privacy.mode == "dp":
        raise ConfigError(
            "tune with privacy.mode=dp is not supported: every trial spends its own ε on the "
            "same training data and the search itself is not accounted, so the chosen model's "
            "ε would understate what was spent.",
            hint="Tune without DP on public or synthetic data, then train one private run.",
        )
    folder = study_dir(Path(fixed.runs_dir), cfg.study)  # the name rule, up front
    space = searched_space(space, overrides, log)
    with tracked(tracking, study_facts(cfg, space, fixed)) as study_run:
        trials = tracking.children(study_run, tags={"tuneforge.parent_run": cfg.study})
        summary = _search(base, overrides, space, cfg, folder, log, progress, trials, study_run)
    return summary


def study_facts(cfg: TuneConfig, space: tuple[Param, ...], fixed: RunConfig) -> RunFacts:
    """The study as a tracked run: its budget, searched space and fixed config (the storage
    URL is left out: it may hold a password)."""
    params = {
        "study": {"trials": cfg.trials, "jobs": cfg.jobs, "prune": cfg.prune, "seed": cfg.seed},
        "space": {p.key: _describe(p) for p in space},
        "fixed": to_dict(fixed),
    }
    tags = {"tuneforge.study": cfg.study, "tuneforge.method": fixed.method.name}
    return RunFacts(cfg.study, params, {**tags, "tuneforge.seed": str(cfg.seed)})


def _describe(p: Param) -> str:
    if p.choices is not None:
        return f"one of {list(p.choices)}"
    return f"{p.low}..{p.high}{' log' if p.log else ''}{' int' if p.integer else ''}"


def _search(
    base, overrides, space, cfg: TuneConfig, folder: Path, log, progress, trials, study_run
) -> TuneResult:
    """The Optuna search of :func:`run_tune`; trials tracked as ``trials`` (children of
    ``study_run``), the study's best value logged after each."""
    import optuna

    study = open_study(cfg)

    def objective(trial: optuna.Trial) -> float:
        values = {p.key: p.suggest(trial) for p in space}
        run_cfg = load_config(
            base=base, overrides=[*overrides, *(f"{k}={v}" for k, v in values.items())]
        )
        run_cfg = replace(run_cfg, name=f"{cfg.study}-t{trial.number}")

        def on_validation(record: dict) -> None:
            trial.report(record["macro_f1"], _step(record))
            if trial.should_prune():
                raise RunPruned(
                    f"pruned at epoch {record['epoch']:.2f}: validation macro-F1 "
                    f"{record['macro_f1']:.4f} is below the median of earlier trials"
                )

        trial.set_user_attr("run_id", run_cfg.name)
        try:
            result = run_train(
                run_cfg,
                progress=False,
                log=lambda m: None,
                on_validation=on_validation,
                tracking=trials,
            )
        except RunPruned as exc:
            log(f"trial {trial.number}: {exc}")
            raise optuna.TrialPruned(str(exc)) from None
        assert result is not None  # searches run in one process
        log(
            f"trial {trial.number}: val macro-F1 {result.train.best_val_macro_f1:.4f}, "
            f"{result.eval.split} accuracy {result.eval.accuracy:.4f} ({result.run_id})"
        )
        return result.train.best_val_macro_f1

    finished: list[int] = []

    def after_trial(study, trial) -> None:
        finished.append(trial.number)
        best = _best_value(study)
        if best is not None:
            study_run.log_values({"study/best_val_macro_f1": best}, trial.number)
        if progress is not None:
            progress(len(finished), cfg.trials, best)

    study.optimize(
        objective,
        n_trials=cfg.trials,
        timeout=cfg.timeout_s,
        n_jobs=cfg.jobs,
        catch=(),
        gc_after_trial=True,
        callbacks=[after_trial],
    )
    summary = summarize(study)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "study.json").write_text(
        json.dumps(asdict(summary), indent=1, ensure_ascii=False), encoding="utf-8"
    )
    from ..report.tune import write_tune_report

    write_tune_report(folder / "report.html", summary, importances(study))
    study_run.log_files([folder / "study.json", folder / "report.html"])
    return summary


def importances(study) -> dict[str, float] | str:
    """Parameter importances (Optuna's default evaluator, PED-ANOVA in Optuna 5), or why there
    are none yet (the report and the dashboard's study page show them)."""
    import optuna

    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if len(complete) < 3:
        return f"Importances need at least 3 completed trials; this study has {len(complete)}."
    try:
        return dict(optuna.importance.get_param_importances(study))
    except (RuntimeError, ValueError) as exc:  # e.g. every trial drew the same values
        return f"Importances could not be computed: {exc}"
