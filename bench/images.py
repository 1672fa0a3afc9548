"""Image classification: tuneforge's compact CNN beside an RBF-kernel SVC, same split, same run.

Datasets: ../shared/data/mnist_5k (5,000 MNIST digits; stratified 80% train / 20% test) and
scikit-learn's bundled load_digits (1,797 8×8 digits; same split rule). The CNN trains through
tuneforge's fit() (validation split cut from the training part, early stopping, augmentation:
small rotations and shifts, no flips); the SVC trains on the same training part. Prints test
accuracy, training seconds, throughput and single-image p50 latency, and the target (≥ 98.5% on
MNIST-5k, above the SVC, in under 3 minutes of training).

    python bench/images.py
    python bench/images.py --datasets digits --epochs 5
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
from common import SHARED, print_table  # noqa: E402

from tuneforge.config import TrainConfig  # noqa: E402
from tuneforge.data.image_features import ImageFeaturizer  # noqa: E402
from tuneforge.data.image_sources import load_pixel_csv  # noqa: E402
from tuneforge.data.split import stratified_split  # noqa: E402
from tuneforge.models.cnn import CNNConfig, CompactCNN, ImageClassifierModel  # noqa: E402
from tuneforge.train import fit  # noqa: E402
from tuneforge.types import DatasetSplits, ImageExample, LabelMap  # noqa: E402


def load(name: str) -> list[ImageExample]:
    if name == "mnist_5k":
        return load_pixel_csv(SHARED / "data" / "mnist_5k" / "mnist_5k.csv.gz", "28x28")
    from sklearn.datasets import load_digits

    digits = load_digits()
    pixels = (digits.images * (255 / 16)).round().astype(np.uint8)[..., None]
    return [
        ImageExample(pixels[i], str(t), i + 1, "load_digits") for i, t in enumerate(digits.target)
    ]


def latency_ms(predict, one) -> float:
    for _ in range(10):
        predict([one])
    times = []
    for _ in range(200):
        start = time.perf_counter()
        predict([one])
        times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times)


def throughput(predict, items) -> float:
    predict(items[:256])
    start = time.perf_counter()
    for i in range(0, len(items), 256):
        predict(items[i : i + 256])
    return len(items) / (time.perf_counter() - start)


def run_cnn(train, test, labels, args) -> dict:
    # Fixed epochs need no early stopping: by default every training image trains.
    train_part, val, _ = stratified_split(train, args.val_fraction, 0.0, args.seed)
    featurizer = ImageFeaturizer.fit(train_part)
    h, w, c = train_part[0].pixels.shape
    torch.manual_seed(args.seed)
    model = CompactCNN(CNNConfig(h, w, c, len(labels)))
    cm = ImageClassifierModel(model, featurizer, labels)
    cfg = TrainConfig(
        epochs=args.epochs,
        batch_size=64,
        lr=args.lr,
        weight_decay=1e-4,
        warmup_ratio=0.05,
        precision=args.precision,
        early_stopping_patience=0,
        seed=args.seed,
    )
    result = fit(cm, DatasetSplits(train_part, val, [], labels, ""), cfg, progress=False)
    model.eval()

    @torch.inference_mode()
    def predict(items):
        return model(featurizer.tensor(items)).logits.argmax(-1).numpy()

    items = [e.pixels for e in test]
    preds = np.concatenate([predict(items[i : i + 256]) for i in range(0, len(items), 256)])
    truth = np.array(labels.ids([e.label for e in test]))
    return {
        "model": "tuneforge CNN",
        "accuracy": float((preds == truth).mean()),
        "train_s": result.train_seconds,
        "epochs": result.epochs_run,
        "throughput": throughput(predict, items),
        "p50_ms": latency_ms(predict, items[0]),
        "precision": result.precision,
    }


def run_svc(train, test) -> dict:
    from sklearn.svm import SVC

    def flat(examples):
        return np.stack([e.pixels.reshape(-1) for e in examples]).astype(np.float32) / 255.0

    x_train, x_test = flat(train), flat(test)
    start = time.perf_counter()
    svc = SVC(kernel="rbf", gamma="scale", C=5.0).fit(x_train, [e.label for e in train])
    train_s = time.perf_counter() - start
    preds = svc.predict(x_test)

    def predict(items):
        return svc.predict(np.stack([i.reshape(-1) for i in items]).astype(np.float32) / 255.0)

    items = [e.pixels for e in test]
    return {
        "model": "SVC (RBF, C=5)",
        "accuracy": float((preds == np.array([e.label for e in test])).mean()),
        "train_s": train_s,
        "epochs": "",
        "throughput": throughput(predict, items),
        "p50_ms": latency_ms(predict, items[0]),
        "precision": "fp32",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["mnist_5k", "digits"])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--precision", default="fp32", choices=["auto", "bf16", "fp32"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--val-fraction", type=float, default=0.0, help="of the training part")
    parser.add_argument("--json", default="bench/results/images.json")
    args = parser.parse_args()
    torch.set_num_threads(2)
    results, rows = [], []
    for name in args.datasets:
        examples = load(name)
        labels = LabelMap.from_labels(e.label for e in examples)
        train, _, test = stratified_split(examples, 0.0, 0.2, args.seed)
        for r in (run_cnn(train, test, labels, args), run_svc(train, test)):
            r["dataset"] = name
            results.append(r)
            print(json.dumps(r), file=sys.stderr, flush=True)
            rows.append(
                [
                    name,
                    r["model"],
                    f"{100 * r['accuracy']:.2f}",
                    f"{r['train_s']:.1f}",
                    str(r["epochs"]),
                    f"{r['throughput']:.0f}",
                    f"{r['p50_ms']:.2f}",
                ]
            )
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=1))
    print(f"\nstratified 80/20 split, seed {args.seed}, {torch.get_num_threads()} threads")
    print_table(
        ["dataset", "model", "test acc %", "train s", "epochs", "images/s", "p50 ms (1 image)"],
        rows,
    )
    mnist = {r["model"]: r for r in results if r["dataset"] == "mnist_5k"}
    if mnist:
        cnn, svc = mnist["tuneforge CNN"], mnist["SVC (RBF, C=5)"]
        met = cnn["accuracy"] >= 0.985 and cnn["accuracy"] > svc["accuracy"]
        met = met and cnn["train_s"] < 180
        print(
            f"\ntarget (MNIST-5k ≥ 98.5%, above the SVC, < 180 s training): "
            f"{100 * cnn['accuracy']:.2f}% vs SVC {100 * svc['accuracy']:.2f}% in "
            f"{cnn['train_s']:.0f} s — {'met' if met else 'missed'}"
        )


if __name__ == "__main__":
    main()
