"""A recommend run (``train --task recommend``) and ``tuneforge recommend``.

The run, top to bottom: both files read and checked (nothing stored before), the run directory
and its store row, the items' texts embedded once by the sentence encoder, leave-last-out
(validation: each user's second-to-last item, test: the last), the two towers trained with
in-batch negatives, the test split ranked over every unseen item beside popularity and
item-kNN fitted on the same history, then the cold-start split (a share of the items held out
of training whole: a second pair of towers, ranked among the new items beside random), the
saved recommender with its item index, eval.json and the report.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..config import RunConfig, dump_config, to_dict
from ..errors import ConfigError
from ..evaluate.ranking import (
    Interactions,
    cold_start_split,
    evaluate_ranking,
    item_knn_scores,
    leave_last_out,
    popularity_scores,
)
from ..store import RunDir, RunRecorder, new_run_id, open_store, resolve_model
from ..tasks import open_task
from ..tasks.recommend import RecommendData, embed_items, open_recommender, save_recommender
from ..track import NO_TRACKING, RunFacts, Tracking
from ..train.seed import set_seed
from ..train.sinks import fan_out
from ..train.two_tower import TowerTraining, fit_two_tower, tower_scores
from .train import track_outcome

KS = (10, 20)
DEFAULTS = {"epochs": 20, "batch_size": 256, "lr": 2e-3}  # train.* None becomes these


@dataclass
class RecommendRunResult:
    run_id: str
    run_dir: Path
    eval: dict


def recommend_config(cfg: RunConfig) -> RunConfig:
    """``cfg`` with the task named and the loop's defaults filled in (config.yaml says what
    the run trained with)."""
    train = cfg.train
    filled = {k: v for k, v in DEFAULTS.items() if getattr(train, k) is None}
    return replace(cfg, data=replace(cfg.data, task="recommend"), train=replace(train, **filled))


def train_recommender(
    cfg: RunConfig,
    *,
    resume: str | None = None,
    progress: bool = True,
    log: Callable[[str], None] = lambda m: print(m, file=sys.stderr),
    alone: bool = True,
    tracking: Tracking | None = None,
) -> RecommendRunResult:
    """Train, evaluate, save and report a recommend run; recorded whatever happens, and in
    the trackers of ``tracking`` (``--track``). ``alone`` False: a search or a
    cross-validation asked, which recommend runs do not take."""
    if not alone:
        raise ConfigError(
            "tune and train --folds search and cross-validate classifiers; a recommend run "
            "is evaluated leave-last-out and on its cold-start split by train itself.",
            hint="Train it with tuneforge train FILE --task recommend --items ITEMS; set the "
            "towers with recommend.* overrides.",
        )
    if resume:
        raise ConfigError(
            "A recommend run trains in seconds to minutes and cannot be resumed.",
            hint="Train it again without --resume.",
        )
    cfg = recommend_config(cfg)
    tracking = (tracking or NO_TRACKING).check()  # an unreachable tracker: said before work
    task = open_task(cfg)
    data: RecommendData = task.load_data()
    encoder = _encoder(cfg)
    for note in data.log.notes:
        log(f"warning: {note}")
    rd = RunDir.create(Path(cfg.runs_dir), new_run_id(cfg.name))
    dump_config(cfg, rd.config_path)
    recorder = RunRecorder(rd, open_store(Path(cfg.runs_dir)))
    recorder.start(
        to_dict(cfg),
        name=cfg.name or rd.run_id,
        resume=False,
        data_fingerprint=data.fingerprint,
        data_source={"interactions": cfg.data.train_file, "items": cfg.data.items_file},
        seed=cfg.train.seed,
        model_dir=encoder.model,
        task="recommend",
        n_users=data.n_users,
        n_items=data.n_items,
        n_interactions=int(len(data.log.items)),
        columns=data.log.columns,
        notes=data.log.notes,
    )
    with recorder.recording():  # a tracker refusing to open (required) fails the run
        tags = {"tuneforge.task": "recommend", "tuneforge.data_fingerprint": data.fingerprint}
        opened = tracking.start(RunFacts(rd.run_id, to_dict(cfg), tags))
    with opened.closing() as track:
        sink = fan_out([recorder.log_metrics, lambda record: track.log_metrics(_named(record))])
        with recorder.recording(finally_=lambda: _write_report(rd, log)):
            report = _train_and_evaluate(
                task, cfg, data, encoder, rd, recorder, sink, log if progress else None
            )
        track_outcome(track, rd, _named(_flat(report)), 0)
    return RecommendRunResult(rd.run_id, rd.path, report)


def _named(record: dict) -> dict:
    """Metric names trackers accept (MLflow refuses "@"): ``hr@10`` as ``hr_at_10``."""
    return {k.replace("@", "_at_"): v for k, v in record.items()}


def _flat(report: dict) -> dict:
    """eval.json's figures in one level: the model's, ``<baseline>.<figure>``, ``cold_start.``."""
    out = {k: v for k, v in report.items() if isinstance(v, (int, float))}
    for name, figures in report.get("baselines", {}).items():
        out |= {f"{name}.{k}": v for k, v in figures.items() if isinstance(v, (int, float))}
    cold = report.get("cold_start") or {}
    out |= {f"cold_start.{k}": v for k, v in cold.items() if isinstance(v, (int, float))}
    return {"split": "test", **out}


def _encoder(cfg: RunConfig):
    """The sentence encoder of the items' texts (``model.name``; ``default`` is MiniLM)."""
    from ..embed import open_encoder

    return open_encoder(cfg.model.name, Path(cfg.runs_dir))


