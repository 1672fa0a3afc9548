"""Tracking one run in every tracker asked for, without letting a tracker end the run.

:class:`Tracking` is what a recipe receives (``--track`` targets, ``--track-required``);
``tracking.start(facts)`` opens a :class:`TrackedRun` in each tracker, whose
:meth:`TrackedRun.log_metrics` is one more metric sink (:mod:`tuneforge.train.sinks`). A tracker
that fails is dropped and the failure said once; under ``--track-required`` it raises
:class:`TrackingError` instead. A search's trials are children of the study's run
(:meth:`Tracking.children`). Any flow (train, tune, retrain, federate) uses the same three
calls: ``check`` before work starts, ``start``, and ``tracked`` around the work.
"""

from __future__ import annotations

import numbers
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import RunPruned, TrackingError
from .targets import TrackTarget, probe

Log = Callable[[str], None]


@dataclass(frozen=True)
class RunFacts:
    """What a tracker records of a run: its id, its resolved config (``params``, nested) and
    tags (data fingerprint, seed, method, parent run, ...)."""

    run_id: str
    params: dict = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


class Tracking:
    """The trackers of one command; ``parents`` (per target) make its runs children, and
    ``tags`` go on each of its runs. A tracker turned off is off for its children too (a
    study's later trials), and said once."""

    def __init__(
        self,
        targets: Sequence[TrackTarget],
        *,
        required: bool = False,
        log: Log = lambda m: print(m, file=sys.stderr),
        parents: dict[TrackTarget, Any] | None = None,
        checked: bool = False,
        tags: dict[str, str] | None = None,
        off: set[TrackTarget] | None = None,
    ) -> None:
        self.targets = list(targets)
        self.required = required
        self.log = log
        self.parents = dict(parents or {})
        self.checked = checked
        self.tags = dict(tags or {})
        self.off = off if off is not None else set()  # shared with children: said once

    def __bool__(self) -> bool:
        return bool(self.targets)

    def check(self) -> Tracking:
        """Probe every target once, before any work: one that cannot be written to fails the
        command under ``--track-required``, else is dropped with one line saying so."""
        if self.checked:
            return self
        for target in list(self.targets):
            problem = probe(target)
            if problem is not None:
                self.drop(target, problem)
        self.checked = True
        return self

    def drop(self, target: TrackTarget, problem: str) -> None:
        """Stop tracking to ``target``: raise under ``--track-required``, else say so once."""
        if self.required:
            raise TrackingError(
                f"Tracking to {target} failed: {problem}.",
                hint="Start or fix the tracker, or leave out --track-required to train untracked.",
            )
        if target in self.targets:
            self.targets.remove(target)
        if target not in self.off:
            self.off.add(target)
            self.log(f"tracking to {target} is off: {problem}; the run goes on untracked")

    def start(self, facts: RunFacts) -> TrackedRun:
        """Open ``facts``' run in every tracker (children of ``parents`` where given)."""
        from .backends import open_backend

        self.check()
        facts = RunFacts(facts.run_id, facts.params, {**self.tags, **facts.tags})
        opened = []
        for target in [t for t in self.targets if t not in self.off]:
            try:
                opened.append((target, open_backend(target, facts, self.parents.get(target))))
            except Exception as exc:  # a tracker must not end the run it records
                self.drop(target, f"{type(exc).__name__}: {exc}")
        return TrackedRun(self, opened)

    def children(self, parent: TrackedRun, tags: dict[str, str] | None = None) -> Tracking:
        """The same trackers with ``parent``'s runs as parents (a study's trials), ``tags``
        on each child."""
        handles = {target: backend.handle for target, backend in parent.backends}
        return Tracking(
            list(handles),
            required=self.required,
            log=self.log,
            parents=handles,
            checked=True,
            tags={**self.tags, **(tags or {})},
            off=self.off,
        )


class TrackedRun:
    """One run open in each tracker; every call is guarded (see :meth:`Tracking.drop`)."""

    def __init__(self, tracking: Tracking, backends: list[tuple[TrackTarget, Any]]) -> None:
        self.tracking = tracking
        self.backends = backends

    def _each(self, call: Callable[[Any], None]) -> None:
        for target, backend in list(self.backends):
            try:
                call(backend)
            except Exception as exc:
                self.backends.remove((target, backend))
                self.tracking.drop(target, f"{type(exc).__name__}: {exc}")

    def log_metrics(self, record: dict) -> None:
        """A metric sink: one record (``split``, ``step``, ``epoch`` and numbers)."""
        if self.backends:
            self._each(lambda b: b.log_metrics(record))

    def log_evaluation(self, evaluation: dict, step: int) -> None:
        """The evaluation's figures (eval.json's numbers) at the run's last step."""
        figures = eval_figures(evaluation)
        self._each(lambda b: b.log_evaluation(str(evaluation.get("split", "test")), figures, step))

    def log_values(self, values: dict[str, float], step: int) -> None:
        """Named numbers at ``step`` (a study's best value after each trial)."""
        self._each(lambda b: b.log_values(values, step))

    def log_files(self, paths: Sequence[Path]) -> None:
        """Files the run wrote (report, eval, config, metrics) as artifacts; missing ones are
        skipped."""
        present = [Path(p) for p in paths if Path(p).is_file()]
        if present:
            self._each(lambda b: b.log_files(present))

    def end(self, state: str) -> None:
        """Close the run in every tracker: succeeded, failed, interrupted or pruned."""
        self._each(lambda b: b.end(state))

    @contextmanager
    def closing(self) -> Iterator[TrackedRun]:
        """Around the tracked work: whatever ends the block closes the run with that state."""
        try:
            yield self
        except RunPruned:
            self._end_quietly("pruned")
            raise
        except KeyboardInterrupt:
            self._end_quietly("interrupted")
            raise
        except BaseException:
            self._end_quietly("failed")
            raise
        self.end("succeeded")

    def _end_quietly(self, state: str) -> None:
        """Close a run that is ending on an exception: a tracker's own failure (under
        ``--track-required``) must not replace the error that ended the run."""
        try:
            self.end(state)
        except TrackingError:
            pass


NO_TRACKING = Tracking([], checked=True)


@contextmanager
def tracked(tracking: Tracking | None, facts: RunFacts) -> Iterator[TrackedRun]:
    """A tracked run around a block; whatever ends the block closes it with that state. (A
    flow that has already marked its run started opens it with ``start`` under its recorder
    instead, so a tracker refusing to open under ``--track-required`` fails that run.)"""
    with (tracking or NO_TRACKING).start(facts).closing() as run:
        yield run


def eval_figures(evaluation: dict) -> dict[str, float]:
    """The numbers of eval.json a tracker charts: top-level figures (accuracy, macro-F1,
    calibration error, ...) and the baseline's as ``baseline_<name>``."""
    figures = {k: float(v) for k, v in evaluation.items() if _is_number(v)}
    baseline = evaluation.get("baseline") or {}
    if isinstance(baseline, dict):
        figures.update({f"baseline_{k}": float(v) for k, v in baseline.items() if _is_number(v)})
    return figures


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)
