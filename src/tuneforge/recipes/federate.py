"""federate: client data files → a federated fine-tune on Flower → a normal run directory.

The coordinator holds one evaluation file (``--eval``): the label set the federation trains,
halved (stratified) into the validation examples the server selects the best round on and
the test examples the run is evaluated on. Each client process is handed only its own data
file. Everything that can be checked here (files, method, strategy, DP settings, Flower's
python) is checked before the run directory exists; the clients check their own files and
DP budgets when they join, and the server refuses a client whose labels it does not know.
Once the server has the best global weights, the run ends like ``train``'s
(:func:`recipes.train.finish_run`): saved model, calibration, evaluation, report.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from ..config import RunConfig, dump_config, to_dict
from ..errors import ConfigError, DataError
from ..federated.spec import STRATEGIES
from ..store import RunDir, RunRecorder, new_run_id, open_store
from ..tasks import open_task
from ..types import DatasetSplits, LabelMap
from .train import finish_run, resolved_config, start_run

# Tests only: "NAME:ROUND" makes client NAME exit abruptly in that round.
DIE_ENV = "TUNEFORGE_TEST_CLIENT_DIES"


@dataclass(frozen=True)
class FederateOptions:
    """How the federation runs (the model and training settings are the RunConfig's)."""

    client_files: tuple[str, ...]
    eval_file: str
    rounds: int = 5
    local_epochs: int = 1
    strategy: str = "fedavg"
    proximal_mu: float = 0.01  # FedProx only
    min_clients: int | None = None  # None: half the clients, at least 1
    connect_timeout: float = 120.0
    round_timeout: float = 600.0
    flower_python: str | None = None
    host: str = "127.0.0.1"
    port: int | None = None  # None: a free port


@dataclass
class FederateResult:
    run_id: str
    run_dir: Path
    accuracy: float
    facts: dict


def client_names(files: tuple[str, ...]) -> list[str]:
    """A file-name-safe, unique name per client, from its file's stem."""
    names: list[str] = []
    for path in files:
        base = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(path).stem).strip("._") or "client"
        name, k = base, 2
        while name in names or name == "server":
            name, k = f"{base}-{k}", k + 1
        names.append(name)
    return names


def check_options(cfg: RunConfig, opts: FederateOptions) -> int:
    """Every refusal that needs no process; returns the minimum of clients per round."""
    from ..federated.local import check_method
    from ..train.privacy import check_private_training, is_private

    if len(opts.client_files) < 2:
        raise ConfigError(
            f"a federation needs at least 2 client data files, got {len(opts.client_files)}.",
            hint="Pass one data file per client: tuneforge federate a.csv b.csv --eval e.csv",
        )
    for path in (*opts.client_files, opts.eval_file):
        if not Path(path).is_file():
            raise DataError(f"{path}: no such file.", hint="Check the path.")
    check_method(cfg.method.name)
    if opts.strategy not in STRATEGIES:
        raise ConfigError(
            f"--strategy must be one of {', '.join(STRATEGIES)}, got '{opts.strategy}'."
        )
    if opts.strategy == "fedprox" and not opts.proximal_mu > 0:
        raise ConfigError(f"--proximal-mu must be positive for FedProx, got {opts.proximal_mu}.")
    for key in ("rounds", "local_epochs"):
        if getattr(opts, key) < 1:
            raise ConfigError(f"--{key.replace('_', '-')} must be at least 1.")
    if is_private(cfg.privacy):
        if opts.strategy == "fedprox":
            raise ConfigError(
                "--strategy fedprox cannot be combined with --privacy dp: its proximal term "
                "would act on the summed gradient after Opacus clipped each example's.",
                hint="Use --strategy fedavg with --privacy dp.",
            )
        check_private_training(cfg.train, method=cfg.method.name, world=1)
    n = len(opts.client_files)
    least = opts.min_clients if opts.min_clients is not None else max(1, n // 2)
    if not 1 <= least <= n:
        raise ConfigError(f"--min-clients must be between 1 and {n} (the clients), got {least}.")
    return least


def server_splits(cfg: RunConfig) -> DatasetSplits:
    """The coordinator's evaluation file as the run's splits: validation and test halves
    (stratified), the validation half standing as ``train`` too (the baseline's training
    data and the examples compression calibrates on: the clients' rows never leave them)."""
    from ..data.sources import load_examples
    from ..data.split import stratified_split
    from ..data.validate import check_examples, raise_if_blocking

    d = cfg.data
    loaded = load_examples(
        d.train_file, d.text_column, d.label_column, d.format, delimiter=d.delimiter
    )
    raise_if_blocking(check_examples(loaded, None, cfg.model.max_length))
    val, test, _ = stratified_split(loaded.examples, 0.5, 0.0, d.seed)
    canonical = json.dumps([[e.text, e.label] for e in loaded.examples], ensure_ascii=False)
    source = f"half of {d.train_file}"
    return DatasetSplits(
        train=val,
        val=val,
        test=test,
        labels=LabelMap.from_labels(e.label for e in loaded.examples),
        fingerprint=hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16],
        source={
            "train": f"{source} (validation; the clients' data stays with them)",
            "val": source,
            "test": f"the other {source}",
            "text_column": loaded.text_column,
            "label_column": loaded.label_column,
        },
    )


