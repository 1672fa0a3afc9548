"""Representations: sentence embeddings from a run's fine-tuned encoder (or the packaged base
model) and a vector index over them for semantic search."""

from __future__ import annotations

from .encoder import TextEncoder, open_encoder
from .index import Hit, IndexInfo, VectorIndex

__all__ = ["Hit", "IndexInfo", "TextEncoder", "VectorIndex", "open_encoder"]
