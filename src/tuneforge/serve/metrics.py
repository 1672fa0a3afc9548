"""Prometheus metrics of one server (own registry, so several apps in a process don't clash)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


class ServerMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "tuneforge_requests",
            "HTTP requests by endpoint and status",
            ["endpoint", "status"],
            registry=self.registry,
        )
        self.client_disconnects = Counter(
            "tuneforge_client_disconnects",
            "Requests whose client hung up before the request was read (no response sent)",
            ["endpoint"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "tuneforge_request_latency_seconds",
            "Request latency",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "tuneforge_batch_size",
            "Inputs per model batch",
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "tuneforge_queue_depth", "Inputs waiting for a batch", registry=self.registry
        )
        self.predictions = Counter(
            "tuneforge_predictions", "Predictions by label", ["label"], registry=self.registry
        )
        self.log_dropped = Gauge(
            "tuneforge_prediction_log_dropped",
            "Predictions the log dropped since start because the store could not keep up",
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
