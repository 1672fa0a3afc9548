"""Training speed and quality: tuneforge defaults beside Hugging Face Trainer, same data, same run.

Four ways on BANKING77 (official train minus a stratified 10% validation split, official test):
  tuneforge        `tuneforge train` defaults (the library's fit() with the default config)
  trainer-default  Trainer, documented defaults: fp32, lr 5e-5, DataCollatorWithPadding
  trainer-bf16     Trainer with bf16=True and train_sampling_strategy="group_by_length"
  trainer-tuned    trainer-bf16 with lr 1e-4, 6% warm-up, weight decay 0.01
All run the same number of epochs at batch 32. Test accuracy is measured after every epoch,
outside the timed region, to report the time each way needs to reach the target accuracy.

    python bench/train_speed.py                       # all four ways, tuneforge over 3 seeds
    python bench/train_speed.py --ways tuneforge --seeds 1 2 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from common import mean_std, print_table, read_split  # noqa: E402

from tuneforge.config import load_config  # noqa: E402
from tuneforge.evaluate.metrics import accuracy_and_macro_f1  # noqa: E402
from tuneforge.models import default_model_dir, load_model  # noqa: E402
from tuneforge.predict import TorchPredictor  # noqa: E402
from tuneforge.train import fit  # noqa: E402
from tuneforge.train.seed import set_seed  # noqa: E402
from tuneforge.types import DatasetSplits, Example, LabelMap  # noqa: E402

WAYS = ("tuneforge", "trainer-default", "trainer-bf16", "trainer-tuned")


def load_data(dataset: str, seed: int) -> DatasetSplits:
    from sklearn.model_selection import train_test_split

    texts, labels = read_split(dataset, "train")
    test_texts, test_labels = read_split(dataset, "test")
    ex = [Example(t, y, i + 1) for i, (t, y) in enumerate(zip(texts, labels))]
    train, val = train_test_split(ex, test_size=0.1, stratify=labels, random_state=seed)
    test = [Example(t, y, i + 1) for i, (t, y) in enumerate(zip(test_texts, test_labels))]
    return DatasetSplits(train, val, test, LabelMap.from_labels(labels), fingerprint=dataset)


class Clock:
    """Training time with the per-epoch test evaluations taken out."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.excluded = 0.0
        self.curve: list[tuple[float, float]] = []  # (training seconds so far, test accuracy)

    def checkpoint(self, test_accuracy_fn) -> None:
        paused = time.perf_counter()
        elapsed = paused - self.start - self.excluded
        self.curve.append((elapsed, test_accuracy_fn()))
        self.excluded += time.perf_counter() - paused

    def total(self) -> float:
        return time.perf_counter() - self.start - self.excluded


def test_scores(predict_proba, data: DatasetSplits) -> tuple[float, float]:
    probs = predict_proba([e.text for e in data.test])
    y = data.labels.ids([e.label for e in data.test])
    return accuracy_and_macro_f1(y, probs.argmax(1).tolist())


def run_tuneforge(data: DatasetSplits, seed: int, epochs: int, overrides: list[str]) -> dict:
    cfg = load_config(overrides=[f"train.seed={seed}", f"train.epochs={epochs}", *overrides])
    set_seed(seed)
    cm = load_model(cfg.model, data.labels)
    clock = Clock()

    def on_metrics(record: dict) -> None:
        if record["split"] == "val" and float(record["epoch"]).is_integer():
            clock.checkpoint(lambda: test_scores(TorchPredictor(cm).predict_proba, data)[0])
            cm.model.train()

    result = fit(cm, data, cfg.train, on_metrics=on_metrics, progress=False)
    seconds = clock.total()
    acc, f1 = test_scores(TorchPredictor(cm).predict_proba, data)
    return {
        "seconds": seconds,
        "examples": len(data.train) * result.epochs_run,
        "accuracy": acc,
        "macro_f1": f1,
        "curve": clock.curve,
    }


