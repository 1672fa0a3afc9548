"""Faithfulness and speed of explanations: integrated gradients, occlusion, attention, random.

On BANKING77 test texts, for each method: comprehensiveness (how much the explained label's
probability drops when the top-k% attributed words are removed) and sufficiency (how much it
drops when only they are kept), averaged over k = 10, 20, 30, 40, 50%. Higher comprehensiveness
and lower sufficiency are more faithful. Then the p50 latency of explaining one short text:
integrated gradients on the torch model, occlusion on the torch, ONNX fp32 and ONNX int8
variants; and one 28x28 image (the compact CNN, IG and occlusion). Beside the fixed sentence,
the p50 over real test texts explained one at a time (``--traffic``, default 200).

    python bench/explain.py                       # trains a BANKING77 run first (2 epochs)
    python bench/explain.py --run RUNS/banking77-... --n 500
    python bench/explain.py --n 100 --epochs 1    # a quicker, smaller measurement
    python bench/explain.py --run RUN --speed-only  # latencies only

Every figure printed is measured in this run; the model, the number of texts and epochs are
printed with them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import print_table, shared_csv  # noqa: E402

from tuneforge.config import load_config  # noqa: E402
from tuneforge.explain.words import tokenize_words  # noqa: E402
from tuneforge.predict import TorchPredictor, load_predictor  # noqa: E402
from tuneforge.recipes.export import export_run, run_examples  # noqa: E402
from tuneforge.recipes.train import run_train  # noqa: E402
from tuneforge.store import RunDir  # noqa: E402
from tuneforge.tasks import open_task  # noqa: E402

FRACTIONS = (0.1, 0.2, 0.3, 0.4, 0.5)


def trained_run(args) -> RunDir:
    if args.run:
        return RunDir(args.run)
    overrides = [
        f"data.train_file={shared_csv('banking77', 'train')}",
        f"data.test_file={shared_csv('banking77', 'test')}",
        "data.test_fraction=0",
        f"train.epochs={args.epochs}",
        f"runs_dir={args.runs_dir}",
        f"name=explain-bench-{time.strftime('%Y%m%d-%H%M%S')}",
    ]
    result = run_train(load_config(overrides=overrides), progress=False)
    return RunDir(result.run_dir)


def words_of(tokens) -> list[str]:
    return [tokens.word_text(w) for w in tokens.words]


def attention_scores(cm, tokens) -> list[float]:
    """The last layer's attention from [CLS] to each token, averaged over heads, summed over a
    word's pieces: the common 'attention as explanation' baseline."""
    import torch

    ids = torch.tensor([tokens.ids])
    if cm.model.config._attn_implementation != "eager":  # only eager attention returns weights
        cm.model.set_attn_implementation("eager")
    with torch.inference_mode():
        out = cm.model(input_ids=ids, attention_mask=torch.ones_like(ids), output_attentions=True)
    cls_row = out.attentions[-1][0].mean(0)[0].float().numpy()
    return [float(cls_row[list(w.tokens)].sum()) for w in tokens.words]


def faithfulness(predictor, texts, labels_index, ranking) -> tuple[float, float]:
    """Mean comprehensiveness and sufficiency of one method's word rankings over ``texts``.

    ``ranking[i]`` orders text i's words by attribution, strongest first; removed or kept
    words are joined with spaces, the same for every method."""
    variants, spans = [], []
    for words, order in zip(texts, ranking):
        start = len(variants)
        variants.append(" ".join(words))
        for fraction in FRACTIONS:
            top = set(order[: max(1, round(fraction * len(words)))])
            variants.append(" ".join(w for j, w in enumerate(words) if j not in top) or ".")
            variants.append(" ".join(w for j, w in enumerate(words) if j in top))
        spans.append(start)
    probs = predictor.predict_proba(variants)
    comp, suff = [], []
    for start, k in zip(spans, labels_index):
        full = probs[start, k]
        rows = probs[start + 1 : start + 1 + 2 * len(FRACTIONS), k]
        comp.append(float(np.mean(full - rows[0::2])))
        suff.append(float(np.mean(full - rows[1::2])))
    return float(np.mean(comp)), float(np.mean(suff))


def p50_ms(fn, repeats: int = 15) -> float:
    fn()
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(1000 * (time.perf_counter() - start))
    return float(np.median(times))


