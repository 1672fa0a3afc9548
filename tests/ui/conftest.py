"""The dashboard under test: a runs folder of real tiny runs, the app served by uvicorn on a
free loopback port, and Debian's Chromium driven by Playwright.

The browser is the system's (``apt-get install chromium``, scripts/ensure-chromium):
Playwright's own browser download is not reachable here. Without Chromium or the playwright
package the browser tests skip, and fail where TUNEFORGE_REQUIRE_BROWSER=1 (CI). Screenshots
go to $TUNEFORGE_ARTIFACTS/ui (else a pytest temporary folder), one PNG per page.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from ..conftest import (
    TINY_IMAGE_TRAIN,
    TINY_TRAIN,
    make_rows,
    train_tiny_run,
    write_csv,
    write_shapes,
)

PWNED = "<script>window.__pwned=1</script>"
RUN_A, RUN_B = "tiny-a", "tiny-b"
MODEL = "intents"  # tiny-a, registered in production
QUEUE, RETRAIN_QUEUE = "support", "fresh"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _hostile_rows() -> list[dict]:
    """The keyword rows with one label renamed to a script tag and script tags in its texts:
    the pages must show them as text and never run them."""
    rows = make_rows(40, seed=1)
    for row in rows:
        if row["label"] == "account":
            row["label"] = PWNED
            row["text"] = f"{PWNED} {row['text']}"
    return rows


def _variants(run_dir: Path) -> None:
    """A trade-off table and parity checks as compress writes them (its own writers and
    records), without the minutes of building real variants."""
    from tuneforge.compress.parity import ParityReport
    from tuneforge.compress.tradeoff import VariantMeasurement, write_tradeoff
    from tuneforge.store import RunDir

    run = RunDir(run_dir)
    rows = [
        VariantMeasurement("model", 0.92, 0.91, 1.0, 17.5, 420, 6.1, 7.9, 310),
        VariantMeasurement("onnx", 0.92, 0.91, 1.0, 17.1, 260, 2.4, 3.2, 820),
        VariantMeasurement("onnx-int8-dynamic", 0.9, 0.89, 0.97, 4.6, 190, 1.3, 1.9, 1460),
    ]
    write_tradeoff(run.tradeoff_path, rows, "onnx-int8-dynamic", 0.03, "test split (12 texts)")
    checks = {
        "onnx": ParityReport("onnx", 12, 1.0, 2e-6, 4e-7, 0.92, 0.92, 0.0, True, True),
        "onnx-int8-dynamic": ParityReport(
            "onnx-int8-dynamic", 12, 0.97, 0.08, 0.01, 0.92, 0.9, -0.02, False, True
        ),
    }
    run.write_json(run.parity_path.name, {k: v.to_dict() for k, v in checks.items()})
    for name in checks:  # the folders promote looks for; nothing here loads them
        run.variant_dir(name).mkdir(parents=True, exist_ok=True)


def _queues(runs: Path) -> None:
    """Queue ``support`` (a few new texts, one holding a script tag, nothing labelled yet but
    one conflict between two annotators) and queue ``fresh`` (twelve new texts labelled by one
    annotator: enough for a retrain), both of the keyword labels."""
    import datetime as dt

    from tuneforge.label.queue import Annotation, LabelStore, NewItem, text_fingerprint
    from tuneforge.store import open_store

    labels = LabelStore(open_store(runs))
    at = dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)
    support = labels.open_queue(QUEUE, "text", ("billing", "shipping", "account"))
    texts = [f"{PWNED} my invoice and my parcel"]
    texts += [f"{r['text']} today" for r in make_rows(2, seed=21)]
    labels.add_items(support, [NewItem(t, text_fingerprint(t), "ui-test") for t in texts])
    first = labels.items(support)[0]
    labels.add_annotations(
        support,
        [
            Annotation(first.id, "billing", "ana", at, "csv"),
            Annotation(first.id, "shipping", PWNED, at, "csv"),
        ],
    )
    fresh = labels.open_queue(RETRAIN_QUEUE, "text", ("billing", "shipping", "account"))
    rows = [{**r, "text": f"{r['text']} once more"} for r in make_rows(4, seed=33)]
    labels.add_items(
        fresh, [NewItem(r["text"], text_fingerprint(r["text"]), "ui-test") for r in rows]
    )
    ids = {i.content: i.id for i in labels.items(fresh)}
    labels.add_annotations(
        fresh, [Annotation(ids[r["text"]], r["label"], "ana", at, "csv") for r in rows]
    )


@pytest.fixture(scope="package")
def ui_runs(tmp_path_factory, tiny_model_dir) -> Path:
    """Two trained tiny runs: tiny-a learns the keywords; tiny-b trains one epoch on labels and
    texts holding a script tag, so it has confusions, wrong texts to explain, and hostile text
    on every page. tiny-b also gets a trade-off table and parity checks (onnx passes the gate,
    onnx-int8-dynamic fails it); tiny-a is registered as intents@production; two labeling
    queues (``_queues``)."""
    from tuneforge.cli import main

    root = tmp_path_factory.mktemp("ui")
    os.environ.pop("TUNEFORGE_STORE_URL", None)
    runs = train_tiny_run(root, tiny_model_dir, RUN_A)
    data = write_csv(root / f"{RUN_B}.csv", _hostile_rows())
    argv = ["train", str(data), "--model", str(tiny_model_dir), "--runs-dir", str(runs)]
    argv += ["--name", RUN_B, "--no-progress", *TINY_TRAIN, "train.epochs=1"]
    assert main(argv) == 0
    assert main(["explain", RUN_B, "--wrong", "--limit", "4", "--runs-dir", str(runs)]) == 0
    _variants(runs / RUN_B)
    promote = ["registry", "promote", RUN_A, "--name", MODEL, "--stage", "production"]
    assert main([*promote, "--runs-dir", str(runs)]) == 0
    _queues(runs)
    return runs


class Served:
    """A dashboard app on a uvicorn server in a thread of this process."""

    def __init__(self, settings) -> None:
        import uvicorn

        from tuneforge.ui import create_app

        self.settings = settings
        config = uvicorn.Config(
            create_app(settings), host=settings.host, port=settings.port, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://{settings.host}:{settings.port}"

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the dashboard did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="package")
def ui_server(ui_runs):
    from tuneforge.ui import UISettings

    with Served(UISettings(runs_dir=ui_runs, port=_free_port())) as served:
        yield served


@pytest.fixture(scope="package")
def read_only_server(ui_runs):
    from tuneforge.ui import UISettings

    with Served(UISettings(runs_dir=ui_runs, port=_free_port(), read_only=True)) as served:
        yield served


def _missing_browser() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install playwright)"
    if shutil.which("chromium") is None:
        return "Chromium is not installed (scripts/ensure-chromium, or apt-get install chromium)"
    return None


@pytest.fixture(scope="package")
def browser():
    """Debian's Chromium under Playwright, for the tests of this package only: Playwright's
    sync API keeps an event loop running while it is open, which would break ``asyncio.run``
    in any test collected after these (so every fixture here is package-scoped)."""
    missing = _missing_browser()
    if missing:
        if os.environ.get("TUNEFORGE_REQUIRE_BROWSER") == "1":
            pytest.fail(missing)
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=shutil.which("chromium"))
        yield chromium
        chromium.close()


class PageWatch:
    """A browser page that records what a person would see go wrong: console errors (CSP
    violations among them), uncaught exceptions, failed requests and 4xx/5xx answers."""

    def __init__(self, page) -> None:
        self.page, self.problems = page, []
        page.on(
            "console",
            lambda m: m.type in ("error", "warning") and self.problems.append(f"console: {m.text}"),
        )
        page.on("pageerror", lambda e: self.problems.append(f"exception: {e}"))
        page.on("requestfailed", lambda r: self.problems.append(f"failed: {r.url} {r.failure}"))
        page.on(
            "response",
            lambda r: r.status >= 400 and self.problems.append(f"HTTP {r.status}: {r.url}"),
        )

    def open(self, url: str) -> None:
        self.page.goto(url)
        self.page.wait_for_load_state("networkidle")


@pytest.fixture
def watched(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield PageWatch(context.new_page())
    context.close()


@pytest.fixture(scope="package")
def artifacts(tmp_path_factory) -> Path:
    """Where screenshots go: $TUNEFORGE_ARTIFACTS/ui, else a temporary folder (printed)."""
    root = os.environ.get("TUNEFORGE_ARTIFACTS")
    path = Path(root) / "ui" if root else tmp_path_factory.mktemp("ui-artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


def read_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def _log_predictions(store, model: str, rows, log_inputs: bool = False) -> None:
    """Write (at, text, label, confidence, latency) rows with the server's own writer, in a
    thread of its own: Playwright's sync API keeps an event loop running in this one."""
    import asyncio

    from tuneforge.monitor.predlog import PredictionLog
    from tuneforge.types import Prediction

    log = PredictionLog(store, model, "v1", log_inputs=log_inputs)

    async def go():
        await log.start()
        for at, text, label, confidence, latency in rows:
            log.record(
                [text], [Prediction(label, confidence, [(label, confidence)])], latency, at=at
            )
        await log.stop()

    writer = threading.Thread(target=asyncio.run, args=(go(),))
    writer.start()
    writer.join(60)


