"""Optuna studies for tuneforge: TPE sampling, median pruning, storage in the run store's database.

The study is stored through Optuna's own RDB storage (its tables sit beside the store's ``tf_``
tables in the same database), so a study started on one laptop with SQLite resumes by name, and
several machines pointed at one PostgreSQL URL share one study without running a trial twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError


@dataclass(frozen=True)
class TuneConfig:
    """How a search runs: budget, parallelism, pruning and where the study lives."""

    study: str
    storage: str
    trials: int | None = 10  # trials this invocation adds (None: until the timeout)
    timeout_s: float | None = None
    jobs: int = 1
    prune: bool = True
    seed: int = 42


@dataclass
class TuneResult:
    """What a search found: the best trial's run, and every trial's outcome."""

    study: str
    best_run_id: str | None
    best_value: float | None
    best_params: dict
    n_complete: int
    n_pruned: int
    n_failed: int
    trials: list[dict] = field(default_factory=list)


def open_study(cfg: TuneConfig):
    """Create or resume ``cfg.study`` (maximising validation macro-F1)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if cfg.trials is not None and cfg.trials < 1:
        raise ConfigError(f"--trials must be at least 1, got {cfg.trials}.")
    if cfg.jobs < 1:
        raise ConfigError(f"--jobs must be at least 1, got {cfg.jobs}.")
    # Median pruning from the third trial on: stop a trial whose validation score at an epoch
    # is below the median of earlier trials at the same epoch.
    pruner = (
        optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0)
        if cfg.prune
        else optuna.pruners.NopPruner()
    )
    _prepare_sqlite(cfg.storage)
    storage = _storage(cfg.storage)
    return optuna.create_study(
        study_name=cfg.study,
        storage=storage,
        load_if_exists=True,
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=cfg.seed),
        pruner=pruner,
    )


def _storage(url: str):
    """Optuna's RDB storage. Workers starting together on a fresh database race to create its
    tables; the loser retries and finds them (as RunStore does for its own)."""
    import time

    import optuna

    for attempt in range(4):
        try:
            return optuna.storages.RDBStorage(
                _sqlalchemy_url(url), engine_kwargs=_engine_kwargs(url)
            )
        except Exception as exc:  # bad URLs and unreachable servers raise many driver types
            racing = "already exists" in str(exc) or "duplicate key" in str(exc)
            if attempt == 3 or not racing:
                raise ConfigError(
                    f"Cannot open the study storage '{_redact(url)}': {exc}",
                    hint="Use sqlite:///path/to.db or postgresql://user:pass@host/db.",
                ) from None
            time.sleep(0.5 * (attempt + 1))
    raise AssertionError("unreachable")


def _sqlalchemy_url(url: str) -> str:
    """``postgresql://`` means the psycopg 3 driver we ship in the ``postgres`` extra."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _prepare_sqlite(url: str) -> None:
    """A study may be the first thing written to a runs directory: create its folder."""
    import sqlalchemy as sa

    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        return  # RDBStorage reports the bad URL
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _engine_kwargs(url: str) -> dict:
    # SQLite: wait for the run store's writers instead of failing on a locked database.
    return {"connect_args": {"timeout": 30}} if url.startswith("sqlite") else {}


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def summarize(study) -> TuneResult:
    """The study's trials as plain records, best first among the completed ones."""
    import optuna

    state = optuna.trial.TrialState
    trials = []
    for t in study.get_trials(deepcopy=False):
        trials.append(
            {
                "number": t.number,
                "state": t.state.name.lower(),
                "value": t.value,
                "run_id": t.user_attrs.get("run_id"),
                "params": dict(t.params),
                "seconds": t.duration.total_seconds() if t.duration else None,
                "last_step": t.last_step,
            }
        )
    complete = [t for t in study.get_trials(deepcopy=False) if t.state == state.COMPLETE]
    best = max(complete, key=lambda t: t.value) if complete else None
    return TuneResult(
        study=study.study_name,
        best_run_id=best.user_attrs.get("run_id") if best else None,
        best_value=best.value if best else None,
        best_params=dict(best.params) if best else {},
        n_complete=len(complete),
        n_pruned=sum(t["state"] == "pruned" for t in trials),
        n_failed=sum(t["state"] == "fail" for t in trials),
        trials=trials,
    )
