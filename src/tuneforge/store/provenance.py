"""Where a run came from: the code's git commit and the versions of the packages it ran on."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys

PACKAGES = ("tuneforge", "torch", "transformers", "tokenizers", "scikit-learn", "numpy")


def git_sha() -> str | None:
    """HEAD of the working directory's repository, or None outside one."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def package_versions() -> dict[str, str]:
    versions = {"python": sys.version.split()[0]}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return versions
