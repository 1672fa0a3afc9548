"""Federated fine-tuning on BANKING77 against the centralised model and each client alone.

BANKING77's training split is dealt to 4 clients non-IID: for every intent, the share of its
rows each client gets is drawn from a Dirichlet distribution with α = 0.5 (small α: most
clients see few examples of most intents, some none). Three kinds of model are then trained
with the same method and seed and tested on the same held-out rows:

- **federated**: `tuneforge federate` (the recipe behind it) over the 4 client files, the
  server holding BANKING77's test split (half selects the best round, half tests);
- **centralised**: `tuneforge train` on the 4 client files put together;
- **local-only**: `tuneforge train` on each client's file alone (validated on the server's
  validation rows of the intents it holds; it can never predict the others).

Every model is tested on the federated run's test half. Prints test accuracy and macro-F1,
the gap to the centralised model, rounds, wall time and bytes sent per round (server → clients
and back). Goal: federated within 2 points of centralised and above every local-only model.

    python bench/federated.py                              # the full measurement
    python bench/federated.py --limit 800 --rounds 2 --epochs 1 --test-limit 300   # smoke run
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import print_table, shared_csv  # noqa: E402


def dirichlet_split(labels: list[str], n_clients: int, alpha: float, seed: int) -> list[list[int]]:
    """Row indices per client: each label's rows dealt by shares drawn from Dir(α)."""
    rng = np.random.default_rng(seed)
    parts: list[list[int]] = [[] for _ in range(n_clients)]
    for label in sorted(set(labels)):
        rows = [i for i, y in enumerate(labels) if y == label]
        rng.shuffle(rows)
        shares = rng.dirichlet([alpha] * n_clients)
        cuts = (np.cumsum(shares)[:-1] * len(rows)).round().astype(int)
        for k, chunk in enumerate(np.split(np.array(rows), cuts)):
            parts[k].extend(int(i) for i in chunk)
    return [sorted(p) for p in parts]


def write_clients(args, work: Path) -> tuple[list[Path], Path, dict]:
    """The client files and the server's evaluation file; each client's rows and intents."""
    import pandas as pd

    train = pd.read_csv(shared_csv("banking77", "train"), dtype=str, keep_default_na=False)
    test = pd.read_csv(shared_csv("banking77", "test"), dtype=str, keep_default_na=False)
    if args.limit:
        train = train.sample(n=min(args.limit, len(train)), random_state=args.seed)
    if args.test_limit:
        test = test.sample(n=min(args.test_limit, len(test)), random_state=args.seed)
    train = train.reset_index(drop=True)
    work.mkdir(parents=True, exist_ok=True)
    files, shape = [], {}
    for k, rows in enumerate(dirichlet_split(train["label"].tolist(), args.clients, args.alpha,
                                             args.seed)):  # fmt: skip
        part = train.iloc[rows]
        path = work / f"client{k + 1}.csv"
        part.to_csv(path, index=False)
        files.append(path)
        shape[path.stem] = {"rows": len(part), "intents": part["label"].nunique()}
    evaluation = work / "server-eval.csv"
    test.to_csv(evaluation, index=False)
    return files, evaluation, shape


def base_overrides(args, name: str) -> list[str]:
    out = [
        f"method.name={args.method}",
        f"data.seed={args.seed}",
        f"train.seed={args.seed}",
        f"runs_dir={args.runs_dir}",
        f"name={name}",
        "report.explain_wrong=0",
        *args.override,
    ]
    return out


def run_federated(args, files: list[Path], evaluation: Path, stamp: str) -> dict:
    from tuneforge.config import load_config
    from tuneforge.recipes.federate import FederateOptions, run_federate

    overrides = base_overrides(args, f"federated-banking77-{stamp}")
    if args.batch_size:
        overrides.append(f"train.batch_size={args.batch_size}")
    opts = FederateOptions(
        client_files=tuple(map(str, files)),
        eval_file=str(evaluation),
        rounds=args.rounds,
        local_epochs=args.local_epochs,
        strategy=args.strategy,
        min_clients=args.clients,
        round_timeout=args.round_timeout,
        flower_python=args.flower_python,
    )
    start = time.perf_counter()
    result = run_federate(load_config(overrides=overrides), opts)
    wall = time.perf_counter() - start
    rounds = result.facts["history"]
    return {
        "run_dir": result.run_dir,
        "wall_s": wall,
        "rounds": len(rounds),
        "best_round": result.facts["best_round"],
        "bytes_per_round": float(
            np.mean([h["bytes_down"] + h["bytes_up"] for h in rounds]) if rounds else 0
        ),
        "bytes_per_model": result.facts["bytes_per_model"],
    }


def split_csvs(run_dir: Path, work: Path) -> tuple[Path, Path]:
    """The federated run's kept validation and test halves, as CSV for the other runs."""
    import pandas as pd

    from tuneforge.store import RunDir

    out = []
    for split in ("val", "test"):
        kept = RunDir(run_dir).split_path(split, ".jsonl")
        lines = kept.read_text(encoding="utf-8").splitlines()
        rows = [json.loads(x) for x in lines if x]
        path = work / f"server-{split}.csv"
        pd.DataFrame({"text": [r["text"] for r in rows], "label": [r["label"] for r in rows]}
                     ).to_csv(path, index=False)  # fmt: skip
        out.append(path)
    return out[0], out[1]