def federated_config(cfg: RunConfig, opts: FederateOptions) -> RunConfig:
    """The run's config: the evaluation file as its data, defaults resolved, and the local
    epochs of one round as ``train.epochs``."""
    cfg = replace(cfg, data=replace(cfg.data, train_file=opts.eval_file, task="text"))
    cfg = resolved_config(cfg)
    return replace(cfg, train=replace(cfg.train, epochs=opts.local_epochs))


def run_federate(
    cfg: RunConfig,
    opts: FederateOptions,
    *,
    log: Callable[[str], None] = lambda m: print(m, file=sys.stderr),
) -> FederateResult:
    """Check, start the federation on loopback, and turn its result into a run."""
    from ..federated.launch import flower_python

    least = check_options(cfg, opts)
    cfg = federated_config(cfg, opts)
    task = open_task(cfg)
    if task.name != "text":
        raise ConfigError("tuneforge federate trains text classifiers.")
    data = server_splits(cfg)
    python = flower_python(opts.flower_python)
    rd = RunDir.create(Path(cfg.runs_dir), new_run_id(cfg.name))
    dump_config(cfg, rd.config_path)
    recorder = RunRecorder(rd, open_store(Path(cfg.runs_dir)))
    federation = {
        "clients": len(opts.client_files),
        "strategy": opts.strategy,
        "rounds": opts.rounds,
        "local_epochs": opts.local_epochs,
        "min_clients": least,
        **({"proximal_mu": opts.proximal_mu} if opts.strategy == "fedprox" else {}),
    }
    start_run(recorder, task, data, resume=False, log=log, facts={"federated": federation})

    def report() -> None:
        from ..report import write_report

        try:
            write_report(rd.path)
        except Exception as exc:  # the report must never hide the run's own outcome
            log(f"warning: could not write {rd.report_path}: {exc}")

    with recorder.recording(finally_=report):
        facts = _federate(cfg, opts, least, data, rd, python, log)
        cm, result = _global_model(cfg, data, rd, facts, recorder)
        federation.update(_summary(facts))
        ev = finish_run(task, data, rd, recorder, cm, result, log, federated=federation)
    return FederateResult(rd.run_id, rd.path, ev.accuracy, federation)