@pytest.fixture(scope="package")
def monitored(ui_runs) -> Path:
    """Served traffic in the fixture store: tiny-a's predictions every 20 minutes over the last
    day (none between 6 and 9 hours ago, an outage), drifting towards 'shipping' in the last
    hours; tiny-b's doubtful predictions with logged inputs and labels holding a script tag.
    Returns a rules file whose json sink already holds one alert and whose state file says a
    rule fired an hour ago."""
    import datetime as dt
    import random

    from tuneforge.store import monitor_state_path, open_store

    store = open_store(ui_runs)
    now = dt.datetime.now(dt.timezone.utc)
    rng = random.Random(5)
    rows = []
    for minutes in range(10, 24 * 60, 20):
        if 6 * 60 <= minutes <= 9 * 60:
            continue
        labels = ["shipping"] * 3 if minutes < 180 else ["billing", "shipping", "account"]
        for label in labels:
            confidence = rng.uniform(0.3, 0.99)
            at = now - dt.timedelta(minutes=minutes, seconds=rng.uniform(0, 50))
            rows.append((at, "parcel", label, confidence, rng.uniform(2, 9)))
    _log_predictions(store, RUN_A, rows)
    hostile = [
        (now - dt.timedelta(minutes=m), f"{PWNED} please", PWNED, 0.34, 4.0) for m in (5, 15, 25)
    ]
    _log_predictions(store, RUN_B, hostile, log_inputs=True)
    root = ui_runs.parent
    history = root / "alerts.jsonl"
    alert = {"rule": "shipping-surge", "metric": "label_share", "label": "shipping", "op": ">"}
    alert |= {"threshold": 0.5, "model": RUN_A, "count": 9, "value": 1.0, "delivered": True}
    alert |= {"at": (now - dt.timedelta(hours=1)).isoformat(), "window_start": "", "window_end": ""}
    history.write_text(json.dumps(alert) + "\n", encoding="utf-8")
    rules = root / "rules.yaml"
    rules.write_text(
        "rules:\n"
        "  - {name: shipping-surge, metric: label_share, label: shipping, op: '>', threshold: 0.5,"
        " window: 1h, cooldown: 2h}\n"
        "  - {name: drift, metric: psi, op: '>', threshold: 0.2, window: 1h}\n"
        "  - {name: slow, metric: p95_latency_ms, op: '>', threshold: 500, window: 1h}\n"
        f"sinks:\n  - {{type: json, path: '{history}'}}\n",
        encoding="utf-8",
    )
    state = monitor_state_path(ui_runs, RUN_A)
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text(json.dumps({"shipping-surge": alert["at"]}), encoding="utf-8")
    return rules


