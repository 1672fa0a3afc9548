"""Recommendation on MovieLens-100k, leave-last-out over all items, and a cold-start split.

tuneforge's two-tower recommender (``train --task recommend``: item texts through the frozen
sentence encoder, user histories pooled, in-batch negatives) side by side, in one run, with the
bar: random, popularity, item-kNN on co-occurrence, and ALS from the ``implicit`` package (the
matrix factorisation a practitioner tries first). HR@10, NDCG@10, Recall@20 and coverage@20
over every item the user has not rated; every rating counts as an interaction, in time order.
The item text is the title, the genres and the release date. Then the cold-start split: 10%
of the rated items held out of training whole, each user who rated one tested on the last,
ranked among the held-out items (only text knows them: ALS's factors for them never trained).
Last, p50/p99 of ``POST /v1/recommend`` through uvicorn on loopback, beside ``/healthz``.

    python bench/recommend.py                    # the full measurement (about 10 minutes)
    python bench/recommend.py --users 100 --epochs 1 --no-serve   # a smoke run (~1 minute)

The data is read from ../shared/data/movielens_100k (its README states the terms: research
use, acknowledged; it is never copied into the project: the run's inputs are written to a
temporary folder, deleted at the end). Every figure printed is measured in this run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from common import SHARED, print_table  # noqa: E402

from tuneforge.evaluate.ranking import (  # noqa: E402
    evaluate_ranking,
    leave_last_out,
)


def movielens() -> pd.DataFrame:
    path = SHARED / "data" / "movielens_100k" / "u.data"
    if not path.is_file():
        raise SystemExit(f"{path} not found: benchmarks read ../shared/data")
    frame = pd.read_csv(path, sep="\t", names=["user", "item", "rating", "ts"])
    return frame.sort_values(["ts", "user", "item"], kind="stable").reset_index(drop=True)


def als_scores(train, factors: int, iterations: int, seed: int):
    from implicit.als import AlternatingLeastSquares
    from scipy.sparse import csr_matrix

    matrix = csr_matrix(
        (np.ones(len(train.users), dtype=np.float32), (train.users, train.items)),
        shape=(train.n_users, train.n_items),
    )
    model = AlternatingLeastSquares(factors=factors, iterations=iterations, random_state=seed)
    model.fit(matrix, show_progress=False)
    users, items = np.asarray(model.user_factors), np.asarray(model.item_factors)
    return lambda codes: users[codes] @ items.T


GENRES = [
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
]  # u.genre's order


def movie_items() -> pd.DataFrame:
    """id, title, genres, release date: the text each movie is known by."""
    path = SHARED / "data" / "movielens_100k" / "u.item"
    names = ["id", "title", "release", "video", "url", *GENRES]
    frame = pd.read_csv(path, sep="|", names=names, encoding="latin-1", dtype=str)
    flags = frame[GENRES].astype(int).to_numpy()
    genres = [", ".join(g for g, on in zip(GENRES, row) if on) for row in flags]
    return pd.DataFrame(
        {"id": frame["id"], "title": frame["title"], "genres": genres, "released": frame["release"]}
    ).fillna("")


def two_tower_run(folder: Path, ratings: pd.DataFrame, args) -> tuple[Path, dict, float]:
    """A recommend run through tuneforge's own flow on files written to ``folder``."""
    from tuneforge.config import load_config
    from tuneforge.recipes.recommend import train_recommender

    events = folder / "interactions.csv"
    ratings[["user", "item", "ts"]].to_csv(events, index=False)
    items = folder / "items.csv"
    movie_items().to_csv(items, index=False)
    overrides = [
        f"train.epochs={args.epochs}",
        f"train.seed={args.seed}",
        f"data.seed={args.seed}",
        f"data.cold_fraction={args.cold_fraction}",
        f"recommend.pooling={args.pooling}",
        *args.set,
    ]
    flags = {
        "data": {"train_file": str(events), "items_file": str(items), "task": "recommend"},
        "model": {"name": args.encoder},
    }
    cfg = load_config(None, overrides, base={"runs_dir": str(folder / "runs")}, flags=flags)
    start = time.perf_counter()
    result = train_recommender(cfg, log=lambda m: print(m, file=sys.stderr))
    return result.run_dir, result.eval, time.perf_counter() - start


def same_splits(folder: Path, cold_fraction: float, seed: int):
    """The run's own codes and splits, for the methods the run does not train (ALS, random)."""
    from tuneforge.data.interactions import read_catalogue, read_interactions
    from tuneforge.evaluate.ranking import cold_start_split

    catalogue = read_catalogue(folder / "items.csv")
    log = read_interactions(folder / "interactions.csv", catalogue)
    n_users, n_items = len(log.user_ids), len(catalogue.ids)
    history, test = leave_last_out(log.users, log.items, n_users, n_items)
    cold = cold_start_split(log.users, log.items, n_users, n_items, cold_fraction, seed)
    return history, test, cold, n_items


