"""Serving under load: `tuneforge serve` beside a naive FastAPI app calling a transformers pipeline.

Both servers serve the same model (the run's artifacts/model; ours may serve a variant) on
loopback, one at a time so they never compete for the CPU, and receive the same short texts from
1, 8 and 32 concurrent clients (one request with one text in flight per client). Each level is
bounded in requests and in time. Prints throughput, p50/p95/p99 latency and errors per level,
our throughput as a multiple of the naive server's, and the targets (≥ 4x the naive server's
throughput at 32 clients, p99 ≤ 50 ms, no errors).

    python bench/serve_load.py                               # the BANKING77 run of bench/quality.py
    python bench/serve_load.py --run RUN --variant onnx-int8-dynamic --clients 1 8 32
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from common import print_table  # noqa: E402

# The peer, as a user would write it: one pipeline, one call per request (FastAPI runs the
# synchronous endpoint in its thread pool).
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


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode} before it was ready")
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"server at {url} not ready after {timeout:.0f} s")


async def load(url: str, texts: list[str], clients: int, requests: int, duration: float) -> dict:
    """``clients`` workers, each one request in flight, until ``requests`` or ``duration``."""
    latencies: list[float] = []
    errors = 0
    next_index = 0
    stop_at = time.perf_counter() + duration
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30.0) as client:

        async def worker() -> None:
            nonlocal next_index, errors
            while next_index < requests and time.perf_counter() < stop_at:
                text = texts[next_index % len(texts)]
                next_index += 1
                start = time.perf_counter()
                try:
                    response = await client.post("/v1/predict", json={"inputs": [text]})
                    ok = response.status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append(1000 * (time.perf_counter() - start))
                errors += not ok

        # Warm-up outside the measurement: first requests pay one-time costs.
        for text in texts[:5]:
            await client.post("/v1/predict", json={"inputs": [text]})
        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - began
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))]

    return {
        "clients": clients,
        "requests": len(latencies),
        "seconds": elapsed,
        "throughput": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "errors": errors,
    }


def measure(name: str, command: list[str], env: dict, port: int, args, texts) -> list[dict]:
    url = f"http://127.0.0.1:{port}"
    print(f"starting {name} ...", file=sys.stderr, flush=True)
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_ready(url, proc)
        rows = []
        for clients in args.clients:
            r = asyncio.run(load(url, texts, clients, args.requests, args.duration))
            r["server"] = name
            print(json.dumps(r), file=sys.stderr, flush=True)
            rows.append(r)
        return rows
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def default_run() -> str:
    path = Path("bench/results/quality_banking77_s1.json")
    for candidate in (path, Path("bench/results/quality.json")):
        if candidate.is_file():
            for row in json.loads(candidate.read_text()):
                if row["dataset"] == "banking77":
                    return row["run_dir"]
    raise SystemExit("no BANKING77 run: pass --run, or run bench/quality.py first")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", help="run directory (default: bench/quality.py's BANKING77 run)")
    parser.add_argument("--variant", help="variant for tuneforge serve (default: the model)")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--requests", type=int, default=600, help="per level, at most")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per level, at most")
    parser.add_argument("--max-batch-size", type=int, default=32)
    parser.add_argument("--max-wait-ms", type=float, default=2.0)
    parser.add_argument("--json", default="bench/results/serve_load.json")
    args = parser.parse_args()

    run_dir = Path(args.run or default_run()).resolve()
    texts = [
        json.loads(line)["text"]
        for line in (run_dir / "data" / "test.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    texts = sorted(texts, key=len)[: max(len(texts) // 2, 1)]  # short requests
    env = dict(os.environ, TUNEFORGE_RUNS_DIR=str(run_dir.parent))
    ours_port, naive_port = free_port(), free_port()
    ours_cmd = [sys.executable, "-m", "tuneforge", "serve", str(run_dir), "--port", str(ours_port)]
    ours_cmd += ["--max-batch-size", str(args.max_batch_size)]
    ours_cmd += ["--max-wait-ms", str(args.max_wait_ms), "--no-log"]
    ours_cmd += ["--variant", args.variant] if args.variant else []
    results = measure("tuneforge serve", ours_cmd, env, ours_port, args, texts)

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "naive_app.py").write_text(NAIVE_APP, encoding="utf-8")
        naive_env = dict(env, MODEL_DIR=str(run_dir / "artifacts" / "model"), PYTHONPATH=tmp)
        naive_cmd = [sys.executable, "-m", "uvicorn", "naive_app:app", "--port", str(naive_port)]
        naive_cmd += ["--log-level", "warning"]
        results += measure("FastAPI + pipeline", naive_cmd, naive_env, naive_port, args, texts)

    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=1))
    naive = {r["clients"]: r for r in results if r["server"] != "tuneforge serve"}
    ours_name = "tuneforge serve" + (f" ({args.variant})" if args.variant else "")
    rows = [
        [
            ours_name if r["server"] == "tuneforge serve" else r["server"],
            r["clients"],
            r["requests"],
            f"{r['throughput']:.0f}",
            f"{r['throughput'] / naive[r['clients']]['throughput']:.2f}x",
            f"{r['p50_ms']:.1f}",
            f"{r['p95_ms']:.1f}",
            f"{r['p99_ms']:.1f}",
            r["errors"],
        ]
        for r in results
    ]
    print(f"\n{run_dir.name}: one short text per request, loopback, {os.cpu_count()} cores")
    print_table(
        [
            "server",
            "clients",
            "requests",
            "req/s",
            "vs naive",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "errors",
        ],
        rows,
    )
    ours = {r["clients"]: r for r in results if r["server"] == "tuneforge serve"}
    top = max(ours)
    ratio = ours[top]["throughput"] / naive[top]["throughput"]
    print(
        f"\ntargets at {top} clients: ≥ 4x naive throughput: {ratio:.2f}x "
        f"({'met' if ratio >= 4 else 'missed'}); p99 ≤ 50 ms: {ours[top]['p99_ms']:.1f} ms "
        f"({'met' if ours[top]['p99_ms'] <= 50 else 'missed'}); errors: "
        f"{sum(r['errors'] for r in ours.values())}"
    )


if __name__ == "__main__":
    main()
