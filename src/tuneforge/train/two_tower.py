"""Training the two-tower recommender: next-item prediction with in-batch negatives.

Each training interaction after a user's first is one example: the user's previous items (at
most ``history``) predict it. A batch's targets are each other's negatives (a sampled softmax
over the batch), with the log of each item's training frequency subtracted from its logit (the
"logQ" correction: popular items appear as negatives more often than a full softmax would
weigh them), and a batch's repeats of the positive item masked out. The epoch with the best
validation NDCG@10 is kept (early stopping after ``patience`` epochs without gain).

Only the towers train; the sentence encoder's item vectors are computed once beforehand.
Measured on the two shared CPU cores (other work beside it): one MiniLM forward pass over 256
MovieLens item texts took 7.5 s, and forward plus backward with only its top block trainable
the same 7.5 s, so fine-tuning the encoder would cost about 380 such steps, most of an hour,
per MovieLens-100k epoch; with frozen vectors an epoch over 11k interactions took 1.5 s
(validation included, ``bench/recommend.py --users 100``). The text path still learns,
through its MLP, where each item lies for the users.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..evaluate.ranking import Interactions, evaluate_ranking
from ..models.two_tower import item_vectors, user_vectors


@dataclass(frozen=True)
class TowerTraining:
    epochs: int = 20
    batch_size: int = 256
    lr: float = 2e-3
    weight_decay: float = 1e-5
    patience: int = 3
    seed: int = 42


@dataclass
class TowerResult:
    best_epoch: int
    epochs_run: int
    best_val: dict
    train_seconds: float
    examples: int
    stopped_early: bool


def histories(train: Interactions) -> list[list[int]]:
    """Each user's training items, oldest first."""
    out: list[list[int]] = [[] for _ in range(train.n_users)]
    for u, i in zip(train.users.tolist(), train.items.tolist()):
        out[u].append(i)
    return out


def next_item_examples(train: Interactions, length: int) -> tuple[np.ndarray, np.ndarray]:
    """(histories N × ``length`` of item codes, -1 padded, targets N): one per interaction
    that follows another of the same user."""
    rows, targets = [], []
    for items in histories(train):
        for t in range(1, len(items)):
            recent = items[max(0, t - length) : t]
            rows.append(recent + [-1] * (length - len(recent)))
            targets.append(items[t])
    if not rows:
        return np.zeros((0, length), np.int64), np.zeros(0, np.int64)
    return np.asarray(rows, dtype=np.int64), np.asarray(targets, dtype=np.int64)


def tower_scores(model, text: np.ndarray, seen: Interactions) -> Callable:
    """``score(user codes) -> users × items`` of the model, users pooled from ``seen``."""
    vectors = item_vectors(model, text)
    known = histories(seen)
    return lambda users: user_vectors(model, vectors, [known[u] for u in users]) @ vectors.T


def fit_two_tower(
    model,
    text: np.ndarray,
    train: Interactions,
    val: dict[int, int],
    cfg: TowerTraining,
    on_metrics: Callable[[dict], None] = lambda record: None,
    log: Callable[[str], None] = lambda message: None,
) -> TowerResult:
    """Train ``model`` in place on ``train``; keep the epoch best on ``val`` (user → item)."""
    import torch

    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    hist, targets = next_item_examples(train, model.cfg.history)
    counts = np.bincount(train.items, minlength=train.n_items).astype(np.float64) + 1.0
    log_q = torch.from_numpy(np.log(counts / counts.sum()).astype(np.float32))
    text_t = torch.from_numpy(np.asarray(text, np.float32))
    optimiser = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    best, best_state, best_epoch, since, step = -1.0, None, 0, 0, 0
    start, epoch = time.perf_counter(), 0
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        losses = []
        for batch in np.array_split(
            rng.permutation(len(targets)), max(1, len(targets) // cfg.batch_size)
        ):
            loss = _step(model, text_t, hist[batch], targets[batch], log_q)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(float(loss.detach()))
            step += 1
        model.eval()
        figures = _validate(model, text, train, val)
        mean_loss = float(np.mean(losses)) if losses else 0.0
        on_metrics({"split": "train", "step": step, "epoch": float(epoch), "loss": mean_loss})
        on_metrics({"split": "val", "step": step, "epoch": float(epoch), **figures})
        log(f"epoch {epoch}: loss {mean_loss:.4f}, val NDCG@10 {figures['ndcg@10']:.4f}")
        if figures["ndcg@10"] > best:
            best, best_epoch, since = figures["ndcg@10"], epoch, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            best_val = figures
        else:
            since += 1
            if cfg.patience and since >= cfg.patience:
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return TowerResult(
        best_epoch,
        epoch,
        best_val if best_state is not None else {},
        time.perf_counter() - start,
        len(targets),
        epoch < cfg.epochs,
    )


def _step(model, text, hist: np.ndarray, targets: np.ndarray, log_q):
    """The in-batch sampled-softmax loss of one batch."""
    import torch
    from torch.nn import functional

    codes, inverse = np.unique(np.concatenate([hist.ravel(), targets]), return_inverse=True)
    pad = codes[0] == -1
    items = torch.from_numpy(np.where(codes < 0, 0, codes))
    vectors = model.items(text[items], items, drop=model.cfg.id_dropout)
    if pad:
        vectors = vectors * (torch.from_numpy(codes >= 0).float().unsqueeze(1))
    where = torch.from_numpy(inverse)
    hist_at = where[: hist.size].view(hist.shape)
    target_at = where[hist.size :]
    users = model.users(vectors[hist_at], torch.from_numpy(hist >= 0))
    positives = vectors[target_at]
    logits = users @ positives.T / model.cfg.temperature
    target_t = torch.from_numpy(targets)
    logits = logits - log_q[target_t].unsqueeze(0)
    same = target_t.unsqueeze(0) == target_t.unsqueeze(1)
    same.fill_diagonal_(False)
    logits = logits.masked_fill(same, -1e9)
    return functional.cross_entropy(logits, torch.arange(len(targets)))


def _validate(model, text: np.ndarray, train: Interactions, val: dict[int, int]) -> dict:
    if not val:
        return {"hr@10": 0.0, "ndcg@10": 0.0}
    report = evaluate_ranking(tower_scores(model, text, train), train, val, ks=(10,))
    figures = report.to_dict()
    return {"hr@10": figures["hr@10"], "ndcg@10": figures["ndcg@10"]}