def row(name: str, figures: dict, seconds: float | None = None) -> list[str]:
    keys = ("hr@10", "ndcg@10", "recall@20", "coverage")
    shown = [f"{figures[k]:.4f}" for k in keys]
    return [name, *shown, "" if seconds is None else f"{seconds:.1f}"]


def served_latency(run_dir: Path, users: list[str], n: int = 500) -> list[list[str]]:
    """p50/p99 ms of POST /v1/recommend (k=10, a known user) and GET /healthz through uvicorn
    on loopback, one request at a time after 20 warm-up requests."""
    import httpx
    import uvicorn
    from similar import free_port

    from tuneforge.recipes.serve import recommend_app
    from tuneforge.serve import ServeSettings

    port = free_port()
    app = recommend_app(str(run_dir), run_dir.parent, ServeSettings(port=port))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    rows = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        for name, call in {
            "POST /v1/recommend": lambda i: client.post(
                "/v1/recommend", json={"user": users[i % len(users)], "k": 10}
            ),
            "GET /healthz": lambda i: client.get("/healthz"),
        }.items():
            times = []
            for i in range(n + 20):
                start = time.perf_counter()
                call(i).raise_for_status()
                if i >= 20:
                    times.append(1000 * (time.perf_counter() - start))
            rows.append(
                [name, f"{np.percentile(times, 50):.2f}", f"{np.percentile(times, 99):.2f}"]
            )
    server.should_exit = True
    thread.join(10)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--iterations", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=20, help="two-tower epochs (early stopping)")
    parser.add_argument("--pooling", choices=["mean", "attention"], default="mean")
    parser.add_argument("--encoder", default="default", help="sentence encoder of the item texts")
    parser.add_argument("--cold-fraction", type=float, default=0.1)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a run setting, e.g. recommend.id_dropout=0.8 (repeatable)",
    )
    parser.add_argument("--users", type=int, help="only the first N users (a smoke run)")
    parser.add_argument("--no-serve", action="store_true", help="skip the latency measurement")
    args = parser.parse_args()
    frame = movielens()
    if args.users:
        keep = sorted(frame["user"].unique())[: args.users]
        frame = frame[frame["user"].isin(keep)].reset_index(drop=True)
    with tempfile.TemporaryDirectory(prefix="tuneforge-movielens-") as tmp:
        folder = Path(tmp)
        run_dir, ev, seconds = two_tower_run(folder, frame, args)
        history, test, (warm, cold_test, cold), n_items = same_splits(
            folder, args.cold_fraction, args.seed
        )
        print(
            f"{len(frame):,} ratings, {history.n_users} users, {n_items} items, "
            f"{len(test)} test users"
        )
        rng = np.random.default_rng(args.seed)
        rows = [row("two-tower (tuneforge, text + history)", ev, seconds)]
        rows += [
            row(name, figures, figures["seconds"]) for name, figures in ev["baselines"].items()
        ]
        for name, build in {
            "random": lambda: lambda codes: rng.random((len(codes), n_items)),
            f"ALS (implicit, {args.factors} factors)": lambda: als_scores(
                history, args.factors, args.iterations, args.seed
            ),
        }.items():
            start = time.perf_counter()
            figures = evaluate_ranking(build(), history, test, ks=(10, 20)).to_dict()
            rows.append(row(name, figures, time.perf_counter() - start))
        headers = ["method", "HR@10", "NDCG@10", "Recall@20", "coverage@20", "seconds"]
        print("\nleave-last-out, ranked over all unseen items")
        print_table(headers, rows)
        cold_ev = ev.get("cold_start") or {}
        if cold_ev:
            cold_rows = [row("two-tower (tuneforge)", cold_ev)]
            cold_rows.append(row("random", cold_ev["baselines"]["random"]))
            als = als_scores(warm, args.factors, args.iterations, args.seed)
            figures = evaluate_ranking(als, warm, cold_test, ks=(10, 20), candidates=cold).to_dict()
            cold_rows.append(row("ALS (never saw these items)", figures))
            print(
                f"\ncold start: {len(cold)} items without training interactions, "
                f"{len(cold_test)} users, ranked among those items"
            )
            print_table(headers[:-1] + [""], cold_rows)
        if not args.no_serve:
            users = [str(u) for u in sorted(frame["user"].unique())]
            print("\nserved, one request at a time (ms)")
            print_table(["endpoint", "p50", "p99"], served_latency(run_dir, users))


if __name__ == "__main__":
    main()