STUDY = "search"


@pytest.fixture(scope="package")
def study_runs(tmp_path_factory, tiny_model_dir) -> Path:
    """`tuneforge tune` with the tiny model: three short trials over the learning rate and the
    weight decay (three, so Optuna can rank the parameters), in a runs folder of its own."""
    from tuneforge.cli import main

    os.environ.pop("TUNEFORGE_STORE_URL", None)
    root = tmp_path_factory.mktemp("ui-study")
    data = write_csv(root / "tickets.csv", make_rows(40))
    space = root / "space.yaml"
    space.write_text(
        "train.lr: {low: 5.0e-4, high: 5.0e-3, log: true}\n"
        "train.weight_decay: {low: 0.0, high: 0.1}\n",
        encoding="utf-8",
    )
    runs = root / "runs"
    argv = ["tune", str(data), "--model", str(tiny_model_dir), "--runs-dir", str(runs)]
    argv += ["--space", str(space), "--study", STUDY, "--trials", "3", "--no-prune"]
    argv += ["train.epochs=3", "train.batch_size=8", "train.freeze_embeddings=false"]
    assert main(argv) == 0
    return runs


@pytest.fixture(scope="package")
def image_runs(tmp_path_factory):
    """A tiny image CNN run, promoted to shapes@staging, in a runs folder of its own."""
    from tuneforge.cli import main

    os.environ.pop("TUNEFORGE_STORE_URL", None)
    root = tmp_path_factory.mktemp("ui-images")
    data, runs = write_shapes(root / "shapes"), root / "runs"
    argv = ["train", str(data), "--task", "image", "--runs-dir", str(runs), "--name", "shapes-1"]
    assert main([*argv, "--no-progress", *TINY_IMAGE_TRAIN]) == 0
    promote = ["registry", "promote", "shapes-1", "--name", "shapes", "--stage", "staging"]
    assert main([*promote, "--runs-dir", str(runs)]) == 0
    return runs


INDEX = "faq"
FAQ = [
    {"id": "q1", "text": "refund my invoice", "answer": "Refunds take 3 days."},
    {"id": "q2", "text": "where is my parcel", "answer": "Track it under Orders."},
    {"id": "q3", "text": PWNED, "answer": PWNED},
]


@pytest.fixture(scope="package")
def indexed(ui_runs):
    """The fixture runs with an index of three answered questions built with tiny-a, in the
    runs folder where the dashboard looks (``<runs>/indexes/faq``)."""
    from tuneforge.cli import main

    data = write_csv(ui_runs.parent / f"{INDEX}.csv", FAQ, ("id", "text", "answer"))
    argv = ["index", "build", str(data), "--model", RUN_A, "--runs-dir", str(ui_runs)]
    assert main([*argv, "--no-progress"]) == 0
    return ui_runs
