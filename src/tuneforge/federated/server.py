"""The federation's server process, run with the Flower environment's python:
``python -m tuneforge.federated.server SPEC.json``.

Flower's gRPC server (``flwr.server.start_server``) with a FedProx strategy (μ = 0 is FedAvg:
Flower's FedProx aggregates exactly as FedAvg and only tells clients μ). Before round 1 it
waits for every client (``connect_timeout``), asks each for its name, example count and label
set, and refuses a label it does not know; each round goes to every connected client, and a
client that fails or does not answer within ``round_timeout`` is left out of that round's
average, as long as ``min_clients`` answered. After each round the global weights are
measured on the server's validation examples; the best round's weights are the result.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import numpy as np

from ..errors import DataError, RunError, TuneforgeError
from .spec import Outcome, ServerSpec, outcome_path, read_examples, read_server_spec, write_json
from .weights import payload_bytes


def check_client_labels(name: str, labels: list[str], known: list[str]) -> None:
    """A DataError naming the client and the labels the server does not know."""
    unknown = sorted(set(labels) - set(known))
    if unknown:
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        raise DataError(
            f"client '{name}' has {len(unknown)} label(s) the server does not know: "
            f"{', '.join(map(repr, unknown[:10]))}{more}. The global model's head has one "
            f"row per server label ({len(known)}: {', '.join(map(repr, known[:10]))}"
            f"{' ...' if len(known) > 10 else ''}).",
            hint="Add examples of those labels to the server's evaluation file, or remove "
            "those rows from the client's file.",
        )


class ServerModel:
    """The server's model, built in a background thread while clients join (loading it
    must not keep the port closed); :meth:`get` waits for it and re-raises its error."""

    def __init__(self, spec: ServerSpec) -> None:
        self.spec = spec
        self.built: dict = {}
        self.thread = threading.Thread(target=self._build, daemon=True)
        self.thread.start()

    def _build(self) -> None:
        from ..config import load_config
        from ..train.seed import set_seed
        from .local import GlobalEvaluator, federation_model
        from .weights import get_trainable

        try:
            cfg = load_config(base=self.spec.config)
            set_seed(cfg.train.seed)
            cm = federation_model(cfg, self.spec.labels)
            self.built.update(
                cm=cm,
                evaluator=GlobalEvaluator(cm, read_examples(self.spec.val_file)),
                initial=get_trainable(cm.model),
            )
        except BaseException as exc:  # noqa: BLE001 — raised again by get()
            self.built["error"] = exc

    def get(self) -> dict:
        self.thread.join()
        if "error" in self.built:
            raise self.built["error"]
        return self.built


def make_strategy(spec: ServerSpec, model: ServerModel):
    """The FedProx strategy of this federation, with the checks and bookkeeping above."""
    from flwr.common import (
        GetPropertiesIns,
        ndarrays_to_parameters,
        parameters_to_ndarrays,
    )
    from flwr.server.strategy import FedProx

    class Strategy(FedProx):
        def __init__(self) -> None:
            super().__init__(
                fraction_fit=1.0,
                fraction_evaluate=0.0,
                min_fit_clients=spec.min_clients,
                min_available_clients=spec.n_clients,
                accept_failures=True,
                proximal_mu=spec.proximal_mu,
                on_fit_config_fn=lambda r: {"round": r, "local_epochs": spec.local_epochs},
            )
            self.names: dict[str, str] = {}  # Flower's client id → the client's name
            self.clients: list[dict] = []
            self.history: list[dict] = []
            self.best: tuple[float, float, int, list[np.ndarray]] | None = None
            self.started = time.perf_counter()
            self.pending: dict = {}
            self.privacy: dict[str, dict] = {}  # DP clients' latest account, by name

        def initialize_parameters(self, client_manager):
            """Wait for every client, check what each holds; the server's weights start."""
            if not client_manager.wait_for(spec.n_clients, timeout=spec.connect_timeout):
                raise RunError(
                    f"only {client_manager.num_available()} of {spec.n_clients} clients "
                    f"joined within {spec.connect_timeout:g} s.",
                    hint="Check that every client is started and can reach the server's "
                    "address (federate.connect_timeout raises the wait).",
                )
            ask = GetPropertiesIns(
                config={
                    "labels": json.dumps(spec.labels),
                    "rounds": spec.rounds,
                    "local_epochs": spec.local_epochs,
                }
            )
            # All at once, each answer checked as it comes: a client builds its model for
            # the labels before it answers, one with unknown labels answers at once.
            proxies = dict(sorted(client_manager.all().items()))
            pool = ThreadPoolExecutor(max_workers=len(proxies))
            futures = {
                pool.submit(p.get_properties, ask, timeout=spec.round_timeout, group_id=0): cid
                for cid, p in proxies.items()
            }
            try:
                for future in as_completed(futures):
                    self._admit(futures[future], dict(future.result().properties))
            finally:
                pool.shutdown(wait=False, cancel_futures=True)
            self.clients.sort(key=lambda c: c["name"])
            return ndarrays_to_parameters(model.get()["initial"])

        def _admit(self, cid: str, props: dict) -> None:
            name = str(props.get("name", cid))
            if props.get("error"):
                raise DataError(
                    f"client '{name}': {props['error']}", hint=props.get("hint") or None
                )
            check_client_labels(name, json.loads(str(props.get("labels", "[]"))), spec.labels)
            self.names[cid] = name
            self.clients.append({"name": name, "n_examples": int(props.get("n_examples", 0))})

        def configure_fit(self, server_round, parameters, client_manager):
            clients = sorted(client_manager.all().items())
            if len(clients) < spec.min_clients:
                raise RunError(
                    f"round {server_round}: only {len(clients)} client(s) still connected, "
                    f"fewer than federate.min_clients={spec.min_clients}.",
                    hint="Restart the clients that left, or lower --min-clients.",
                )
            config = {**self.on_fit_config_fn(server_round), "proximal_mu": self.proximal_mu}
            from flwr.common import FitIns

            ins = FitIns(parameters, config)
            down = sum(len(t) for t in parameters.tensors)
            self.pending = {"sent": [self.names.get(c, c) for c, _ in clients], "down": down}
            return [(proxy, ins) for _, proxy in clients]

        def aggregate_fit(self, server_round, results, failures):
            answered = sorted(self.names.get(p.cid, p.cid) for p, _ in results)
            missing = [n for n in self.pending["sent"] if n not in answered]
            if len(results) < spec.min_clients:
                raise RunError(
                    f"round {server_round}: {len(results)} of {len(self.pending['sent'])} "
                    f"clients answered (missing: {', '.join(missing) or 'none'}), fewer than "
                    f"federate.min_clients={spec.min_clients}.",
                    hint="See the missing clients' logs; lower --min-clients to go on with fewer.",
                )
            up = sum(sum(len(t) for t in res.parameters.tensors) for _, res in results)
            for proxy, res in results:
                if "epsilon" in res.metrics:
                    self.privacy[self.names.get(proxy.cid, proxy.cid)] = dict(res.metrics)
            self.pending.update(
                round=server_round,
                answered=answered,
                missing=missing,
                bytes_down=self.pending["down"] * len(self.pending["sent"]),
                bytes_up=up,
                client_loss={
                    self.names.get(p.cid, p.cid): r.metrics.get("loss") for p, r in results
                },
            )
            if self.privacy:
                self.pending["epsilon"] = max(p["epsilon"] for p in self.privacy.values())
            return super().aggregate_fit(server_round, results, failures)

        def evaluate(self, server_round, parameters):
            arrays = parameters_to_ndarrays(parameters)
            metrics = model.get()["evaluator"](arrays)
            if server_round == 0:
                self.history.append({"round": 0, **metrics})
                return metrics["loss"], metrics
            entry = {k: v for k, v in self.pending.items() if k not in ("sent", "down")}
            entry.update(metrics, seconds=round(time.perf_counter() - self.started, 2))
            self.history.append(entry)
            key = (metrics["macro_f1"], -metrics["loss"])
            if self.best is None or key > self.best[:2]:
                self.best = (*key, server_round, [a.copy() for a in arrays])
            missing = entry.get("missing") or []
            print(
                f"round {server_round}/{spec.rounds}: val accuracy {metrics['accuracy']:.4f}, "
                f"macro-F1 {metrics['macro_f1']:.4f}, {len(entry.get('answered', []))} "
                f"client(s){' missing ' + ', '.join(missing) if missing else ''}",
                flush=True,
            )
            return metrics["loss"], metrics

    return Strategy()


