"""The dashboard's runs page over 1,000 runs: server-side render time, and the first page in a
real browser (Debian's Chromium under Playwright), against a target of 1 s on 2 cores.

Each synthetic run is what training leaves: a store row with its ~50 flattened config keys and
~70 logged metrics (training loss, 8 validation epochs, test figures), and a run directory
with status.json and metrics.jsonl. No MLflow is installed here, so there is no peer figure:
this prints ours and the target.

    OMP_NUM_THREADS=1 python bench/ui_runs.py [--runs 1000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import shutil
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

TARGET_MS = 1000.0
METHODS = ("full", "lora", "adalora", "ia3", "prefix")
STATES = ("succeeded",) * 8 + ("failed", "running")


def _config(i: int, rng: random.Random) -> dict:
    method = METHODS[i % len(METHODS)]
    return {
        "name": f"bench-{i:04d}",
        "data": {
            "train_file": f"/data/{rng.choice(['tickets', 'banking77', 'intents'])}.csv",
            "task": "text",
            "val_fraction": 0.1,
            "test_fraction": 0.1,
            "seed": 42,
        },
        "model": {"name": "all-MiniLM-L6-v2", "max_length": 128, "hidden_dropout": 0.1},
        "train": {
            "epochs": 8,
            "batch_size": rng.choice([16, 32]),
            "lr": rng.choice([1e-4, 2e-4, 1e-3]),
            "weight_decay": 0.01,
            "warmup_ratio": 0.06,
            "precision": "auto",
            "seed": 42,
            **{f"knob_{k}": k for k in range(25)},  # the rest of a real config's keys
        },
        "method": {"name": method, "r": 8, "alpha": 16, "dropout": 0.0},
    }


def _metric_rows(run_id: str, rng: random.Random, now: dt.datetime) -> list[dict]:
    rows = []
    for step in range(1, 31):
        rows.append(("train", step, step / 4, "loss", 2.0 / step**0.5))
    for epoch in range(1, 9):
        acc = min(0.99, 0.4 + epoch * 0.07 + rng.uniform(-0.03, 0.03))
        for key, value in (("loss", 1.5 / epoch), ("accuracy", acc), ("macro_f1", acc - 0.02)):
            rows.append(("val", epoch * 4, epoch, key, value))
    for key in ("accuracy", "macro_f1", "weighted_f1"):
        rows.append(("test", 32, 8, key, rng.uniform(0.7, 0.95)))
    return [
        {"run_id": run_id, "split": s, "step": st, "epoch": e, "key": k, "value": v}
        | {"created_at": now}
        for s, st, e, k, v in rows
    ]


def build_runs(runs_dir: Path, n: int) -> None:
    """``n`` runs in the store (through RunStore.start/finish; metrics in one bulk insert, as
    a thousand trainings would have logged them) and their run directories."""
    import sqlalchemy as sa

    from tuneforge.store import RunDir, open_store
    from tuneforge.store.db import MetricRow

    rng, store, now = random.Random(0), open_store(runs_dir), dt.datetime.now(dt.timezone.utc)
    metrics = []
    for i in range(n):
        run_id = f"bench-{i:04d}"
        run = RunDir.create(runs_dir, run_id)
        state = STATES[i % len(STATES)]
        stored = store.start(run_id, run_id, str(run.path), _config(i, rng), model="minilm")
        run.update_status(run_id=run_id, state=state, created_at=now.isoformat(), task="text")
        run.append_metrics({"split": "val", "step": 4, "epoch": 1, "loss": 1.0})
        if state != "running":
            metrics += _metric_rows(run_id, rng, now)
            stored.finish(state)
    with store.engine.begin() as conn:
        conn.execute(sa.insert(MetricRow), metrics)


def _time(fn, repeat: int) -> tuple[float, float]:
    fn()  # warm: templates compiled, first connection opened
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), max(times)


def server_side(runs_dir: Path, repeat: int) -> list[tuple[str, float, float]]:
    from fastapi.testclient import TestClient

    from tuneforge.ui import UISettings, create_app

    client = TestClient(create_app(UISettings(runs_dir=runs_dir)), base_url="http://127.0.0.1")
    out = []
    for label, url in (
        ("runs page, newest first", "/runs"),
        ("sorted by accuracy", "/runs?sort=accuracy&order=asc"),
        ("filtered (lora)", "/runs?q=lora"),
        ("page 20 of 20", "/runs?page=20"),
    ):
        assert client.get(url).status_code == 200

        def get(url=url):
            assert client.get(url).status_code == 200

        out.append((label, *_time(get, repeat)))
    return out


def in_browser(runs_dir: Path, repeat: int) -> tuple[float, float] | None:
    """Navigation start to the load event of /runs in Chromium, or None without a browser."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    chromium = shutil.which("chromium")
    if chromium is None:
        return None
    import uvicorn

    from tuneforge.ui import UISettings, create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(UISettings(runs_dir=runs_dir, port=port))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium)
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}/runs")
            times = []
            for _ in range(repeat):
                page.goto(f"http://127.0.0.1:{port}/runs", wait_until="load")
                timing = page.evaluate(
                    "(() => { const t = performance.getEntriesByType('navigation')[0];"
                    " return t.loadEventEnd - t.startTime; })()"
                )
                times.append(timing)
            browser.close()
    finally:
        server.should_exit = True
    return statistics.median(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="tf-ui-bench-"))
    try:
        start = time.perf_counter()
        build_runs(root / "runs", args.runs)
        print(f"built {args.runs} runs in {time.perf_counter() - start:.1f} s", flush=True)
        rows = server_side(root / "runs", args.repeat)
        browser = in_browser(root / "runs", args.repeat)
        if browser:
            rows.append(("first page in Chromium (to load event)", *browser))
        print(f"\n{args.runs} runs; median and max of {args.repeat}; target {TARGET_MS:.0f} ms")
        print("| measurement | median ms | max ms | within 1 s |")
        print("|---|---|---|---|")
        for label, median, worst in rows:
            ok = "yes" if worst < TARGET_MS else "no"
            print(f"| {label} | {median:.0f} | {worst:.0f} | {ok} |")
        if browser is None:
            print("(no browser figure: playwright or chromium is missing)")
        print(json.dumps({"runs": args.runs, "rows": rows}))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