def run_central(args, train: Path, val: Path, name: str) -> dict:
    """`tuneforge train` on ``train``, validated on ``val`` (its known intents only)."""
    import pandas as pd

    from tuneforge.config import load_config
    from tuneforge.recipes.train import run_train

    known = set(pd.read_csv(train, dtype=str, keep_default_na=False)["label"])
    frame = pd.read_csv(val, dtype=str, keep_default_na=False)
    own_val = Path(args.runs_dir) / "data" / f"{name}-val.csv"
    frame[frame["label"].isin(known)].to_csv(own_val, index=False)
    overrides = base_overrides(args, name) + [
        f"data.train_file={train}",
        f"data.val_file={own_val}",
        "data.test_fraction=0",
    ]
    if args.epochs:
        overrides.append(f"train.epochs={args.epochs}")
    if args.batch_size:
        overrides.append(f"train.batch_size={args.batch_size}")
    start = time.perf_counter()
    result = run_train(load_config(overrides=overrides), progress=False)
    return {"run_dir": result.run_dir, "wall_s": time.perf_counter() - start}


def test_scores(run_dir: Path, test: Path) -> tuple[float, float]:
    """Accuracy and macro-F1 (%) of the run's saved model on ``test`` (labels it cannot
    predict count as mistakes)."""
    import pandas as pd

    from tuneforge.evaluate.metrics import accuracy_and_macro_f1
    from tuneforge.predict import TorchPredictor
    from tuneforge.store import RunDir

    frame = pd.read_csv(test, dtype=str, keep_default_na=False)
    predictor = TorchPredictor.from_dir(RunDir(run_dir).model_dir)
    probs = predictor.predict_proba(frame["text"].tolist())
    names = list(predictor.labels)
    predicted = [names[i] for i in probs.argmax(1)]
    index = {n: i for i, n in enumerate(sorted(set(names) | set(frame["label"])))}
    acc, f1 = accuracy_and_macro_f1(
        [index[y] for y in frame["label"]], [index[y] for y in predicted]
    )
    return 100 * acc, 100 * f1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--clients", type=int, default=4)
    p.add_argument("--alpha", type=float, default=0.5, help="Dirichlet concentration")
    p.add_argument("--method", default="lora")
    p.add_argument("--rounds", type=int, default=16)
    p.add_argument("--local-epochs", type=int, default=1)
    p.add_argument("--strategy", default="fedavg", choices=["fedavg", "fedprox"])
    p.add_argument("--epochs", type=int, default=8, help="epochs of the centralised/local runs")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--limit", type=int, help="training rows (smoke runs)")
    p.add_argument("--test-limit", type=int, help="server evaluation rows (smoke runs)")
    p.add_argument("--round-timeout", type=float, default=1800.0)
    p.add_argument("--flower-python")
    p.add_argument("--runs-dir", default="bench/results/runs")
    p.add_argument("--override", action="append", default=[], metavar="key=value")
    args = p.parse_args(argv)

    stamp = time.strftime("%Y%m%d-%H%M%S")
    work = Path(args.runs_dir) / "data" / f"federated-{stamp}"
    files, evaluation, shape = write_clients(args, work)
    print(f"clients (Dirichlet α = {args.alpha}): {json.dumps(shape)}", flush=True)
    fed = run_federated(args, files, evaluation, stamp)
    val, test = split_csvs(fed["run_dir"], work)
    import pandas as pd

    union = work / "all-clients.csv"
    pd.concat([pd.read_csv(f, dtype=str, keep_default_na=False) for f in files]).to_csv(
        union, index=False
    )
    rows = []
    acc, f1 = test_scores(fed["run_dir"], test)
    cells = [("federated", fed, acc, f1)]
    central = run_central(args, union, val, f"central-banking77-{stamp}")
    cells.append(("centralised", central, *test_scores(central["run_dir"], test)))
    for path in files:
        local = run_central(args, path, val, f"local-{path.stem}-banking77-{stamp}")
        cells.append((f"local-only {path.stem}", local, *test_scores(local["run_dir"], test)))
    central_acc = cells[1][2]
    for name, cell, acc, f1 in cells:
        is_fed = name == "federated"
        rows.append([
            name,
            f"{acc:.2f}",
            f"{acc - central_acc:+.2f}" if name != "centralised" else "—",
            f"{f1:.2f}",
            str(fed["rounds"]) if is_fed else "—",
            f"{cell['wall_s']:.0f}",
            f"{fed['bytes_per_round']:,.0f}" if is_fed else "—",
        ])  # fmt: skip
    print_table(
        ["model", "test acc %", "vs central", "macro-F1 %", "rounds", "wall s", "bytes/round"],
        rows,
    )
    locals_ = [c[2] for c in cells[2:]]
    fed_acc = cells[0][2]
    print(
        f"goal: within 2 points of centralised ({fed_acc - central_acc:+.2f}) "
        f"{'met' if fed_acc >= central_acc - 2 else 'missed'}; above every local-only model "
        f"(best {max(locals_):.2f}) {'met' if fed_acc > max(locals_) else 'missed'}. "
        f"Best round {fed['best_round']}; {fed['bytes_per_model']:,} bytes per model copy."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
