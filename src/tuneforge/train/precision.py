"""Choose the compute precision: bf16 autocast where the CPU has native bf16, else fp32."""

from __future__ import annotations

import contextlib
from pathlib import Path

import torch

from ..errors import ConfigError


def cpu_has_bf16() -> bool:
    """True when the CPU advertises AMX-BF16 or AVX512-BF16 (fast bf16 matrix multiplies)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    flags = set()
    for line in text.splitlines():
        if line.startswith("flags"):
            flags.update(line.split(":", 1)[1].split())
            break
    return bool({"amx_bf16", "avx512_bf16"} & flags)


def resolve_device() -> torch.device:
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def resolve_precision(requested: str, device: torch.device) -> str:
    """``auto`` → ``bf16`` on hardware with native bf16, ``fp32`` elsewhere."""
    if requested not in ("auto", "bf16", "fp32"):
        raise ConfigError(f"train.precision must be auto, bf16 or fp32, got '{requested}'.")
    if requested != "auto":
        return requested
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if cpu_has_bf16() else "fp32"


def autocast(precision: str, device: torch.device):
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