def _federate(cfg, opts, least, data, rd: RunDir, python: str, log) -> dict:
    """Write the specs, run server and clients to the end; the server's history."""
    from ..federated.launch import free_port, run_federation
    from ..federated.spec import ClientSpec, ServerSpec, write_examples

    out = rd.federation_dir
    out.mkdir(parents=True, exist_ok=True)
    write_examples(out / "server-val.jsonl", data.val)
    address = f"{opts.host}:{opts.port or free_port(opts.host)}"
    from ..models import resolve_model_dir

    config = to_dict(cfg)
    # The processes load the very directory this one resolved ('default' is a package of
    # this environment, not of Flower's).
    config["model"]["name"] = str(resolve_model_dir(cfg.model.name).absolute())
    server = ServerSpec(
        config=config,
        address=address,
        labels=list(data.labels.names),
        val_file=str(out / "server-val.jsonl"),
        out_dir=str(out),
        n_clients=len(opts.client_files),
        min_clients=least,
        rounds=opts.rounds,
        local_epochs=opts.local_epochs,
        strategy=opts.strategy,
        proximal_mu=opts.proximal_mu if opts.strategy == "fedprox" else 0.0,
        connect_timeout=opts.connect_timeout,
        round_timeout=opts.round_timeout,
    )
    dies = dict(x.rsplit(":", 1) for x in os.environ.get(DIE_ENV, "").split(",") if ":" in x)
    clients = [
        ClientSpec(
            config=config,
            address=address,
            data_file=str(Path(path).absolute()),
            name=name,
            out_dir=str(out),
            connect_timeout=opts.connect_timeout,
            die_in_round=int(dies.get(name, 0)),
        )
        for name, path in zip(client_names(opts.client_files), opts.client_files)
    ]
    log(
        f"federation: server on {address}, {len(clients)} clients "
        f"({', '.join(c.name for c in clients)}), {opts.rounds} rounds of "
        f"{opts.local_epochs} local epoch(s), {opts.strategy}"
    )
    started = time.perf_counter()
    budget = opts.connect_timeout + opts.rounds * opts.round_timeout * 1.5 + 60
    run_federation(python, out, server, clients, budget, log)
    facts = json.loads((out / "history.json").read_text(encoding="utf-8"))
    facts["wall_seconds"] = round(time.perf_counter() - started, 2)
    return facts


def _global_model(cfg: RunConfig, data, rd: RunDir, facts: dict, recorder: RunRecorder):
    """The best round's global weights in a model like the clients', its round records in
    metrics.jsonl, and a TrainResult that says what the federation did."""
    import numpy as np

    from ..federated.local import federation_model
    from ..federated.weights import set_trainable, trainable_names
    from ..train import TrainResult
    from ..train.precision import resolve_device, resolve_precision

    cm = federation_model(cfg, data.labels.names)
    saved = np.load(rd.federation_dir / "global.npz")
    set_trainable(cm.model, [saved[n] for n in trainable_names(cm.model)])
    cm.model.eval()
    rounds = [h for h in facts["history"] if h["round"] > 0]
    for h in rounds:
        losses = [v for v in (h.get("client_loss") or {}).values() if v is not None]
        if losses:
            recorder.log_metrics(
                {
                    "split": "train",
                    "step": h["round"],
                    "epoch": h["round"],
                    "loss": float(np.mean(losses)),
                }
            )
        recorder.log_metrics(
            {
                "split": "val",
                "step": h["round"],
                "epoch": h["round"],
                **{k: h[k] for k in ("loss", "accuracy", "macro_f1")},
            }
        )
    best = next(h for h in rounds if h["round"] == facts["best_round"])
    n_client = sum(c["n_examples"] for c in facts["clients"])
    result = TrainResult(
        best_epoch=facts["best_round"],
        best_step=facts["best_round"],
        best_val_macro_f1=best["macro_f1"],
        epochs_run=len(rounds),
        global_step=len(rounds),
        train_seconds=facts["wall_seconds"],
        examples_per_s=n_client * cfg.train.epochs * len(rounds) / max(facts["wall_seconds"], 1e-9),
        precision=resolve_precision(cfg.train.precision, resolve_device()),
        stopped_early=False,
        history=rounds,
        privacy=_worst_privacy(facts.get("client_privacy") or {}),
    )
    return cm, result


def _worst_privacy(clients: dict) -> dict | None:
    """The DP account of the client that spent most (each client's ε covers its own rows)."""
    if not clients:
        return None
    name, worst = max(clients.items(), key=lambda kv: kv[1]["epsilon"])
    return {**worst, "client": name, "clients": {k: v["epsilon"] for k, v in clients.items()}}


def _summary(facts: dict) -> dict:
    """What status.json keeps of the federation: per round, its clients, bytes and figures."""
    rounds = [h for h in facts["history"] if h["round"] > 0]
    return {
        "best_round": facts["best_round"],
        "wall_seconds": facts["wall_seconds"],
        "bytes_per_model": facts["bytes_per_model"],
        "trainable_parameters": facts["trainable_parameters"],
        "client_examples": {c["name"]: c["n_examples"] for c in facts["clients"]},
        "history": [
            {
                k: h.get(k)
                for k in (
                    "round",
                    "accuracy",
                    "macro_f1",
                    "loss",
                    "answered",
                    "missing",
                    "bytes_down",
                    "bytes_up",
                    "seconds",
                )
            }
            for h in rounds
        ],
    }
