"""Differentially private fine-tuning: DP-SGD through Opacus.

What changes against a normal run, and why:

- **Batches are Poisson samples.** Every step takes each training example independently with
  probability q = 1 / ceil(n / batch_size) (Opacus' ``UniformWithReplacementSampler``), for
  ceil(n / batch_size) steps an epoch; the accountant's amplification by sampling assumes
  exactly that. Length bucketing is off: batches built from lengths would make who shares a
  batch depend on the data. Batch sizes vary around the expected n·q.
- **Per-example gradients are clipped and noised.** Opacus' hooks compute each example's
  gradient, the optimizer clips each to ``privacy.max_grad_norm`` (C) and adds Gaussian noise of
  standard deviation σ·C; σ is the smallest noise multiplier that keeps the planned steps within
  (ε, δ) by the accountant (``get_noise_multiplier``, what ``make_private_with_epsilon`` uses),
  found before the run directory exists, so an unreachable ε stores nothing.
- **The noise is secret.** Sampling and noise come from generators seeded per epoch from 63
  secret bits drawn for the run (kept only in its checkpoints, which a finished run deletes):
  ``train.seed`` is written in config.yaml, and noise derived from it could be replayed by
  anyone holding the config. Resume replays the same batches and noise from the checkpoint.
  This is Opacus without ``secure_mode`` (no torchcsprng): pseudo-random, not cryptographic.
- **What cannot be private is refused**: methods and layers without per-example gradients, bf16
  autocast (per-example norms rounded in bf16 can let a clipped gradient exceed C, which the
  guarantee assumes never happens), gradient accumulation (one Poisson batch is one noisy step),
  ``class_weights: balanced`` (class frequencies read from the training data outside the
  mechanism), distillation targets and several processes. Position embeddings stay fixed: a
  transformer looks them up once for the whole batch, which leaves no per-example gradient.

This module decides the plan; :mod:`tuneforge.train.dp_sgd` applies it inside fit(). The
guarantee covers the training split. The validation split picks the best epoch and the test
split is evaluated as usual; neither is protected by ε.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass

from ..config import ACCOUNTANTS, PRIVACY_MODES, PrivacyConfig, TrainConfig
from ..errors import ConfigError

_INSTALL = "Install Opacus: pip install opacus==1.6.0"
DELTA_RULE = "1/(10·n)"
# Rényi orders: Opacus' defaults and larger ones, which bound few noisy steps more tightly
# (without them the RDP accountant warns that its optimum is the largest order it tried).
RDP_ALPHAS = (
    [1 + x / 10.0 for x in range(1, 100)]
    + list(range(12, 64))
    + [
        80,
        96,
        128,
        192,
        256,
        384,
        512,
        1024,
    ]
)


def accountant_kwargs(accountant: str) -> dict:
    """What the accountant's ``get_epsilon`` takes beyond δ: RDP's orders."""
    return {"alphas": RDP_ALPHAS} if accountant == "rdp" else {}


@contextlib.contextmanager
def quiet_accountant() -> Iterator[None]:
    """Opacus' RDP accountant warns when its best order is the largest one tried: true of
    budgets far from any that train, which are refused with their own message."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Optimal order is the largest alpha")
        yield


def is_private(cfg: PrivacyConfig) -> bool:
    """Whether ``cfg`` asks for differential privacy; a mode other than none/dp is refused."""
    if cfg.mode not in PRIVACY_MODES:
        raise ConfigError(
            f"privacy.mode must be one of {', '.join(PRIVACY_MODES)}, got '{cfg.mode}'.",
            hint="Use --privacy dp (or privacy.mode=dp) for differentially private training.",
        )
    return cfg.mode == "dp"


@dataclass(frozen=True)
class PrivacyPlan:
    """The DP-SGD settings a run trains with, decided before it starts."""

    target_epsilon: float
    delta: float
    delta_rule: str  # how δ was chosen: the default rule or "given"
    noise_multiplier: float  # σ: noise standard deviation per unit of clipping bound
    sample_rate: float  # q: the chance each example is in a batch
    steps_per_epoch: int
    epochs: int
    expected_batch_size: float
    max_grad_norm: float
    accountant: str
    n_train: int
    batch_size: int

    @property
    def steps(self) -> int:
        return self.steps_per_epoch * self.epochs

    def to_dict(self) -> dict:
        return {**asdict(self), "steps": self.steps}


def require_opacus():
    """Opacus itself, or a ConfigError saying how to install it."""
    try:
        import opacus
    except ImportError:
        raise ConfigError(
            "--privacy dp trains through Opacus, which is not installed.", hint=_INSTALL
        ) from None
    return opacus