def run_trainer(way: str, data: DatasetSplits, seed: int, epochs: int, out: Path) -> dict:
    import transformers
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        Trainer,
        TrainerCallback,
        TrainingArguments,
    )

    transformers.logging.set_verbosity_error()
    model_dir = default_model_dir()
    tok = AutoTokenizer.from_pretrained(model_dir)
    set_seed(seed)
    model = AutoModelForSequenceClassification.from_pretrained(
        model_dir,
        num_labels=len(data.labels),
        id2label=data.labels.id2label,
        label2id=data.labels.label2id,
    )
    ids = data.labels.label2id
    enc = tok([e.text for e in data.train], truncation=True, max_length=128)
    train_rows = [
        {
            "input_ids": enc["input_ids"][i],
            "attention_mask": enc["attention_mask"][i],
            "labels": ids[e.label],
        }
        for i, e in enumerate(data.train)
    ]
    args = {
        "output_dir": str(out),
        "num_train_epochs": epochs,
        "per_device_train_batch_size": 32,
        "save_strategy": "no",
        "report_to": [],
        "logging_strategy": "no",
        "seed": seed,
        "disable_tqdm": True,
    }
    if way in ("trainer-bf16", "trainer-tuned"):
        # use_cpu: without it Trainer refuses bf16 on a machine without a GPU.
        args.update(bf16=True, use_cpu=True, train_sampling_strategy="group_by_length")
    if way == "trainer-tuned":
        # transformers 5 takes a fraction < 1 in warmup_steps (warmup_ratio is gone).
        args.update(learning_rate=1e-4, warmup_steps=0.06, weight_decay=0.01)
    clock_holder: dict = {}

    def predict_proba(texts):
        model.eval()
        batch = tok(texts, truncation=True, max_length=128)
        order = np.argsort([len(x) for x in batch["input_ids"]])
        out_probs = np.zeros((len(texts), len(data.labels)), dtype=np.float32)
        with torch.inference_mode():
            for s in range(0, len(order), 64):
                idx = order[s : s + 64]
                feats = tok.pad(
                    {"input_ids": [batch["input_ids"][i] for i in idx]}, return_tensors="pt"
                )
                out_probs[idx] = torch.softmax(model(**feats).logits.float(), -1).numpy()
        model.train()
        return out_probs

    class EpochTest(TrainerCallback):
        def on_epoch_end(self, args, state, control, **kwargs):
            clock_holder["clock"].checkpoint(lambda: test_scores(predict_proba, data)[0])

    trainer = Trainer(
        model=model,
        args=TrainingArguments(**args),
        train_dataset=train_rows,
        data_collator=DataCollatorWithPadding(tok),
        callbacks=[EpochTest()],
    )
    clock_holder["clock"] = clock = Clock()
    trainer.train()
    seconds = clock.total()
    acc, f1 = test_scores(predict_proba, data)
    return {
        "seconds": seconds,
        "examples": len(data.train) * epochs,
        "accuracy": acc,
        "macro_f1": f1,
        "curve": clock.curve,
    }


def time_to(curve: list[tuple[float, float]], target: float) -> float | None:
    return next((t for t, acc in curve if acc >= target), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="banking77")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument(
        "--peer-seeds",
        type=int,
        nargs="+",
        default=None,
        help="seeds for the Trainer ways (default: the same as --seeds)",
    )
    parser.add_argument("--ways", default=",".join(WAYS))
    parser.add_argument("--target", type=float, default=0.925)
    parser.add_argument(
        "--override",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="config override for the tuneforge way, e.g. train.lr=3e-4",
    )
    parser.add_argument("--json", default="bench/results/train_speed.json")
    args = parser.parse_args()
    torch.set_num_threads(torch.get_num_threads())
    results: dict[str, list[dict]] = {}
    for way in args.ways.split(","):
        seeds = args.seeds if way == "tuneforge" else (args.peer_seeds or args.seeds)
        for seed in seeds:
            data = load_data(args.dataset, seed)
            print(f"{way} seed {seed} ...", file=sys.stderr, flush=True)
            if way == "tuneforge":
                r = run_tuneforge(data, seed, args.epochs, args.override)
            else:
                r = run_trainer(way, data, seed, args.epochs, Path("/tmp/tuneforge-bench-trainer"))
            r["seed"] = seed
            print(json.dumps({"way": way, **r}), file=sys.stderr, flush=True)
            results.setdefault(way, []).append(r)
            # Written after every run so a crash later in a long benchmark loses nothing.
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(json.dumps(results, indent=1))

    base = results.get("tuneforge")
    tf_seconds = statistics.mean(r["seconds"] for r in base) if base else None
    tf_speed = statistics.mean(r["examples"] / r["seconds"] for r in base) if base else None
    tf_target = [time_to(r["curve"], args.target) for r in base] if base else []
    rows = []
    for way, runs in results.items():
        seconds = statistics.mean(r["seconds"] for r in runs)
        speed = statistics.mean(r["examples"] / r["seconds"] for r in runs)
        reach = [time_to(r["curve"], args.target) for r in runs]
        reach_txt = "/".join(f"{x:.0f}" if x is not None else "never" for x in reach)
        ratio_reach = ""
        if way != "tuneforge" and tf_target and None not in tf_target and None not in reach:
            ratio_reach = f"{statistics.mean(reach) / statistics.mean(tf_target):.2f}x"
        rows.append(
            [
                way,
                len(runs),
                f"{seconds:.0f}",
                f"{speed:.0f}",
                mean_std([100 * r["accuracy"] for r in runs]),
                mean_std([100 * r["macro_f1"] for r in runs]),
                reach_txt,
                f"{seconds / tf_seconds:.2f}x" if tf_seconds and way != "tuneforge" else "",
                f"{tf_speed / speed:.2f}x" if tf_speed and way != "tuneforge" else "",
                ratio_reach,
            ]
        )
    print(f"\n{args.dataset}, {args.epochs} epochs, batch 32, {torch.get_num_threads()} threads")
    print_table(
        [
            "way",
            "seeds",
            "train s",
            "ex/s",
            "test acc %",
            "macro-F1 %",
            f"s to {100 * args.target:.1f}%",
            "time vs tuneforge",
            "tuneforge ex/s ratio",
            f"time-to-{100 * args.target:.1f} vs tuneforge",
        ],
        rows,
    )


if __name__ == "__main__":
    main()
