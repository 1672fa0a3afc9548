"""Exporters talk a lot: torch.onnx's tracer warnings, onnxscript's notes, onnxruntime's advice
to pre-process before quantising. None of it is something a tuneforge user can act on (parity
checks every artifact instead), so variant builds run with them silenced."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

_LOGGERS = ("", "torch", "torch.onnx", "torch.export", "onnxscript", "onnxruntime", "onnx_ir")


@contextmanager
def quiet_exporters() -> Iterator[None]:
    """Warnings and log records below ERROR from the exporters are dropped inside the block."""
    loggers = [logging.getLogger(name) for name in _LOGGERS]
    levels = [logger.level for logger in loggers]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels):
                logger.setLevel(level)
