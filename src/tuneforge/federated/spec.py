"""What the coordinator tells each Flower process, as one JSON file per process.

The server's and each client's settings travel as files rather than flags: they hold the
whole resolved run config, and a file is what a client on another machine would be handed.
The outcome comes back the same way (``outcome.json`` beside the spec). Plain JSON and the
standard library only: both environments read these.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..types import Example

STRATEGIES = ("fedavg", "fedprox")
# AdaLoRA reallocates ranks per client, so its adapters would not line up for averaging.
FEDERATED_METHODS = ("full", "lora", "ia3", "prefix")
# The flower process exit codes the coordinator tells apart (beside tuneforge's own 1 and 2).
EXIT_CLIENT_FAILED = 4


@dataclass(frozen=True)
class ServerSpec:
    """The federation the server runs: who may join, for how long, and how it aggregates."""

    config: dict  # the resolved RunConfig as a dict
    address: str  # host:port the server listens on
    labels: list[str]  # the label set the server knows, in the head's order
    val_file: str  # JSONL of the server's validation examples (selects the best round)
    out_dir: str  # where the global weights, history and outcome go
    n_clients: int
    min_clients: int  # fewest answers a round may aggregate
    rounds: int
    local_epochs: int
    strategy: str = "fedavg"  # fedavg | fedprox
    proximal_mu: float = 0.0
    connect_timeout: float = 120.0  # seconds for every client to join
    round_timeout: float = 600.0  # seconds a client may take for one round


@dataclass(frozen=True)
class ClientSpec:
    """One client: its own data file and where the server is."""

    config: dict
    address: str
    data_file: str
    name: str
    out_dir: str
    connect_timeout: float = 120.0
    # Tests only: exit abruptly during this round's training (a client that dies mid-round).
    die_in_round: int = 0


@dataclass
class Outcome:
    """How a process ended: ``ok``, or the message and hint of the error it stopped on."""

    ok: bool
    message: str = ""
    hint: str | None = None
    kind: str = ""  # the tuneforge error class name, when it was one
    facts: dict = field(default_factory=dict)


def write_json(path: Path, value) -> None:
    """Write ``value`` (a dataclass or plain data) as JSON, atomically."""
    data = asdict(value) if hasattr(value, "__dataclass_fields__") else value
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(path)


def read_server_spec(path: str | Path) -> ServerSpec:
    return ServerSpec(**json.loads(Path(path).read_text(encoding="utf-8")))


def read_client_spec(path: str | Path) -> ClientSpec:
    return ClientSpec(**json.loads(Path(path).read_text(encoding="utf-8")))


def outcome_path(out_dir: str | Path, name: str) -> Path:
    return Path(out_dir) / f"{name}.outcome.json"


def read_outcome(path: Path) -> Outcome | None:
    """The outcome a process wrote, None when it wrote none (it was killed or crashed)."""
    if not path.is_file():
        return None
    return Outcome(**json.loads(path.read_text(encoding="utf-8")))


def write_examples(path: Path, examples: list[Example]) -> None:
    lines = (json.dumps({"text": e.text, "label": e.label, "row": e.row}) for e in examples)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def read_examples(path: str | Path) -> list[Example]:
    rows = [json.loads(x) for x in Path(path).read_text(encoding="utf-8").splitlines() if x]
    return [Example(r["text"], r["label"], r.get("row", i + 1)) for i, r in enumerate(rows)]