def run_server(spec: ServerSpec) -> dict:
    """Run the federation; write the best global weights and the history to ``out_dir``."""
    os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")
    from flwr.server import ServerConfig, SimpleClientManager, start_server

    from .weights import trainable_names

    model = ServerModel(spec)
    strategy = make_strategy(spec, model)
    start_server(
        server_address=spec.address,
        config=ServerConfig(num_rounds=spec.rounds, round_timeout=spec.round_timeout),
        strategy=strategy,
        client_manager=SimpleClientManager(),
    )
    if strategy.best is None:
        raise RunError("the federation finished no round, so there is no global model.")
    _, _, best_round, arrays = strategy.best
    built = model.get()
    out = Path(spec.out_dir)
    np.savez(out / "global.npz", **dict(zip(trainable_names(built["cm"].model), arrays)))
    facts = {
        "best_round": best_round,
        "clients": strategy.clients,
        "history": strategy.history,
        "bytes_per_model": payload_bytes(built["initial"]),
        "trainable_parameters": int(sum(a.size for a in built["initial"])),
        "client_privacy": strategy.privacy,
    }
    write_json(out / "history.json", facts)
    return facts


def main(argv: list[str] | None = None) -> int:
    """Run the spec's server; the outcome file says how it ended, the exit code too."""
    argv = sys.argv[1:] if argv is None else argv
    spec = read_server_spec(argv[0])
    target = outcome_path(spec.out_dir, "server")
    try:
        run_server(spec)
        write_json(target, Outcome(True))
        code = 0
    except TuneforgeError as exc:
        write_json(target, Outcome(False, exc.message, exc.hint, type(exc).__name__))
        code = exc.exit_code
    except BaseException as exc:  # noqa: BLE001 — reported to the coordinator, not swallowed
        write_json(target, Outcome(False, f"{type(exc).__name__}: {exc}"))
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # Flower's gRPC threads must not keep a failed server alive


if __name__ == "__main__":
    main()
