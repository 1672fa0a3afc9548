"""DP-SGD inside one fit(): Opacus' per-example gradient hooks, the DP optimizer, the
accountant, and the Poisson batches and noise seeded per epoch from the run's secret.

:mod:`tuneforge.train.privacy` decides the plan (and says why DP-SGD works as it does); this
module applies it to a model and an optimizer and takes itself off again afterwards, so the
model is saved, merged and exported as a plain module.
"""

from __future__ import annotations

import secrets
import warnings
from typing import Any

import numpy as np

from ..errors import ConfigError, RunError
from .privacy import PrivacyPlan, accountant_kwargs, quiet_accountant, require_opacus

# The model's first layer answers torch's backward hooks without an input gradient, by design.
warnings.filterwarnings("ignore", message="Full backward hook is firing when gradients")


def torch_tensor() -> type:
    import torch

    return torch.Tensor


def freeze_position_embeddings(model) -> list[str]:
    """Fix the position-embedding tables (returns their names). A transformer looks them up
    with one row of positions for the whole batch, so Opacus sees a batch of one and cannot
    tell the examples' gradients apart; pretrained positions lose little by staying fixed."""
    import torch

    frozen = []
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Embedding) and name.endswith("position_embeddings"):
            if module.weight.requires_grad:
                module.weight.requires_grad_(False)
                frozen.append(name)
    return frozen