def epsilon_for(noise: float, sample_rate: float, steps: int, delta: float, accountant: str):
    """ε that ``steps`` noisy steps of multiplier ``noise`` at rate ``sample_rate`` spend."""
    require_opacus()
    from opacus.accountants import create_accountant

    acc = create_accountant(mechanism=accountant)
    acc.history = [(noise, sample_rate, steps)]
    with quiet_accountant():
        return float(acc.get_epsilon(delta=delta, **accountant_kwargs(accountant)))


def _noise_for(epsilon: float, delta: float, sample_rate: float, steps: int, accountant: str):
    """σ reaching ``epsilon`` (Opacus' own search); None when no σ below 10⁶ does."""
    require_opacus()
    from opacus.accountants.utils import get_noise_multiplier

    try:
        with quiet_accountant():
            found = get_noise_multiplier(
                target_epsilon=epsilon,
                target_delta=delta,
                sample_rate=sample_rate,
                steps=steps,
                accountant=accountant,
                **accountant_kwargs(accountant),
            )
        return float(found)
    except ValueError:  # "The privacy budget is too low."
        return None


def _check_settings(cfg: PrivacyConfig) -> float:
    if cfg.epsilon is None:
        raise ConfigError(
            "--privacy dp needs a privacy budget: privacy.epsilon is not set.",
            hint="For example --epsilon 8 (smaller is more private and less accurate).",
        )
    if not math.isfinite(cfg.epsilon) or cfg.epsilon <= 0:
        raise ConfigError(
            f"privacy.epsilon must be a positive number, got {cfg.epsilon}.",
            hint="ε bounds how much one training example can change the model; try 1 to 8.",
        )
    if cfg.accountant not in ACCOUNTANTS:
        raise ConfigError(
            f"privacy.accountant must be one of {', '.join(ACCOUNTANTS)}, got '{cfg.accountant}'."
        )
    if cfg.max_grad_norm <= 0:
        raise ConfigError(f"privacy.max_grad_norm must be positive, got {cfg.max_grad_norm}.")
    if cfg.max_noise <= 0:
        raise ConfigError(f"privacy.max_noise must be positive, got {cfg.max_noise}.")
    return cfg.epsilon


def resolve_delta(cfg: PrivacyConfig, n_train: int) -> tuple[float, str]:
    """δ and how it was chosen: the given value, checked to be below 1/n, else 1/(10·n)."""
    if cfg.delta is None:
        return 1.0 / (10 * n_train), DELTA_RULE
    if not 0 < cfg.delta < 1.0 / n_train:
        raise ConfigError(
            f"privacy.delta={cfg.delta:g} is not between 0 and 1/n = {1.0 / n_train:.3g} "
            f"(n = {n_train} training examples): a δ of 1/n or more fits a model that gives "
            "away one whole example.",
            hint=f"Leave --delta out (AUTO: {DELTA_RULE} = {1.0 / (10 * n_train):.3g}).",
        )
    return float(cfg.delta), "given"


def plan_privacy(
    cfg: PrivacyConfig, n_train: int, batch_size: int, epochs: int
) -> PrivacyPlan | None:
    """The run's DP-SGD plan (None without ``mode: dp``); a ConfigError naming what would work
    when ε cannot be met: ε, δ out of range, or noise larger than ``max_noise`` allows."""
    if not is_private(cfg):
        if cfg.epsilon is not None or cfg.delta is not None:
            raise ConfigError(
                "privacy.epsilon and privacy.delta only apply to differentially private runs.",
                hint="Add --privacy dp, or leave out --epsilon/--delta.",
            )
        return None
    epsilon = _check_settings(cfg)
    if n_train < 2:
        raise ConfigError("--privacy dp needs at least 2 training examples.")
    delta, rule = resolve_delta(cfg, n_train)
    steps_per_epoch = math.ceil(n_train / batch_size)
    rate = 1.0 / steps_per_epoch
    noise = _noise_for(epsilon, delta, rate, steps_per_epoch * epochs, cfg.accountant)
    expected = n_train * rate
    if noise is None or noise / expected > cfg.max_noise:
        raise ConfigError(
            _unreachable(cfg, epsilon, delta, n_train, batch_size, epochs, noise),
            hint=_what_works(cfg, epsilon, delta, n_train, batch_size, epochs),
        )
    return PrivacyPlan(
        target_epsilon=epsilon,
        delta=delta,
        delta_rule=rule,
        noise_multiplier=noise,
        sample_rate=rate,
        steps_per_epoch=steps_per_epoch,
        epochs=epochs,
        expected_batch_size=expected,
        max_grad_norm=cfg.max_grad_norm,
        accountant=cfg.accountant,
        n_train=n_train,
        batch_size=batch_size,
    )