def _train_and_evaluate(task, cfg, data: RecommendData, encoder, rd, recorder, sink, log) -> dict:
    say = log or (lambda message: None)
    text = embed_items(encoder, data.catalogue, say)
    log_ = data.log
    history, test = leave_last_out(log_.users, log_.items, data.n_users, data.n_items)
    train, val = leave_last_out(history.users, history.items, data.n_users, data.n_items)
    loop = TowerTraining(
        epochs=cfg.train.epochs,
        batch_size=cfg.train.batch_size,
        lr=cfg.train.lr,
        seed=cfg.train.seed,
    )
    set_seed(cfg.train.seed)  # the towers' initial weights: a run repeats
    model = task.build_model((text.shape[1], data.n_items))
    result = fit_two_tower(model, text, train, val, loop, sink, say)
    say(f"best epoch {result.best_epoch} of {result.epochs_run} ({result.train_seconds:.1f} s)")
    figures = _ranked(
        {
            "two-tower": tower_scores(model, text, history),
            "popularity": popularity_scores(history),
            "item-kNN": item_knn_scores(history),
        },
        history,
        test,
    )
    cold = _cold_start(task, cfg, data, text, loop, say) if cfg.data.cold_fraction > 0 else {}
    facts = {"run_id": rd.run_id, "encoder": encoder.model, "encoder_weights": encoder.fingerprint}
    save_recommender(rd.model_dir, model, text, data, facts)
    report = {
        "task": "recommend",
        "split": "test",
        "protocol": "leave-last-out over all unseen items",
        **figures["two-tower"],
        "baselines": {k: v for k, v in figures.items() if k != "two-tower"},
        "cold_start": cold,
    }
    rd.write_json(rd.eval_path.name, report)
    recorder.store.log_metrics(
        rd.run_id,
        step=0,
        epoch=float(result.best_epoch),
        split="test",
        metrics={k: report[k] for k in ("hr@10", "ndcg@10", "recall@20", "coverage")},
    )
    recorder.succeeded(
        train_seconds=round(result.train_seconds, 2),
        best_epoch=result.best_epoch,
        epochs_run=result.epochs_run,
        stopped_early=result.stopped_early,
        examples=result.examples,
    )
    return report


def _ranked(methods: dict[str, Callable], seen: Interactions, test: dict[int, int], **kw) -> dict:
    """Each method's HR/NDCG/Recall@k and coverage on one split."""
    out = {}
    for name, score in methods.items():
        start = time.perf_counter()
        figures = evaluate_ranking(score, seen, test, ks=KS, **kw).to_dict()
        out[name] = {**figures, "seconds": round(time.perf_counter() - start, 3)}
    return out


def _cold_start(task, cfg, data: RecommendData, text, loop: TowerTraining, say) -> dict:
    """Towers trained without a share of the items, ranked among those items only."""
    log_ = data.log
    warm, test, cold = cold_start_split(
        log_.users, log_.items, data.n_users, data.n_items, cfg.data.cold_fraction, cfg.data.seed
    )
    if not test:
        say("cold-start split: no user met a held-out item; skipped")
        return {}
    train, val = leave_last_out(warm.users, warm.items, data.n_users, data.n_items)
    say(f"cold-start split: {len(cold)} items held out of training, {len(test)} users tested")
    set_seed(cfg.train.seed)
    model = task.build_model((text.shape[1], data.n_items))
    fit_two_tower(model, text, train, val, loop)
    rng = np.random.default_rng(cfg.train.seed)
    figures = _ranked(
        {
            "two-tower": tower_scores(model, text, warm),
            "random": lambda users: rng.random((len(users), data.n_items)),
        },
        warm,
        test,
        candidates=cold,
    )
    return {
        "protocol": "items without training interactions, ranked among themselves",
        "cold_items": int(len(cold)),
        **figures["two-tower"],
        "baselines": {"random": figures["random"]},
    }


def _write_report(rd: RunDir, log: Callable[[str], None]) -> None:
    from ..report import write_report
    from ..report.ranking import ranking_section

    try:
        write_report(
            rd.path, [("Recommendation", ranking_section(rd.read_json(rd.eval_path.name)))]
        )
    except Exception as exc:  # the report must never hide the run's own outcome
        log(f"warning: could not write {rd.report_path}: {exc}")


def recommend(
    ref: str,
    runs_dir: Path,
    *,
    user: str | None = None,
    history: list[str] | None = None,
    k: int = 10,
    include_seen: bool = False,
    index: str | None = None,
) -> list:
    """``tuneforge recommend RUN --user ID | --history A,B -k K``: the best items."""
    return open_run_recommender(ref, runs_dir, index).recommend(
        user=user, history=history, k=k, exclude_seen=not include_seen
    )


def open_run_recommender(ref: str, runs_dir: Path, index: str | None = None):
    """The recommender of a run, run directory or registry reference."""
    _, artifact = resolve_model(ref, runs_dir)
    return open_recommender(artifact, index)
