"""What a federation trains with, without Flower: the model every side builds, a client's
rounds of local training, and the server's evaluation of the global weights.

Server and clients build the same model (:func:`federation_model`): the pretrained encoder,
the method's adapter and the label list the server announces, frozen the way fit() would
freeze it, so the trainable weights line up name by name. A round on a client is one fit()
over its own examples from the global weights (no validation split: the server selects);
FedProx adds μ/2·‖w − w_global‖² to the loss through gradient hooks; with DP-SGD the noise
is planned for all the rounds a client takes part in, so ε covers the whole federation.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..config import RunConfig
from ..errors import ConfigError
from ..types import DatasetSplits, Example, LabelMap
from .spec import FEDERATED_METHODS
from .weights import get_trainable, set_trainable


def check_method(name: str) -> None:
    """A ConfigError for a method whose trainable part cannot be averaged across clients."""
    if name not in FEDERATED_METHODS:
        raise ConfigError(
            f"method '{name}' cannot be federated: each client would reshape its own adapter, "
            "so the clients' weights would not line up for averaging.",
            hint=f"Use one of: {', '.join(FEDERATED_METHODS)}.",
        )


def read_client_file(cfg: RunConfig, path: str | Path) -> list[Example]:
    """A client's labelled examples, checked like a training file (a non-IID client may hold
    a single class)."""
    from ..data.sources import load_examples
    from ..data.validate import check_examples, raise_if_blocking

    loaded = load_examples(
        path,
        cfg.data.text_column,
        cfg.data.label_column,
        cfg.data.format,
        delimiter=cfg.data.delimiter,
    )
    raise_if_blocking(check_examples(loaded, None, cfg.model.max_length, min_classes=1))
    return loaded.examples


def unknown_labels(examples: Sequence[Example], known: Sequence[str]) -> list[str]:
    """Labels of ``examples`` outside ``known``, sorted."""
    return sorted({e.label for e in examples} - set(known))


def federation_model(cfg: RunConfig, labels: Sequence[str], n_train: int = 1):
    """The model every side builds: encoder + method + a head for ``labels``, with the
    embeddings, bottom blocks (full fine-tuning) and, under DP, the position embeddings
    frozen as fit() freezes them, so the trainable names agree before any training."""
    from ..methods import apply_method
    from ..models import load_model
    from ..train import planned_updates
    from ..train.dp_sgd import freeze_position_embeddings
    from ..train.freeze import default_frozen_layers, freeze_bottom, word_embeddings
    from ..train.privacy import is_private

    check_method(cfg.method.name)
    cm = load_model(cfg.model, LabelMap(tuple(labels)))
    cm = apply_method(cm, cfg.method, planned_updates(n_train, cfg.train))
    model = cm.model
    embeddings = word_embeddings(model)
    if cfg.train.freeze_embeddings and embeddings is not None:
        embeddings.weight.requires_grad_(False)
    if cm.method == "full":
        layers = cfg.train.freeze_layers
        freeze_bottom(model, default_frozen_layers(model, "text") if layers is None else layers)
    if is_private(cfg.privacy):
        freeze_position_embeddings(model)
    return cm


@contextlib.contextmanager
def proximal_term(model, mu: float, grad_accum: int = 1) -> Iterator[None]:
    """FedProx: while open, every backward pass adds μ·(w − w_start) to each trainable
    weight's gradient — the gradient of μ/2·‖w − w_start‖², w_start the weights on entry."""
    if mu <= 0:
        yield
        return
    scale = mu / max(grad_accum, 1)
    handles = []
    for _, param in model.named_parameters():
        if param.requires_grad:
            anchor = param.detach().clone()
            handles.append(
                param.register_hook(lambda g, p=param, a=anchor: g + scale * (p.detach() - a))
            )
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


@dataclass
class RoundResult:
    arrays: list[np.ndarray]
    n_examples: int
    metrics: dict


class LocalTrainer:
    """One client's side of the federation: its examples, its model, its DP account."""

    def __init__(self, cfg: RunConfig, examples: list[Example], labels: Sequence[str]) -> None:
        self.cfg = cfg
        self.labels = LabelMap(tuple(labels))
        self.data = DatasetSplits(
            train=list(examples), val=[], test=[], labels=self.labels, fingerprint="", source={}
        )
        self.cm = federation_model(cfg, labels, len(examples))
        self.privacy = None  # the plan for every round, set by plan_rounds
        self.dp_steps = 0

    def plan_rounds(self, rounds: int, local_epochs: int) -> dict | None:
        """Plan DP-SGD noise for all ``rounds`` × ``local_epochs`` epochs this client trains
        (a ConfigError when ε cannot be met); None for a run without DP."""
        from ..train.privacy import plan_privacy

        self.privacy = plan_privacy(
            self.cfg.privacy,
            len(self.data.train),
            self.cfg.train.batch_size,
            rounds * local_epochs,
        )
        return None if self.privacy is None else self.privacy.to_dict()

    def train_round(self, arrays: list[np.ndarray], local_epochs: int, mu: float) -> RoundResult:
        """Load the global weights, train ``local_epochs`` on the local examples, return the
        new trainable weights with the example count they were trained on."""
        from ..train import fit

        set_trainable(self.cm.model, arrays)
        train_cfg = replace(self.cfg.train, epochs=local_epochs)
        plan = None if self.privacy is None else replace(self.privacy, epochs=local_epochs)
        losses: list[float] = []

        def keep_loss(record: dict) -> None:
            if record.get("split") == "train":
                losses.append(float(record["loss"]))

        with proximal_term(self.cm.model, mu, train_cfg.grad_accum):
            result = fit(
                self.cm, self.data, train_cfg, progress=False, privacy=plan, on_metrics=keep_loss
            )
        metrics: dict = {"train_seconds": round(result.train_seconds, 3)}
        if losses:
            metrics["loss"] = losses[-1]
        if result.privacy is not None:
            self.dp_steps += int(result.privacy["steps"])
            plan = self.privacy
            metrics.update(
                epsilon=self.epsilon_spent(),
                delta=plan.delta,
                target_epsilon=plan.target_epsilon,
                noise_multiplier=plan.noise_multiplier,
                max_grad_norm=plan.max_grad_norm,
                accountant=plan.accountant,
                steps=self.dp_steps,
            )
        return RoundResult(get_trainable(self.cm.model), len(self.data.train), metrics)

    def epsilon_spent(self) -> float:
        """ε of every noisy step this client has taken so far, over all rounds."""
        from ..train.privacy import epsilon_for

        plan = self.privacy
        if plan is None or not self.dp_steps:
            return 0.0
        eps = epsilon_for(
            plan.noise_multiplier, plan.sample_rate, self.dp_steps, plan.delta, plan.accountant
        )
        return round(eps, 4) if math.isfinite(eps) else eps


class GlobalEvaluator:
    """The server's measure of the global weights on its validation examples."""

    def __init__(self, cm, examples: list[Example]) -> None:
        from ..train.batching import featurizer_for

        self.cm = cm
        self.featurizer = featurizer_for(cm)
        self.items = self.featurizer.encode(examples)
        self.label_ids = cm.labels.ids([e.label for e in examples])

    def __call__(self, arrays: list[np.ndarray]) -> dict:
        import torch

        from ..train.distributed import current_context
        from ..train.selection import validate

        set_trainable(self.cm.model, arrays)
        device = torch.device("cpu")
        self.cm.model.to(device)
        return validate(
            self.cm.model,
            self.items,
            self.label_ids,
            self.featurizer,
            "fp32",
            device,
            current_context(),
        )