def _unreachable(cfg, epsilon, delta, n, batch, epochs, noise) -> str:
    expected = n / math.ceil(n / batch)
    needed = (
        "more noise than any multiplier up to 10⁶ gives"
        if noise is None
        else f"noise σ = {noise:.3g}, {noise / expected:.2g} per example of the expected batch "
        f"of {expected:.0f}"
    )
    return (
        f"ε = {epsilon:g} (δ = {delta:.3g}) cannot be met by {epochs} epochs over {n} "
        f"training examples in batches of {batch}: it needs {needed}, above the "
        f"{cfg.max_noise:g} of privacy.max_noise, so each step's noise would drown the gradient."
    )


def _feasible(cfg, epsilon, delta, n, batch, epochs) -> bool:
    steps_per_epoch = math.ceil(n / batch)
    rate = 1.0 / steps_per_epoch
    limit = cfg.max_noise * n * rate
    return epsilon_for(limit, rate, steps_per_epoch * epochs, delta, cfg.accountant) <= epsilon


def _what_works(cfg, epsilon, delta, n, batch, epochs) -> str:
    """Each way out that meets the limit: the smallest ε here, fewer epochs, a larger batch,
    more data (δ follows n by its rule when it was not given)."""
    steps_per_epoch = math.ceil(n / batch)
    rate = 1.0 / steps_per_epoch
    least = epsilon_for(
        cfg.max_noise * n * rate, rate, steps_per_epoch * epochs, delta, cfg.accountant
    )
    ways = [f"--epsilon {math.ceil(least * 10) / 10:g} or more"]
    fewer = next(
        (e for e in range(epochs - 1, 0, -1) if _feasible(cfg, epsilon, delta, n, batch, e)), None
    )
    if fewer:
        ways.append(f"--epochs {fewer}")
    bigger = next(
        (
            batch * 2**k
            for k in range(1, 8)
            if batch * 2**k <= n and _feasible(cfg, epsilon, delta, n, batch * 2**k, epochs)
        ),
        None,
    )
    if bigger:
        ways.append(f"--batch-size {bigger}")
    for k in range(1, 11):
        more = n * 2**k
        more_delta = delta if cfg.delta is not None else 1.0 / (10 * more)
        if _feasible(cfg, epsilon, more_delta, more, batch, epochs):
            ways.append(f"about {more} training examples")
            break
    return "What would work: " + "; ".join(ways) + "."


def check_private_training(
    cfg: TrainConfig, *, method: str, world: int = 1, distill: bool = False
) -> None:
    """Refuse, before anything is stored, what DP-SGD here cannot make private (which tasks
    it trains is the task's ``supports_privacy``)."""
    from ..methods import get_method

    found = get_method(method)
    if found.private_refusal:
        raise ConfigError(
            f"method '{method}' cannot be trained with --privacy dp: {found.private_refusal}.",
            hint="Use --method full or lora (adapters plus head are the natural fit for DP).",
        )
    if cfg.precision == "bf16":
        raise ConfigError(
            "train.precision=bf16 cannot be used with --privacy dp: per-example gradient norms "
            "rounded in bf16 can let a clipped gradient exceed max_grad_norm, which the "
            "ε guarantee assumes never happens.",
            hint="Use --precision fp32 or auto (auto trains DP runs in fp32).",
        )
    if cfg.grad_accum != 1:
        raise ConfigError(
            f"train.grad_accum={cfg.grad_accum} cannot be used with --privacy dp: each Poisson "
            "batch is one noisy step, and accumulating batches would change what ε accounts.",
            hint="Set train.grad_accum=1 and raise --batch-size instead.",
        )
    if cfg.class_weights != "none":
        raise ConfigError(
            "train.class_weights=balanced cannot be used with --privacy dp: the weights are "
            "class frequencies read from the training data outside the private mechanism.",
            hint="Leave train.class_weights at none.",
        )
    if world > 1:
        raise ConfigError(
            "--privacy dp trains on one process; distributed training (--nproc, torchrun) "
            "with DP is not supported.",
            hint="Leave out --nproc.",
        )
    if distill:
        raise ConfigError("distillation targets cannot be used with --privacy dp.")


def train_precision(cfg: TrainConfig) -> TrainConfig:
    """A DP run's train config: ``precision: auto`` becomes fp32 (bf16 is refused)."""
    from dataclasses import replace

    return replace(cfg, precision="fp32") if cfg.precision == "auto" else cfg