class PrivateTraining:
    """Opacus attached to one fit(): hooks on the model, the DP optimizer, the accountant, and
    the secret that seeds Poisson batches and noise per epoch."""

    def __init__(self, plan: PrivacyPlan, secret: int | None = None) -> None:
        self.plan = plan
        self.secret = secret if secret is not None else secrets.randbits(63)
        self.hooks: Any = None
        self.engine: Any = None
        self.optimizer: Any = None
        self.noise: Any = None  # the torch.Generator of the noise
        self.probed = False  # whether a backward pass showed every weight's per-example grads

    def attach(self, model, optimizer) -> Any:
        """Hook ``model`` (unwrapped: its state dict and save stay as they are) and return the
        DP optimizer around ``optimizer``; a ConfigError names a layer Opacus cannot handle."""
        require_opacus()
        import torch
        from opacus import PrivacyEngine
        from opacus.validators.errors import UnsupportedModuleError

        plan = self.plan
        # make_private reads only the loader's dataset and length (1 / length is the sample
        # rate); the batches themselves come from epoch_batches.
        indices = torch.utils.data.TensorDataset(torch.arange(plan.n_train))
        loader = torch.utils.data.DataLoader(indices, batch_size=plan.batch_size)
        device = next((p.device for p in model.parameters()), torch.device("cpu"))
        self.noise = torch.Generator(device=device)  # the noise is drawn where the grads are
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Secure RNG turned off")
            self.engine = PrivacyEngine(accountant=plan.accountant)
        model.train()
        try:
            self.hooks, self.optimizer, _ = self.engine.make_private(
                module=model,
                optimizer=optimizer,
                data_loader=loader,
                noise_multiplier=plan.noise_multiplier,
                max_grad_norm=plan.max_grad_norm,
                poisson_sampling=True,
                noise_generator=self.noise,
                wrap_model=False,
            )
        except (NotImplementedError, ValueError) as exc:  # e.g. trainable layers with buffers
            raise ConfigError(f"this model cannot be trained with --privacy dp: {exc}") from None
        except UnsupportedModuleError as exc:  # ModuleValidator's list of the modules
            raise ConfigError(
                f"this model has layers Opacus cannot make private: {exc}",
                hint="Use --method lora or full on a transformer text encoder.",
            ) from None
        self.optimizer.expected_batch_size = plan.expected_batch_size
        return self.optimizer

    def epoch_batches(self, epoch: int) -> list[list[int]]:
        """This epoch's Poisson batches (reseeding the noise too), replayable from the secret."""
        import torch
        from opacus.utils.uniform_sampler import UniformWithReplacementSampler

        seeds = np.random.SeedSequence([self.secret, epoch]).generate_state(2, dtype=np.uint64)
        sampling = torch.Generator(device="cpu")
        sampling.manual_seed(int(seeds[0]))
        if self.noise is not None:  # attached: the noise replays with the batches
            self.noise.manual_seed(int(seeds[1]))
        sampler = UniformWithReplacementSampler(
            num_samples=self.plan.n_train,
            sample_rate=self.plan.sample_rate,
            generator=sampling,
            steps=self.plan.steps_per_epoch,
        )
        return [list(b) for b in sampler]

    def check_probe(self, model, batch_size: int) -> None:
        """After the first backward pass: a ConfigError naming every trainable weight whose
        per-example gradient is missing (its layer runs outside Opacus' hooks) or not one per
        example (a layer fed one input for the whole batch), else nothing."""
        wrong = []
        for name, p in model.named_parameters():
            if not p.requires_grad:
                continue
            sample = getattr(p, "grad_sample", None)
            if sample is None or (isinstance(sample, torch_tensor()) and len(sample) != batch_size):
                wrong.append(name)
        if wrong:
            more = f" and {len(wrong) - 6} more" if len(wrong) > 6 else ""
            raise ConfigError(
                "these trainable weights get no per-example gradient, so --privacy dp cannot "
                f"clip them: {', '.join(wrong[:6])}{more}.",
                hint="Use --method full or lora, or freeze those weights.",
            )
        self.probed = True

    def empty_step_grads(self, model) -> None:
        """A batch that sampled no example still takes its noisy step (the accountant counted
        it): zero per-example gradients for every trainable weight."""
        import torch

        for p in model.parameters():
            if p.requires_grad:
                p.grad_sample = torch.zeros((0, *p.shape), dtype=p.dtype, device=p.device)

    def restore(self, saved: dict | None, steps_done: int) -> None:
        """Continue the accountant (and the secret) of a checkpoint that ``steps_done`` noisy
        steps wrote; a checkpoint of other DP settings, or without them, is refused."""
        if steps_done == 0 and not saved:
            return
        plan = self.plan
        if not saved:
            raise RunError(
                "The checkpoint has no privacy accountant state, so the ε its steps spent is "
                "unknown; a DP run cannot continue from it.",
                hint="Start a new run instead of --resume.",
            )
        if (saved.get("noise_multiplier"), saved.get("sample_rate")) != (
            plan.noise_multiplier,
            plan.sample_rate,
        ):
            raise RunError(
                f"The checkpoint was trained with noise {saved.get('noise_multiplier')} at "
                f"sample rate {saved.get('sample_rate')}, this run plans "
                f"{plan.noise_multiplier} at {plan.sample_rate}: resuming would mix two "
                "privacy accounts.",
                hint="Start a new run instead of --resume.",
            )
        self.secret = int(saved["secret"])
        self.engine.accountant.history = [tuple(h) for h in saved["history"]]

    def state(self) -> dict:
        """What a checkpoint keeps to resume the account exactly."""
        return {
            "secret": self.secret,
            "noise_multiplier": self.plan.noise_multiplier,
            "sample_rate": self.plan.sample_rate,
            "history": [list(h) for h in self.engine.accountant.history],
        }

    def spent(self) -> dict:
        """ε spent by the steps taken so far, with the plan it was spent under."""
        acc = self.engine.accountant
        steps = sum(int(h[2]) for h in acc.history)
        kwargs = accountant_kwargs(self.plan.accountant)
        with quiet_accountant():
            epsilon = float(acc.get_epsilon(delta=self.plan.delta, **kwargs)) if steps else 0.0
        plan = self.plan.to_dict()
        plan["planned_steps"] = plan.pop("steps")
        return {"epsilon": round(epsilon, 4), "steps": steps, **plan}

    def detach(self) -> None:
        """Take Opacus' hooks and per-parameter attributes off the model."""
        if self.hooks is not None:
            self.hooks.cleanup()
            self.hooks = None
