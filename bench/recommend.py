"""Recommendation baselines on MovieLens-100k, leave-last-out over all items.

The bar a text-aware recommender must clear, measured with tuneforge's own ranking evaluation
(:mod:`tuneforge.evaluate.ranking`): random, popularity, item-kNN on co-occurrence, and ALS from
the ``implicit`` package (the matrix factorisation a practitioner tries first). HR@10, NDCG@10,
Recall@20 and coverage@20 over every item the user has not rated; every rating counts as an
interaction, in time order.

    python bench/recommend.py

The data is read from ../shared/data/movielens_100k (its README states the terms: research
use, acknowledged; it is never copied into the project). Every figure printed is measured in
this run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from common import SHARED, print_table  # noqa: E402

from tuneforge.evaluate.ranking import (  # noqa: E402
    evaluate_ranking,
    item_knn_scores,
    leave_last_out,
    popularity_scores,
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--iterations", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    frame = movielens()
    users = frame["user"].astype("category")
    items = frame["item"].astype("category")
    n_users, n_items = len(users.cat.categories), len(items.cat.categories)
    train, test = leave_last_out(users.cat.codes, items.cat.codes, n_users, n_items)
    print(f"{len(frame):,} ratings, {n_users} users, {n_items} items, {len(test)} test users")
    rng = np.random.default_rng(args.seed)
    methods = {
        "random": lambda: lambda codes: rng.random((len(codes), n_items)),
        "popularity": lambda: popularity_scores(train),
        "item-kNN (co-occurrence, 100 neighbours)": lambda: item_knn_scores(train),
        f"ALS (implicit, {args.factors} factors)": lambda: als_scores(
            train, args.factors, args.iterations, args.seed
        ),
    }
    rows = []
    for name, build in methods.items():
        start = time.perf_counter()
        report = evaluate_ranking(build(), train, test, ks=(10, 20)).to_dict()
        seconds = time.perf_counter() - start
        rows.append(
            [
                name,
                f"{report['hr@10']:.4f}",
                f"{report['ndcg@10']:.4f}",
                f"{report['recall@20']:.4f}",
                f"{report['coverage']:.3f}",
                f"{seconds:.1f}",
            ]
        )
    print_table(["method", "HR@10", "NDCG@10", "Recall@20", "coverage@20", "seconds"], rows)


if __name__ == "__main__":
    main()
