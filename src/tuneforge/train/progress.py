"""A progress bar on a terminal, plain log lines elsewhere (CI logs, files, notebooks)."""

from __future__ import annotations

import sys
import time


class Progress:
    """Shows loss, examples/s and ETA for ``total`` optimisation steps."""

    def __init__(self, total: int, enabled: bool = True, stream=None) -> None:
        self.total = max(total, 1)
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.tty = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()
        self._bar = None
        self._task = None
        self._last_line = 0.0
        self._start = time.perf_counter()
        if self.tty:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(
                TextColumn("[bold]train"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[info]}"),
                TimeRemainingColumn(),
                transient=False,
            )
            self._bar.start()
            self._task = self._bar.add_task("train", total=self.total, info="")

    def update(self, step: int, info: str) -> None:
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(self._task, completed=step, info=info)
            return
        now = time.perf_counter()
        if now - self._last_line >= 10 or step >= self.total:
            elapsed = now - self._start
            eta = elapsed / max(step, 1) * (self.total - step)
            print(f"step {step}/{self.total} {info} eta {eta:.0f}s", file=self.stream, flush=True)
            self._last_line = now

    def message(self, text: str) -> None:
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.console.print(text)
        else:
            print(text, file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
