"""serve: resolve MODEL (run, run dir, NAME@stage or artifact dir) and run the HTTP server."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
from dataclasses import asdict
from pathlib import Path

from ..errors import ConfigError, TuneforgeError
from ..predict import Predictor, load_predictor
from ..serve import ServeSettings, check_binding, create_app
from ..serve.app import quiet_garbage_collector
from ..serve.protocol import uvicorn_options
from ..store import RunDir, open_store, resolve_model
from ..store.refs import served_name
from .calibrate import uncalibrated_note

CONFIG_ENV = "TUNEFORGE_SERVE_CONFIG"


def served_artifact(ref: str, runs_dir: Path, variant: str | None) -> Path:
    """The artifact directory ``serve`` loads (an artifact directory given as is, else the
    run's model or its ``variant``)."""
    artifact_dir = Path(ref)
    if (
        artifact_dir.is_dir()
        and (artifact_dir / "tuneforge.json").is_file()
        and not RunDir(artifact_dir).status_path.is_file()
    ):
        return artifact_dir
    run, artifact = resolve_model(ref, runs_dir)
    return run.variant_dir(variant) if variant and variant != "model" else artifact


def abstainer_of(predictor: Predictor, ref: str, runs_dir: Path, variant, abstain: dict | None):
    """The server's abstention rule, checked at start-up (None without ``--abstain``)."""
    if abstain is None:
        return None
    from ..evaluate.abstain import plan_abstention

    artifact = served_artifact(ref, runs_dir, variant)
    return plan_abstention(predictor, artifact, **abstain, run_ref=ref)


def load_served_model(ref: str, runs_dir: Path, variant: str | None) -> tuple[Predictor, dict]:
    """The predictor and the facts /v1/model reports about it."""
    artifact_dir = Path(ref)
    if (
        artifact_dir.is_dir()
        and (artifact_dir / "tuneforge.json").is_file()
        and not RunDir(artifact_dir).status_path.is_file()
    ):
        return load_predictor(artifact_dir, spin=False), {
            "name": artifact_dir.name,
            "version": None,
            "variant": variant or "artifact",
        }
    run, artifact = resolve_model(ref, runs_dir)
    if variant and variant != "model":
        artifact = run.variant_dir(variant)
        if not artifact.is_dir():
            raise TuneforgeError(
                f"Run '{run.run_id}' has no variant '{variant}'.",
                hint="Build it with 'tuneforge export' or 'tuneforge compress'.",
            )
    ev = run.read_json(run.eval_path.name) or {}
    name, stage = served_name(ref, run)
    info = {
        "name": name,
        "version": run.run_id,
        "stage": stage,
        "variant": (
            json.loads((artifact / "tuneforge.json").read_text(encoding="utf-8")).get(
                "variant", "model"
            )
            if (artifact / "tuneforge.json").is_file()
            else "model"
        ),
        "run_id": run.run_id,
        "metrics": {k: ev[k] for k in ("accuracy", "macro_f1") if k in ev},
    }
    # A server shares the cores with its event loop and its clients: no busy-waiting threads.
    return load_predictor(artifact, spin=False), info


def app_from_env():
    """uvicorn factory for ``--workers N``: each worker process rebuilds the app from env."""
    cfg = json.loads(os.environ[CONFIG_ENV])
    settings = ServeSettings(**cfg["settings"])
    if _serves_recommendations(cfg["ref"], Path(cfg["runs_dir"]), cfg["variant"]):
        return recommend_app(cfg["ref"], Path(cfg["runs_dir"]), settings)
    predictor, info = load_served_model(cfg["ref"], Path(cfg["runs_dir"]), cfg["variant"])
    abstainer = abstainer_of(
        predictor, cfg["ref"], Path(cfg["runs_dir"]), cfg["variant"], cfg.get("abstain")
    )
    monitor = (
        prediction_log(Path(cfg["runs_dir"]), info, cfg["log_inputs"], cfg["retention"])
        if cfg["log"]
        else None
    )
    intake = label_intake(Path(cfg["runs_dir"]), settings, predictor)
    app = create_app(
        predictor, settings, info, monitor=monitor, label_intake=intake, abstainer=abstainer
    )
    quiet_garbage_collector()
    return app


LOG_INPUTS = ("redacted", "raw")  # --log-inputs: personal data replaced, or inputs as sent


def prediction_log(
    runs_dir: Path, info: dict, log_inputs: str | bool | None, retention: str | None = None
):
    """The served model's prediction log: inputs stored ``redacted`` or ``raw`` (None: only
    their hash and length; True, as before there was a choice, is ``redacted``), and with a
    ``retention`` window ('30d') the inputs older than it blanked at start and periodically."""
    from ..monitor.predlog import PredictionLog
    from ..monitor.retention import Retention, parse_retention
    from ..store import retention_state_path

    if isinstance(log_inputs, bool):
        log_inputs = "redacted" if log_inputs else None
    if log_inputs not in (None, *LOG_INPUTS):
        raise ConfigError(
            f"--log-inputs must be {' or '.join(LOG_INPUTS)}, got '{log_inputs}'.",
            hint="'--log-inputs' alone stores inputs with personal data redacted.",
        )
    keep = None
    if retention is not None:
        keep = Retention(runs_dir, parse_retention(retention))
        retention_state_path(runs_dir, info["name"])  # a name no record can have: refused now
    return PredictionLog(
        open_store(runs_dir),
        info["name"],
        info.get("version"),
        log_inputs=log_inputs is not None,
        redact_inputs=log_inputs != "raw",
        retention=keep,
    )


def label_intake(runs_dir: Path, settings: ServeSettings, predictor: Predictor):
    """Where ``--label-studio`` stores annotation events: the ``--label-queue`` queue, opened
    (made, for the served model's task and labels) now, so a bad name or a queue of another
    task stops the server at start-up rather than failing every event."""
    if not (settings.label_studio and settings.label_queue):
        return None
    from ..label.queue import LabelStore
    from ..label.studio_events import StudioIntake
    from ..tasks import open_task

    store = LabelStore(open_store(runs_dir))
    task = open_task(predictor).name
    intake = StudioIntake(store, settings.label_queue, task, list(predictor.labels))
    intake.open()
    return intake


def _serves_recommendations(ref: str, runs_dir: Path, variant: str | None) -> bool:
    from ..predict import artifact_task

    try:
        return artifact_task(served_artifact(ref, runs_dir, variant)) == "recommend"
    except TuneforgeError:
        return False  # load_served_model says what is wrong


def recommend_app(ref: str, runs_dir: Path, settings: ServeSettings):
    """The app of a recommend run: its recommender (``--index DIR`` instead of its own index,
    refused when other weights made it), one torch thread (a query is a tiny forward pass)."""
    import torch

    from ..serve.app import create_recommend_app
    from .recommend import open_run_recommender

    torch.set_num_threads(1)
    recommender = open_run_recommender(ref, runs_dir, settings.index)
    recommender.index.single_threaded()
    run, _ = resolve_model(ref, runs_dir)
    name, stage = served_name(ref, run)
    ev = run.read_json(run.eval_path.name) or {}
    metrics = {k: ev[k] for k in ("hr@10", "ndcg@10", "recall@20", "coverage") if k in ev}
    info = {"name": name, "version": run.run_id, "stage": stage, "metrics": metrics}
    return create_recommend_app(recommender, settings, info)


class GracefulServer:
    """uvicorn's server with SIGTERM/SIGINT handled here: uvicorn finishes in-flight requests
    on a signal but then re-raises it, so the process would die by the signal (exit -15)
    instead of exiting 0 after a clean drain."""

    def __init__(self, config) -> None:
        import uvicorn

        class Quiet(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self):
                yield

        self.server = Quiet(config)

    def run(self) -> None:
        def stop(*_):
            self.server.should_exit = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.server.run()


def serve(
    ref: str,
    runs_dir: Path,
    variant: str | None,
    settings: ServeSettings,
    log_predictions: bool = True,
    log_inputs: str | bool | None = None,
    retention: str | None = None,
    abstain: dict | None = None,
) -> None:
    """Serve ``ref``; predictions are logged unless ``log_predictions`` is off, with their
    inputs ``redacted`` or ``raw`` per ``log_inputs`` and kept for ``retention`` ('30d')."""
    import uvicorn

    check_binding(settings)
    if retention is not None:
        from ..monitor.retention import parse_retention

        parse_retention(retention)  # a bad window stops the command before the model loads
    if retention is not None and not log_predictions:
        raise ConfigError(
            "--retention prunes the prediction log, which --no-log turns off.",
            hint="Drop one of the two.",
        )
    if settings.workers > 1:
        os.environ[CONFIG_ENV] = json.dumps(
            {
                "ref": ref,
                "runs_dir": str(runs_dir),
                "variant": variant,
                "settings": asdict(settings),
                "log": log_predictions,
                "log_inputs": log_inputs,
                "retention": retention,
                "abstain": abstain,
            }
        )
        uvicorn.run(
            "tuneforge.recipes.serve:app_from_env",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            **uvicorn_options(settings),
        )
        return
    if _serves_recommendations(ref, runs_dir, variant):
        app = recommend_app(ref, runs_dir, settings)
        quiet_garbage_collector()
        config = uvicorn.Config(
            app, host=settings.host, port=settings.port, **uvicorn_options(settings)
        )
        GracefulServer(config).run()
        return
    predictor, info = load_served_model(ref, runs_dir, variant)
    abstainer = abstainer_of(predictor, ref, runs_dir, variant, abstain)
    note = uncalibrated_note(predictor, ref)
    if note:
        print(note, file=sys.stderr)
    monitor = prediction_log(runs_dir, info, log_inputs, retention) if log_predictions else None
    intake = label_intake(runs_dir, settings, predictor)
    app = create_app(
        predictor, settings, info, monitor=monitor, label_intake=intake, abstainer=abstainer
    )
    quiet_garbage_collector()
    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, **uvicorn_options(settings)
    )
    GracefulServer(config).run()