def measure_faithfulness(rd: RunDir, n: int, seed: int) -> list[list[str]]:
    torch_predictor = TorchPredictor.from_dir(rd.saved_model_dir())
    cm = torch_predictor.cm
    task = open_task(torch_predictor)
    rng = np.random.default_rng(seed)
    examples = run_examples(rd, "test")
    picked = [examples[i].text for i in rng.choice(len(examples), n, replace=False)]
    tokenized = [tokenize_words(cm.tokenizer, t, cm.max_length) for t in picked]
    texts = [words_of(t) for t in tokenized]
    predicted = torch_predictor.predict_proba([" ".join(w) for w in texts]).argmax(1)
    rankings: dict[str, list] = {}
    started = time.perf_counter()
    for method in ("ig", "occlusion"):
        found = task.explain(torch_predictor, [" ".join(w) for w in texts], method=method)
        rankings[method] = [list(np.argsort([-a.score for a in e.words])) for e in found]
    rankings["attention"] = [
        list(np.argsort(-np.array(attention_scores(cm, t)))) for t in tokenized
    ]
    rankings["random"] = [list(rng.permutation(len(w))) for w in texts]
    print(f"explained {n} texts in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    rows = []
    random_comp = None
    for method, ranking in rankings.items():
        comp, suff = faithfulness(torch_predictor, texts, predicted, ranking)
        random_comp = comp if method == "random" else random_comp
        rows.append([method, comp, suff])
    return [
        [m, f"{c:.4f}", f"{s:.4f}", f"{c / random_comp:.2f}x" if random_comp else ""]
        for m, c, s in rows
    ]


def p50_over_texts_ms(fn, texts: list[str]) -> float:
    """The median time of explaining each text once (after two warm-ups): what a user sees
    over real traffic, where the fixed sentence's p50 is one length only."""
    fn(texts[0])
    fn(texts[0])
    times = []
    for text in texts:
        start = time.perf_counter()
        fn(text)
        times.append(1000 * (time.perf_counter() - start))
    return float(np.median(times))


def measure_traffic_speed(rd: RunDir, n: int, seed: int) -> list[list[str]]:
    """p50 over ``n`` test texts, one explanation at a time: IG on torch, occlusion on int8."""
    examples = run_examples(rd, "test")
    picked = np.random.default_rng(seed + 1).choice(len(examples), n, replace=False)
    texts = [examples[i].text for i in picked]
    words = sorted(len(t.split()) for t in texts)
    torch_predictor = TorchPredictor.from_dir(rd.saved_model_dir())
    task = open_task(torch_predictor)
    if not (rd.variant_dir("onnx-int8-dynamic") / "model.onnx").is_file():
        export_run(str(rd.path), rd.path.parent, "onnx", "int8-dynamic")
    int8 = load_predictor(rd.variant_dir("onnx-int8-dynamic"))
    median_words = words[len(words) // 2]
    return [
        [
            f"ig, torch, p50 over {n} test texts (median {median_words} words)",
            f"{p50_over_texts_ms(lambda t: task.explain(torch_predictor, [t], 'ig'), texts):.1f}",
        ],
        [
            f"occlusion, onnx-int8-dynamic, p50 over {n} test texts (median {median_words} words)",
            f"{p50_over_texts_ms(lambda t: task.explain(int8, [t], 'occlusion'), texts):.1f}",
        ],
    ]


def measure_speed(rd: RunDir) -> list[list[str]]:
    sentence = "I was charged twice for the same card payment, can you refund one of them?"
    torch_predictor = TorchPredictor.from_dir(rd.saved_model_dir())
    task = open_task(torch_predictor)
    rows = [["ig, torch", p50_ms(lambda: task.explain(torch_predictor, [sentence], "ig"))]]
    rows.append(
        ["occlusion, torch", p50_ms(lambda: task.explain(torch_predictor, [sentence], "occlusion"))]
    )
    for quantize, variant in (("none", "onnx-fp32"), ("int8-dynamic", "onnx-int8-dynamic")):
        if not (rd.variant_dir(variant) / "model.onnx").is_file():
            export_run(str(rd.path), rd.path.parent, "onnx", quantize)
        onnx = load_predictor(rd.variant_dir(variant))
        rows.append(
            [
                f"occlusion, {variant}",
                p50_ms(lambda p=onnx: task.explain(p, [sentence], "occlusion")),
            ]
        )
        rows.append([f"predict, {variant}", p50_ms(lambda p=onnx: p.predict_proba([sentence]))])
    rows.append(["predict, torch", p50_ms(lambda: torch_predictor.predict_proba([sentence]))])
    rows += image_speed()
    return [[name, f"{ms:.1f}"] for name, ms in rows]


def image_speed() -> list[tuple[str, float]]:
    """One 28x28 image through a compact CNN of the default size (untrained: speed only)."""
    from tuneforge.config import ImageConfig
    from tuneforge.data.image_features import ImageFeaturizer
    from tuneforge.models.cnn import build_image_model
    from tuneforge.predict import ImagePredictor
    from tuneforge.types import ImageExample, LabelMap

    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (28, 28, 1), dtype=np.uint8) for _ in range(20)]
    train = [ImageExample(x, str(i % 10), i) for i, x in enumerate(images)]
    featurizer = ImageFeaturizer.fit(train)
    cm = build_image_model(featurizer, LabelMap(tuple(str(i) for i in range(10))), ImageConfig())
    predictor = ImagePredictor.from_model(cm)
    predictor.cm = cm
    task = open_task(predictor)
    image = images[0]
    return [
        ("ig, image 28x28", p50_ms(lambda: task.explain(predictor, [image], "ig"))),
        ("occlusion, image 28x28", p50_ms(lambda: task.explain(predictor, [image], "occlusion"))),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", help="an existing BANKING77 run directory (default: train one)")
    parser.add_argument("--n", type=int, default=500, help="test texts to explain")
    parser.add_argument("--epochs", type=int, default=2, help="epochs when training the run")
    parser.add_argument("--runs-dir", default="bench/results/runs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--speed-only", action="store_true", help="skip the faithfulness part")
    parser.add_argument("--traffic", type=int, default=200, help="test texts timed one by one")
    args = parser.parse_args()
    rd = trained_run(args)
    ev = rd.read_json(rd.eval_path.name) or {}
    print(f"run {rd.run_id}: test accuracy {ev.get('accuracy', float('nan')):.4f}, n={args.n}")
    faithful = [] if args.speed_only else measure_faithfulness(rd, args.n, args.seed)
    if faithful:
        print_table(["method", "comprehensiveness", "sufficiency", "comp. vs random"], faithful)
    speed = measure_speed(rd) + measure_traffic_speed(rd, args.traffic, args.seed)
    print_table(["what", "p50 ms"], speed)
    out = Path("bench/results") / f"explain-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {"run": str(rd.path), "n": args.n, "faithfulness": faithful, "speed": speed}, indent=1
        )
    )
    print(f"written: {out}")


if __name__ == "__main__":
    main()
