"""Serving under load: `tuneforge serve` beside a naive FastAPI app calling a transformers pipeline.

Both servers serve the same model (the run's artifacts/model; ours may serve a variant) from the
same Python and uvicorn, one worker each, on loopback, one at a time so they never compete for
the CPU, and receive the same short texts (the shorter half of the run's test split, shuffled)
from 1, 8 and 32 concurrent clients, each with one request of one text in flight. Each level is
bounded in requests and in time. Prints throughput (successful requests per second),
p50/p95/p99 latency and errors per level, our throughput as a multiple of the naive server's,
and the targets (≥ 4x the naive server's throughput at 32 clients, p99 ≤ 50 ms, no errors).

The load generator is one asyncio event loop speaking HTTP/1.1 over keep-alive connections by
hand: a general-purpose client costs about a millisecond of CPU per request, which on a small
machine would be taken from the server being measured, and more from the faster one.

    python bench/serve_load.py                        # the BANKING77 run of bench/quality.py
    python bench/serve_load.py --run RUN --variant onnx-int8-dynamic --clients 1 8 32
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import datetime as dt
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import SHARED, print_table  # noqa: E402

from tuneforge.store import resolve_run  # noqa: E402

OURS = "tuneforge serve"
NAIVE = "FastAPI + pipeline"

# The peer, as a user would write it: one pipeline, one call per request (FastAPI runs the
# synchronous endpoint in its thread pool). It runs without access logs (ours keeps uvicorn's
# default access log), which is in its favour.
NAIVE_APP = """
import os
from fastapi import FastAPI
from pydantic import BaseModel
from transformers import pipeline

pipe = pipeline("text-classification", model=os.environ["MODEL_DIR"], device="cpu")
app = FastAPI()


class Request(BaseModel):
    inputs: list[str]


@app.get("/readyz")
def ready():
    return {"ready": True}


@app.post("/v1/predict")
def predict(request: Request):
    return {"predictions": pipe(request.inputs, truncation=True)}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port: int, proc: subprocess.Popen, log: Path, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:]
            raise SystemExit(f"server exited with {proc.returncode} before it was ready:\n{tail}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"server on port {port} not ready after {timeout:.0f} s")


class Connection:
    """One keep-alive HTTP/1.1 connection that sends a POST and reads the whole answer."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        status_line = await self.reader.readuntil(b"\r\n")
        status = int(status_line.split(b" ", 2)[1])
        headers = {}
        while (line := await self.reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            while size := int((await self.reader.readuntil(b"\r\n")).strip(), 16):
                await self.reader.readexactly(size + 2)
            await self.reader.readuntil(b"\r\n")
        else:
            await self.reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except OSError:
                pass
        self.reader = self.writer = None


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of an ascending list."""
    rank = max(1, -(-len(sorted_values) * p // 100))  # ceil without floats' surprises
    return sorted_values[int(rank) - 1]


async def load(port: int, bodies: list[bytes], clients: int, requests: int, duration: float):
    """``clients`` tasks, each with one request in flight, until ``requests`` or ``duration``."""
    latencies: list[float] = []
    errors: collections.Counter = collections.Counter()
    ok = 0
    next_index = 0
    connections = [Connection(port) for _ in range(clients)]

    # Warm-up outside the measurement: connections open, first requests pay one-time costs.
    await asyncio.gather(
        *(c.post("/v1/predict", bodies[i % len(bodies)]) for i, c in enumerate(connections))
    )
    stop_at = time.perf_counter() + duration

    async def worker(connection: Connection) -> None:
        nonlocal next_index, ok
        while next_index < requests and time.perf_counter() < stop_at:
            body = bodies[next_index % len(bodies)]
            next_index += 1
            start = time.perf_counter()
            try:
                status = await asyncio.wait_for(connection.post("/v1/predict", body), 30)
            except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as exc:
                status = type(exc).__name__
                await connection.close()  # reconnect on the next request
            latencies.append(1000 * (time.perf_counter() - start))
            if status == 200:
                ok += 1
            else:
                errors[str(status)] += 1

    began = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in connections))
    elapsed = time.perf_counter() - began
    await asyncio.gather(*(c.close() for c in connections))
    latencies.sort()
    return {
        "clients": clients,
        "requests": len(latencies),
        "seconds": round(elapsed, 3),
        "throughput": ok / elapsed,
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
        "p99_ms": percentile(latencies, 99),
        "errors": sum(errors.values()),
        "error_kinds": dict(errors),
    }


def measure(name: str, command: list[str], env: dict, port: int, args, bodies) -> list[dict]:
    """Start one server, load it at each concurrency in turn, stop it."""
    print(f"starting {name} ...", file=sys.stderr, flush=True)
    with tempfile.NamedTemporaryFile(prefix="serve_load_", suffix=".log", delete=False) as log:
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)
    try:
        wait_ready(port, proc, Path(log.name))
        rows = []
        for clients in args.clients:
            row = asyncio.run(load(port, bodies, clients, args.requests, args.duration))
            row["server"] = name
            print(json.dumps(row), file=sys.stderr, flush=True)
            rows.append(row)
        return rows
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        Path(log.name).unlink(missing_ok=True)


