"""Inference speed: a transformers `pipeline` beside every tuneforge variant, same texts, same run.

For a BANKING77 model (by default the run bench/quality.py trained), measures test accuracy,
throughput at batch 32 and p50/p95 latency of single short requests for the transformers
`pipeline('text-classification')` in fp32 and for each tuneforge variant (torch fp32 and bf16,
onnxruntime fp32 / int8 dynamic / int8 static), and prints the ratios to the pipeline.

    python bench/infer_speed.py                     # run from bench/results/quality.json
    python bench/infer_speed.py --run path/to/run
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import print_table  # noqa: E402

from tuneforge.compress.tradeoff import latency_ms, throughput  # noqa: E402
from tuneforge.recipes.compress import compress_run
from tuneforge.recipes.export import run_examples  # noqa: E402
from tuneforge.store import resolve_run  # noqa: E402


class PipelinePredictor:
    """The peer: transformers' text-classification pipeline, fp32, as users call it."""

    def __init__(self, model_dir: Path) -> None:
        import transformers

        transformers.logging.set_verbosity_error()
        self.pipe = transformers.pipeline("text-classification", model=str(model_dir), device="cpu")
        config = self.pipe.model.config
        self.labels = tuple(config.id2label[i] for i in range(len(config.id2label)))
        self.batch_size = 1

    def predict_proba(self, texts):
        out = self.pipe(list(texts), batch_size=self.batch_size, top_k=None, truncation=True)
        index = {n: i for i, n in enumerate(self.labels)}
        probs = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        for row, scores in enumerate(out):
            for item in scores:
                probs[row, index[item["label"]]] = item["score"]
        return probs


def default_run() -> str:
    path = Path("bench/results/quality.json")
    if path.is_file():
        for row in json.loads(path.read_text()):
            if row["dataset"] == "banking77":
                return row["run_dir"]
    raise SystemExit("no BANKING77 run: pass --run, or run bench/quality.py first")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default=None, help="a BANKING77 run (id or directory)")
    parser.add_argument("--runs-dir", default="bench/results/runs")
    args = parser.parse_args()
    run = resolve_run(args.run or default_run(), Path(args.runs_dir))
    tradeoff = compress_run(
        str(run.path),
        Path(args.runs_dir),
        max_accuracy_drop=0.3,
        log=lambda m: print(m, file=sys.stderr),
    )

    examples = run_examples(run, "test")
    texts = [e.text for e in examples]
    peer = PipelinePredictor(run.model_dir)
    probs = peer.predict_proba(texts)
    index = {n: i for i, n in enumerate(peer.labels)}
    peer_acc = float((probs.argmax(1) == np.array([index[e.label] for e in examples])).mean())
    short_text = sorted(texts, key=len)[len(texts) // 2]
    peer_p50, peer_p95 = latency_ms(peer, short_text)
    speed_texts = texts[:1024]
    peer_speed = throughput(peer, speed_texts)

    rows = [
        [
            "transformers pipeline fp32",
            f"{100 * peer_acc:.2f}",
            "",
            f"{peer_speed:.0f}",
            "1.00x",
            f"{peer_p50:.2f}",
            f"{peer_p95:.2f}",
            "1.00x",
            "",
        ]
    ]
    for r in tradeoff["variants"]:
        rows.append(
            [
                r["variant"]
                + (" (recommended)" if r["variant"] == tradeoff["recommended"] else ""),
                f"{100 * r['accuracy']:.2f}",
                f"{r['agreement']:.4f}",
                f"{r['throughput_batch32']:.0f}",
                f"{r['throughput_batch32'] / peer_speed:.2f}x",
                f"{r['p50_ms']:.2f}",
                f"{r['p95_ms']:.2f}",
                f"{peer_p50 / r['p50_ms']:.2f}x",
                "yes" if r["within_tolerance"] else "no",
            ]
        )
    print(f"\nBANKING77 test ({len(texts)} texts); single request: {short_text!r}")
    print_table(
        [
            "runtime",
            "test acc %",
            "agreement",
            "ex/s @32",
            "vs pipeline",
            "p50 ms",
            "p95 ms",
            "p50 speed-up",
            "within 0.3 pts",
        ],
        rows,
    )
    best = next(r for r in tradeoff["variants"] if r["variant"] == tradeoff["recommended"])
    fastest = max(
        (r for r in tradeoff["variants"] if r["within_tolerance"]),
        key=lambda r: r["throughput_batch32"],
    )
    print(
        f"\ntarget ≥ 5x pipeline throughput within 0.3 pts: {fastest['variant']} "
        f"{fastest['throughput_batch32'] / peer_speed:.2f}x; "
        f"target p50 ≤ 1.5 ms: {best['variant']} {best['p50_ms']:.2f} ms"
    )


if __name__ == "__main__":
    main()
