"""User-facing errors: one paragraph that names the file, row or field and what to do."""

from __future__ import annotations


class TuneforgeError(Exception):
    """An error caused by input the user can fix. The CLI prints it without a traceback."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message if not hint else f"{message} {hint}")


class DataError(TuneforgeError, ValueError):
    """Data that cannot be read or used as given (a ValueError too, as scikit-learn expects of
    bad input to an estimator)."""


class ConfigError(TuneforgeError):
    """A configuration key, value or YAML file that is not valid."""

    exit_code = 2


class ModelError(TuneforgeError):
    """A model directory that is missing, incomplete or not a local Hugging Face model."""


class RunError(TuneforgeError):
    """A run id or run directory that does not exist, already exists or is incomplete."""


class RunPruned(TuneforgeError):
    """Raised from a validation hook to end a run that a search judged not worth finishing.

    The run is recorded as ``pruned`` (not failed) and no evaluation or model is written.
    """


class NameRuleError(RunError, ConfigError):
    """A run, model, study or queue name that breaks the name rule (``store/names.py``): a
    usage error (exit code 2) wherever the name was given."""


class TrackingError(TuneforgeError):
    """An experiment tracker (MLflow, TensorBoard) that cannot be written to while
    ``--track-required`` says the run must be tracked."""


class GateError(TuneforgeError):
    """A release gate said no: an export that does not reproduce the trained model, or a
    promotion whose parity, accuracy or tolerance checks fail. Exit code 3, so scripts can tell
    "refused on the figures" from "could not run"."""

    exit_code = 3
