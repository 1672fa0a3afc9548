"""Matplotlib figures rendered to PNG data URIs, so reports are single self-contained files."""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def _to_data_uri(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _smooth(values: list[float], window: int) -> np.ndarray:
    if len(values) < window or window < 2:
        return np.asarray(values)
    kernel = np.ones(window) / window
    return np.convolve(values, kernel, mode="valid")


def training_curves_png(records: list[dict], best_step: int | None = None) -> str | None:
    """Training loss by step, validation loss, and validation accuracy/macro-F1 by epoch."""
    train = [r for r in records if r.get("split") == "train" and "loss" in r]
    val = [r for r in records if r.get("split") == "val" and "macro_f1" in r]
    if not train and not val:
        return None
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
    if train:
        steps = [r["step"] for r in train]
        losses = [r["loss"] for r in train]
        axes[0].plot(steps, losses, color="#9ecae1", lw=1, label="loss")
        window = max(1, len(losses) // 20)
        smooth = _smooth(losses, window)
        axes[0].plot(
            steps[len(steps) - len(smooth) :],
            smooth,
            color="#08519c",
            lw=2,
            label=f"moving average ({window})",
        )
        axes[0].legend(fontsize=8)
    axes[0].set(title="training loss", xlabel="step")
    if val:
        epochs = [r["epoch"] for r in val]
        axes[1].plot(epochs, [r["loss"] for r in val], marker="o", color="#d94801")
        axes[2].plot(epochs, [r["accuracy"] for r in val], marker="o", label="accuracy")
        axes[2].plot(epochs, [r["macro_f1"] for r in val], marker="s", label="macro-F1")
        kept = [r for r in val if r["step"] == best_step]
        best = kept[-1] if kept else max(val, key=lambda r: r["macro_f1"])
        axes[2].scatter(
            [best["epoch"]],
            [best["macro_f1"]],
            s=160,
            facecolors="none",
            edgecolors="red",
            linewidths=2,
            label="best (kept)",
            zorder=5,
        )
        axes[2].legend(fontsize=8)
    axes[1].set(title="validation loss", xlabel="epoch")
    axes[2].set(title="validation accuracy / macro-F1", xlabel="epoch")
    for ax in axes:
        ax.grid(alpha=0.3)
    return _to_data_uri(fig)


def confusion_heatmap_png(confusion: list[list[int]], labels: list[str]) -> str:
    """Row-normalised confusion matrix; counts written in cells when there are few labels."""
    matrix = np.asarray(confusion, dtype=float)
    n = len(labels)
    rows = matrix.sum(axis=1, keepdims=True)
    norm = np.divide(matrix, rows, out=np.zeros_like(matrix), where=rows > 0)
    size = min(4 + 0.22 * n, 22)
    fig, ax = plt.subplots(figsize=(size, size * 0.9))
    image = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    font = max(4, min(10, 200 / max(n, 1)))
    ax.set_xticks(range(n), labels, rotation=90, fontsize=font)
    ax.set_yticks(range(n), labels, fontsize=font)
    ax.set(xlabel="predicted", ylabel="true", title="confusion matrix (row-normalised)")
    if n <= 20:
        for i in range(n):
            for j in range(n):
                if matrix[i, j]:
                    ax.text(
                        j,
                        i,
                        int(matrix[i, j]),
                        ha="center",
                        va="center",
                        fontsize=font,
                        color="white" if norm[i, j] > 0.5 else "black",
                    )
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    return _to_data_uri(fig)


def tradeoff_png(variants: list[dict], recommended: str) -> str:
    """Accuracy against single-request latency; point area proportional to size on disk."""
    fig, ax = plt.subplots(figsize=(7, 4.2))
    sizes = [max(r["size_mb"], 1.0) for r in variants]
    scale = 900 / max(sizes)
    for r, size in zip(variants, sizes):
        colour = (
            "#1a7f37"
            if r["variant"] == recommended
            else ("#08519c" if r["within_tolerance"] else "#cf222e")
        )
        ax.scatter(r["p50_ms"], 100 * r["accuracy"], s=size * scale, alpha=0.5, color=colour)
        ax.annotate(
            f"{r['variant']} ({r['size_mb']:.0f} MB)",
            (r["p50_ms"], 100 * r["accuracy"]),
            fontsize=8,
            ha="center",
            va="bottom",
            xytext=(0, 8),
            textcoords="offset points",
        )
    ax.set(
        xlabel="p50 latency, one short request (ms)",
        ylabel="test accuracy (%)",
        title="accuracy vs latency (area = size on disk; green = recommended)",
    )
    ax.grid(alpha=0.3)
    return _to_data_uri(fig)
