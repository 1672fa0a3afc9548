"""Federated fine-tuning on Flower: a server and clients that each train on their own file.

Only the trainable part of the model travels (adapter and head, or the unfrozen blocks of a
full fine-tune); the frozen rest comes from the same pretrained directory on every side.
Flower itself runs in its own environment (``scripts/ensure-flower``): the server and client
processes are started with that environment's python and import this package from the
source tree; the coordinator (``recipes/federate.py``) never imports ``flwr``.
"""