def default_run() -> str:
    for path in (
        Path("bench/results/quality_banking77_s1.json"),
        Path("bench/results/quality.json"),
    ):
        if path.is_file():
            for row in json.loads(path.read_text()):
                if row["dataset"] == "banking77":
                    return row["run_dir"]
    raise SystemExit("no BANKING77 run: pass --run, or run bench/quality.py first")


def short_texts(run_dir: Path) -> list[str]:
    """The shorter half of the run's test texts (else BANKING77's test set), shuffled."""
    test = run_dir / "data" / "test.jsonl"
    if test.is_file():
        lines = test.read_text(encoding="utf-8").splitlines()
        texts = [json.loads(line)["text"] for line in lines if line.strip()]
    else:
        from common import read_split

        print(f"{test} not found: using {SHARED}/data/banking77/test.csv", file=sys.stderr)
        texts, _ = read_split("banking77", "test")
    texts = sorted(texts, key=len)[: max(len(texts) // 2, 1)]
    random.Random(0).shuffle(texts)
    return texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", help="run id or directory (default: bench/quality.py's BANKING77)")
    parser.add_argument(
        "--runs-dir", default="bench/results/runs", help="where run ids are looked up"
    )
    parser.add_argument("--variant", help="variant for tuneforge serve (default: the model)")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--requests", type=int, default=3000, help="per level, at most")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per level, at most")
    parser.add_argument("--max-batch-size", type=int, help="for tuneforge serve (default: its own)")
    parser.add_argument("--max-wait-ms", type=float, help="for tuneforge serve (default: its own)")
    parser.add_argument(
        "--log-predictions",
        action="store_true",
        help="keep tuneforge serve's prediction log on (written to a throwaway SQLite file)",
    )
    parser.add_argument("--only", choices=["ours", "naive"], help="measure one server only")
    parser.add_argument("--json", default="bench/results/serve_load.json")
    args = parser.parse_args()

    run_dir = resolve_run(args.run or default_run(), Path(args.runs_dir)).path.resolve()
    texts = short_texts(run_dir)
    bodies = [json.dumps({"inputs": [t]}).encode() for t in texts]
    env = {k: v for k, v in os.environ.items() if k not in ("TUNEFORGE_TOKEN",)}
    results: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.only != "naive":
            port = free_port()
            ours = [sys.executable, "-m", "tuneforge", "serve", str(run_dir), "--port", str(port)]
            ours += ["--runs-dir", str(run_dir.parent)]
            if args.max_batch_size is not None:
                ours += ["--max-batch-size", str(args.max_batch_size)]
            if args.max_wait_ms is not None:
                ours += ["--max-wait-ms", str(args.max_wait_ms)]
            ours += ["--variant", args.variant] if args.variant else []
            ours_env = dict(env)
            if args.log_predictions:  # not into the run's store: benchmark traffic isn't usage
                ours_env["TUNEFORGE_STORE_URL"] = f"sqlite:///{Path(tmp) / 'bench.db'}"
            else:
                ours.append("--no-log")
            results += measure(OURS, ours, ours_env, port, args, bodies)
        if args.only != "ours":
            port = free_port()
            (Path(tmp) / "naive_app.py").write_text(NAIVE_APP, encoding="utf-8")
            naive_env = dict(env, MODEL_DIR=str(run_dir / "artifacts" / "model"), PYTHONPATH=tmp)
            naive = [sys.executable, "-m", "uvicorn", "naive_app:app", "--port", str(port)]
            naive += ["--log-level", "warning"]
            results += measure(NAIVE, naive, naive_env, port, args, bodies)

    report(results, run_dir, texts, args)


def report(results: list[dict], run_dir: Path, texts: list[str], args) -> None:
    by = {(r["server"], r["clients"]): r for r in results}
    ours_name = OURS + (f" ({args.variant})" if args.variant else "")
    rows = []
    for r in results:
        peer = by.get((NAIVE, r["clients"]))
        ratio = r["throughput"] / peer["throughput"] if peer and peer["throughput"] else None
        r["vs_naive"] = ratio if r["server"] == OURS else None
        rows.append(
            [
                ours_name if r["server"] == OURS else r["server"],
                r["clients"],
                r["requests"],
                f"{r['throughput']:.0f}",
                f"{ratio:.2f}x" if ratio is not None and r["server"] == OURS else "",
                f"{r['p50_ms']:.1f}",
                f"{r['p95_ms']:.1f}",
                f"{r['p99_ms']:.1f}",
                r["errors"],
            ]
        )
    mean_chars = sum(map(len, texts)) / len(texts)
    print(
        f"\n{run_dir.name}: one text per request ({len(texts)} texts, {mean_chars:.0f} characters "
        f"on average), loopback, {os.cpu_count()} cores, at most {args.requests} requests or "
        f"{args.duration:.0f} s per level; tuneforge serve --max-batch-size "
        f"{_or_default(args.max_batch_size)} --max-wait-ms {_or_default(args.max_wait_ms)}"
        f"{'' if args.log_predictions else ' --no-log'}"
    )
    headers = ["server", "clients", "requests", "req/s", "vs naive", "p50 ms", "p95 ms", "p99 ms"]
    print_table([*headers, "errors"], rows)

    ours = {r["clients"]: r for r in results if r["server"] == OURS}
    targets = {}
    if ours:
        top = max(ours)
        worst = max(ours.values(), key=lambda r: r["p99_ms"])
        errors = sum(r["errors"] for r in ours.values())
        ratio = ours[top]["vs_naive"]
        targets = {
            f"throughput >= 4x naive at {top} clients": None if ratio is None else ratio >= 4,
            "p99 <= 50 ms at every level": worst["p99_ms"] <= 50,
            "0 errors": errors == 0,
        }
        print("\ntargets (tuneforge serve; the throughput target is stated for 32 clients):")
        print(
            f"- throughput at {top} clients: "
            + (
                "not measured (no naive run)"
                if ratio is None
                else f"{ratio:.2f}x the naive -> {'met' if ratio >= 4 else 'missed'}"
            )
        )
        print(
            f"- p99 ≤ 50 ms: worst {worst['p99_ms']:.1f} ms at {worst['clients']} clients "
            f"-> {_verdict(targets['p99 <= 50 ms at every level'])}"
        )
        print(f"- 0 errors: {errors} -> {_verdict(targets['0 errors'])}")

    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "run_dir": str(run_dir),
        "variant": args.variant,
        "max_batch_size": args.max_batch_size,
        "max_wait_ms": args.max_wait_ms,
        "log_predictions": args.log_predictions,
        "requests_per_level": args.requests,
        "duration_per_level_s": args.duration,
        "cpu_count": os.cpu_count(),
        "texts": len(texts),
    }
    out.write_text(json.dumps({**meta, "targets": targets, "rows": results}, indent=1))
    print(f"\nwritten: {out}")


def _or_default(value) -> str:
    return "default" if value is None else str(value)


def _verdict(value: bool | None) -> str:
    return "not measured" if value is None else ("met" if value else "missed")


if __name__ == "__main__":
    main()
