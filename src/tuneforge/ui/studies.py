"""What the studies pages show: the searches of ``tuneforge tune``, read through Optuna from the
store's database (where ``tune`` keeps them by default) and, for studies kept in another
storage, from the summary ``tune`` writes under ``<runs_dir>/studies/<study>/study.json``.

A study's trials are ``tune.summarize``'s records and its importances ``recipes.tune
.importances`` (Optuna's get_param_importances), what the search report shows. Reading only: a store
without Optuna's tables is not given them (Optuna creates its tables when it opens a storage).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ..errors import RunError
from ..store import RunStore, is_valid_name, study_dir
from ..store.db import default_store_url

OPTUNA_TABLE = "studies"  # the table Optuna's RDB storage keeps its study names in


@dataclass(frozen=True)
class StudyRow:
    name: str
    n_trials: int
    best_value: float | None
    source: str  # "store" (Optuna in the store's database) or "summary" (study.json only)


def _storage_url(runs_dir: Path) -> str | None:
    """The store's database URL if Optuna has tables in it, else None."""
    url = default_store_url(runs_dir)
    engine = sa.create_engine(url)
    try:
        return url if sa.inspect(engine).has_table(OPTUNA_TABLE) else None
    except sa.exc.SQLAlchemyError:
        return None
    finally:
        engine.dispose()


def _quiet_optuna():
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def _summary_files(runs_dir: Path) -> dict[str, dict]:
    """``studies/<name>/study.json`` of every study ``tune`` finished under ``runs_dir``."""
    root = Path(runs_dir) / "studies"
    out = {}
    for path in sorted(root.glob("*/study.json")) if root.is_dir() else []:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and is_valid_name(path.parent.name):
            out[path.parent.name] = data
    return out


def list_studies(runs_dir: Path) -> list[StudyRow]:
    """Every study of the store's database, then those known only by their summary file."""
    rows: dict[str, StudyRow] = {}
    url = _storage_url(runs_dir)
    if url is not None:
        optuna = _quiet_optuna()
        for s in optuna.get_all_study_summaries(url, include_best_trial=True):
            best = s.best_trial.value if s.best_trial is not None else None
            rows[s.study_name] = StudyRow(s.study_name, s.n_trials, best, "store")
    for name, data in _summary_files(runs_dir).items():
        if name not in rows:
            trials = data.get("trials") or []
            rows[name] = StudyRow(name, len(trials), data.get("best_value"), "summary")
    return sorted(rows.values(), key=lambda r: r.name)


def load_summary(runs_dir: Path, name: str) -> tuple[dict, Any]:
    """The study's summary (``tune.summarize`` as a dict) and its Optuna study (None when only
    the summary file is known); a RunError when there is no such study."""
    url = _storage_url(runs_dir)
    if url is not None and is_valid_name(name):
        optuna = _quiet_optuna()
        try:
            study = optuna.load_study(study_name=name, storage=url)
        except KeyError:
            study = None
        if study is not None:
            from ..tune import summarize

            return asdict(summarize(study)), study
    summary = _summary_files(runs_dir).get(name)
    if summary is None:
        raise RunError(f"No study '{name}' in the store or under {study_dir(runs_dir, name)}.")
    return summary, None


def best_so_far(trials: list[dict]) -> dict:
    """The history chart's points: each completed trial's value by trial number, the best so
    far after it, and where pruned trials stopped (as the search report draws them)."""
    done = sorted(
        (t for t in trials if t.get("state") == "complete" and t.get("value") is not None),
        key=lambda t: t["number"],
    )
    best, running = [], float("-inf")
    for t in done:
        running = max(running, float(t["value"]))
        best.append(running)
    return {
        "number": [t["number"] for t in done],
        "value": [t["value"] for t in done],
        "best": best,
        "pruned": sorted(t["number"] for t in trials if t.get("state") == "pruned"),
    }


def chart_data(runs_dir: Path, name: str) -> dict:
    """History and importances, fetched by the page after it has rendered (importances take a
    moment on a large study).."""
    from ..recipes.tune import importances

    summary, study = load_summary(runs_dir, name)
    shares: dict[str, float] | str = (
        importances(study)
        if study is not None
        else "Importances need the Optuna study; only its summary file is here."
    )
    return {
        "study": name,
        "history": best_so_far(summary.get("trials") or []),
        "importances": shares if isinstance(shares, dict) else None,
        "importances_note": shares if isinstance(shares, str) else "",
    }


def trial_rows(summary: dict) -> tuple[list[str], list[dict]]:
    """The searched keys and the trials in number order."""
    trials = sorted(summary.get("trials") or [], key=lambda t: t.get("number", 0))
    keys = sorted({k for t in trials for k in t.get("params") or {}})
    return keys, trials


_TRIAL_RUN = re.compile(r"(.+)-t(\d+)")


def study_of(run_id: str, runs_dir: Path, store: RunStore | None = None) -> str | None:
    """The study a run was a trial of: ``tune`` names trial runs ``<study>-t<number>``; the
    study must exist and its trial must name this run."""
    match = _TRIAL_RUN.fullmatch(run_id)
    if match is None:
        return None
    name, number = match.group(1), int(match.group(2))
    try:
        summary, _ = load_summary(runs_dir, name)
    except RunError:
        return None
    for trial in summary.get("trials") or []:
        if trial.get("number") == number and trial.get("run_id") == run_id:
            return name
    return None
