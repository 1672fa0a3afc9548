"""The financial-news watch, end to end.

Trains a sentiment model on a financial news file (default: ../shared/data/twitter_financial_news),
serves it with `tuneforge serve`, replays a stream of held-out headlines through the HTTP server
with a bearish shift injected halfway, evaluates an alert rule every few seconds and shows the
alert arriving at a local webhook receiver; writes the monitoring page.

    python examples/financial_news_watch/run.py
    python examples/financial_news_watch/run.py --model DIR --epochs 2 --stream 200   # quicker
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pandas as pd

from tuneforge.cli import main as tuneforge
from tuneforge.monitor.page import write_monitor_page
from tuneforge.monitor.rules import AlertState, load_rules
from tuneforge.recipes.monitor import evaluate_rules, monitored_model, series
from tuneforge.store import open_store

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "twitter_financial_news"
RULES = """rules:
  - {{name: bearish-surge, metric: label_share, label: bearish, op: ">", threshold: {threshold},
     window: {window}, cooldown: 1h, min_count: 20}}
sinks:
  - {{type: log}}
  - {{type: webhook, url: "http://127.0.0.1:{port}/alerts"}}
"""


def webhook_receiver() -> tuple[HTTPServer, list[dict]]:
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's naming)
            alert = json.loads(self.rfile.read(int(self.headers["content-length"])))
            received.append(alert)
            print(f"webhook received: {alert['rule']} bearish share {alert['value']:.2f}")
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, received


def post(port: int, text: str) -> None:
    body = json.dumps({"inputs": [text]}).encode()
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/predict",
        data=body,
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as response:
        response.read()


def wait_ready(port: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the server exited before it was ready")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit("the server did not become ready")


def run(args) -> int:
    out = Path(args.out)
    runs = out / "runs"
    data = Path(args.data)
    frame = pd.read_csv(data / "validation.csv")
    stream_rng = random.Random(0)
    if not (runs / "news" / "artifacts" / "model").is_dir():
        code = tuneforge(
            [
                "train",
                str(data / "train.csv"),
                "--label-column",
                "label_name",
                "--test",
                str(data / "validation.csv"),
                "--model",
                args.model,
                "--runs-dir",
                str(runs),
                "--name",
                "news",
                "--no-progress",
                *([f"--epochs={args.epochs}"] if args.epochs else []),
            ]
        )
        if code:
            return code
    receiver, received = webhook_receiver()
    rules_path = out / "rules.yaml"
    rules_path.write_text(
        RULES.format(port=receiver.server_port, threshold=args.threshold, window=args.window)
    )
    port = args.port
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tuneforge",
            "serve",
            "news",
            "--runs-dir",
            str(runs),
            "--port",
            str(port),
        ]
    )
    try:
        wait_ready(port, server)
        store = open_store(runs)
        name, reference = monitored_model("news", runs)
        rules, sinks = load_rules(rules_path)
        state = AlertState(out / "alerts-state.json")
        calm = frame.sample(n=args.stream, random_state=1)["text"].tolist()
        bearish = frame[frame.label_name == "bearish"]["text"].tolist()
        shifted = [stream_rng.choice(bearish) for _ in range(args.stream)]
        started = dt.datetime.now(dt.timezone.utc)
        for phase, texts in (("normal", calm), ("bearish shift", shifted)):
            print(f"replaying {len(texts)} headlines ({phase}) ...")
            for i, text in enumerate(texts):
                post(port, text)
                if i % 25 == 24:
                    time.sleep(0.6)  # let the log flush, then evaluate like --watch would
                    now = dt.datetime.now(dt.timezone.utc)
                    for alert in evaluate_rules(store, name, reference, rules, sinks, state, now):
                        print(
                            f"alert during the {phase} phase after {i + 1} headlines: "
                            f"{alert['rule']}"
                        )
        time.sleep(1.0)
        page = write_monitor_page(
            out / "monitor.html",
            name,
            series(store, name, reference, started, dt.datetime.now(dt.timezone.utc)),
        )
        print(f"alerts received by the webhook: {len(received)}; monitoring page: {page}")
    finally:
        server.terminate()
        server.wait(timeout=60)
        receiver.shutdown()
    return 0 if len(received) == 1 else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        default=str(SHARED),
        help="folder with train.csv and validation.csv (text, label_name)",
    )
    parser.add_argument("--model", default="default")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--stream", type=int, default=300, help="headlines per phase")
    parser.add_argument("--window", default="1m", help="rule window")
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--out", default="runs/financial_news_watch")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
