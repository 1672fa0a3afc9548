"""One federation client process, run with the Flower environment's python:
``python -m tuneforge.federated.client SPEC.json``.

It reads only its own data file, connects to the server (Flower's ``start_client`` over
gRPC), answers the server's question about what it holds (name, example count, label set),
builds the model for the server's label list and then trains each round locally from the
global weights. Errors it can explain (unreadable file, unknown labels, an ε it cannot meet)
go back to the server in that first answer, so the server stops the federation with them.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time

from ..errors import RunError, TuneforgeError
from .spec import (
    EXIT_CLIENT_FAILED,
    ClientSpec,
    Outcome,
    outcome_path,
    read_client_spec,
    write_json,
)


def make_client(spec: ClientSpec):
    """The Flower NumPyClient of this spec (its data read on creation). torch, transformers
    and peft load in a thread meanwhile: the model is built only once the server has said
    which labels it knows, and the build waits for that thread (transformers' lazy imports
    are not safe from two threads at once)."""
    from flwr.client import NumPyClient

    from ..config import load_config
    from .local import LocalTrainer, read_client_file, unknown_labels

    cfg = load_config(base=spec.config)
    preload = threading.Thread(target=_preload, daemon=True)
    preload.start()

    class Client(NumPyClient):
        def __init__(self) -> None:
            self.examples = read_client_file(cfg, spec.data_file)
            self.trainer: LocalTrainer | None = None

        def get_properties(self, config):
            known = json.loads(str(config.get("labels", "[]")))
            props = {
                "name": spec.name,
                "n_examples": len(self.examples),
                "labels": json.dumps(sorted({e.label for e in self.examples})),
            }
            if unknown_labels(self.examples, known):
                return props  # the server names them
            preload.join()
            try:
                self.trainer = LocalTrainer(cfg, self.examples, known)
                self.trainer.plan_rounds(int(config["rounds"]), int(config["local_epochs"]))
            except TuneforgeError as exc:
                props.update(error=exc.message, hint=exc.hint or "")
            return props

        def get_parameters(self, config):
            from .weights import get_trainable

            return get_trainable(self.trainer.cm.model)

        def fit(self, parameters, config):
            server_round = int(config.get("round", 0))
            if spec.die_in_round and server_round == spec.die_in_round:
                os._exit(EXIT_CLIENT_FAILED)  # the test of a client lost mid-round
            result = self.trainer.train_round(
                parameters, int(config["local_epochs"]), float(config.get("proximal_mu", 0.0))
            )
            print(
                f"{spec.name}: round {server_round} trained on {result.n_examples} examples",
                flush=True,
            )
            return result.arrays, result.n_examples, result.metrics

    return Client()


def wait_for_server(address: str, timeout: float) -> None:
    """Until the server accepts connections: Flower's legacy client gives up at once on a
    port nobody listens on yet, and the server may still be loading its model."""
    host, port = address.rsplit(":", 1)
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RunError(
                    f"no federation server answered on {address} within {timeout:g} s.",
                    hint="Start the server first, or check the address.",
                ) from None
            time.sleep(0.2)


def _preload() -> None:
    import importlib

    for name in ("tuneforge.models", "tuneforge.methods", "tuneforge.train", "peft"):
        try:
            importlib.import_module(name)
        except ImportError:  # the build reports it when it needs the module
            return


def run_client(spec: ClientSpec) -> None:
    os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")
    from flwr.client import start_client

    client = make_client(spec)
    wait_for_server(spec.address, spec.connect_timeout)
    start_client(
        server_address=spec.address,
        client=client.to_client(),
        insecure=True,
        max_retries=None,
        max_wait_time=spec.connect_timeout,
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    spec = read_client_spec(argv[0])
    target = outcome_path(spec.out_dir, spec.name)
    try:
        run_client(spec)
        write_json(target, Outcome(True))
        code = 0
    except TuneforgeError as exc:
        write_json(target, Outcome(False, exc.message, exc.hint, type(exc).__name__))
        code = exc.exit_code
    except BaseException as exc:  # noqa: BLE001 — reported to the coordinator
        write_json(target, Outcome(False, f"{type(exc).__name__}: {exc}"))
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
