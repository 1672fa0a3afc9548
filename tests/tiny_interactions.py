"""A tiny shop for recommend tests: two tastes (tea and coffee items), users who stick to one,
written as interactions.csv (user, item, timestamp) and items.csv (id, title, category)."""

from __future__ import annotations

import csv
import random
from pathlib import Path

TASTES = {
    "tea": ["green", "black", "oolong", "mint", "jasmine", "earl grey"],
    "coffee": ["espresso", "latte", "mocha", "arabica", "robusta", "filter"],
}


def shop_items() -> list[dict]:
    return [
        {"id": f"{taste}-{n}", "title": f"{name} {taste}", "category": taste}
        for taste, names in TASTES.items()
        for n, name in enumerate(names)
    ]


def shop_events(users: int = 24, per_user: int = 6, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    ids = {t: [f"{t}-{n}" for n in range(len(names))] for t, names in TASTES.items()}
    rows, clock = [], 1_000
    for u in range(users):
        taste = "tea" if u % 2 == 0 else "coffee"
        for item in rng.sample(ids[taste], per_user):
            clock += rng.randint(1, 5)
            rows.append({"user": f"u{u}", "item": item, "timestamp": clock})
    rng.shuffle(rows)  # file order is not time order: the timestamp column decides
    return rows


def write_rows(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_shop(root: Path, events: list[dict] | None = None, items: list[dict] | None = None):
    """(interactions.csv, items.csv) under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    return (
        write_rows(root / "interactions.csv", events or shop_events()),
        write_rows(root / "items.csv", items or shop_items()),
    )


TINY_RECOMMEND = [
    "train.epochs=4",
    "train.batch_size=16",
    "recommend.dim=16",
    "recommend.hidden=32",
    "data.cold_fraction=0.2",
]


def train_shop(root: Path, model_dir: Path, name: str = "shop", *extra: str) -> Path:
    """Train a recommend run on the tiny shop (``root/name``'s files when there are, else
    written) through the CLI; returns the runs dir."""
    from tuneforge.cli import main

    folder = root / name
    if (folder / "items.csv").is_file():
        events, items = folder / "interactions.csv", folder / "items.csv"
    else:
        events, items = write_shop(folder)
    runs = root / "runs"
    argv = ["train", str(events), "--items", str(items), "--model", str(model_dir)]
    argv += ["--runs-dir", str(runs), "--name", name, "--no-progress", *TINY_RECOMMEND, *extra]
    assert main(argv) == 0
    return runs
