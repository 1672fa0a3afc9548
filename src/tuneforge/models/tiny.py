"""Tiny randomly initialised BERT directories for fast, offline tests and examples."""

from __future__ import annotations

from pathlib import Path


def build_tiny_model_dir(
    out_dir: Path,
    hidden_size: int = 64,
    num_layers: int = 2,
    num_heads: int = 4,
    seed: int = 0,
) -> Path:
    """Write a random BERT encoder with the default model's tokenizer to ``out_dir``.

    It reuses the packaged tokenizer (a real WordPiece vocabulary) so that tokenisation,
    padding and truncation behave exactly as with the real model, only the encoder is tiny.
    """
    import torch
    import transformers

    from .load import default_model_dir, load_tokenizer

    tokenizer = load_tokenizer(default_model_dir())
    config = transformers.BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        intermediate_size=hidden_size * 4,
        max_position_embeddings=128,
    )
    torch.manual_seed(seed)
    model = transformers.BertModel(config)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
    return out_dir
