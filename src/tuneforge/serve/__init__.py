"""The serving stage: an HTTP app with micro-batching, limits, auth, health and metrics."""

from .app import create_app
from .settings import ServeSettings, check_binding, load_token
from .text_inputs import PredictRequest

__all__ = ["PredictRequest", "ServeSettings", "check_binding", "create_app", "load_token"]
