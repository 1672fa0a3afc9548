"""The saved tokenizer without transformers: ``tokenizer.json`` through the ``tokenizers``
library, for inference on ONNX models.

``transformers`` imports torch, so an onnxruntime server that loaded its tokenizer through
``AutoTokenizer`` carried torch's memory and start-up time for nothing. A Hugging Face fast
tokenizer is ``tokenizer.json`` (normaliser, pre-tokeniser, model, post-processor) run by the
Rust ``tokenizers`` library, so loading that file directly gives the same ids — a test compares
them with ``AutoTokenizer`` on awkward texts. Only the calls tuneforge makes are offered:
``__call__`` on a text or a list (truncation, offsets, special-token masks, word ids),
``pad_token_id`` and ``unk_token_id``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path

from ..errors import ModelError

TOKENIZER_FILE = "tokenizer.json"
_TOKEN_NAMES = ("pad_token", "unk_token")


class _Encoded(dict):
    """One text's encoding, indexable like transformers' ``BatchEncoding``."""

    def __init__(self, encoding, offsets: bool, special: bool) -> None:
        super().__init__(input_ids=list(encoding.ids))
        if offsets:
            self["offset_mapping"] = [tuple(o) for o in encoding.offsets]
        if special:
            self["special_tokens_mask"] = list(encoding.special_tokens_mask)
        self._word_ids = list(encoding.word_ids)

    def word_ids(self) -> list[int | None]:
        return self._word_ids


class InferenceTokenizer:
    """``tokenizer.json`` as transformers' fast tokenizer would run it (see the module)."""

    is_fast = True

    def __init__(self, directory: str | Path) -> None:
        from tokenizers import Tokenizer

        path = Path(directory) / TOKENIZER_FILE
        try:
            self._json = path.read_text(encoding="utf-8")
            self._base = Tokenizer.from_str(self._json)
        except Exception as exc:  # tokenizers raises plain Exception for a malformed file
            raise ModelError(f"Cannot read the tokenizer {path}: {exc}") from None
        self._base.no_truncation()
        self._base.no_padding()
        self._by_length: dict[int, object] = {}
        self._lock = threading.Lock()
        names = _special_names(Path(directory))
        self.pad_token_id = self._id(names.get("pad_token"))
        self.unk_token_id = self._id(names.get("unk_token"))

    def _id(self, token: str | None) -> int | None:
        return None if token is None else self._base.token_to_id(token)

    def _truncating(self, max_length: int | None):
        """A copy that truncates to ``max_length`` tokens (one per length: the settings of a
        ``tokenizers.Tokenizer`` are its own state, shared by every caller)."""
        if max_length is None:
            return self._base
        with self._lock:
            found = self._by_length.get(max_length)
            if found is None:
                from tokenizers import Tokenizer

                found = Tokenizer.from_str(self._json)
                found.no_padding()
                found.enable_truncation(max_length)
                self._by_length[max_length] = found
            return found

    def __call__(
        self,
        texts: str | Sequence[str],
        *,
        truncation: bool = False,
        max_length: int | None = None,
        add_special_tokens: bool = True,
        return_offsets_mapping: bool = False,
        return_special_tokens_mask: bool = False,
        verbose: bool = True,
    ):
        tokenizer = self._truncating(max_length if truncation else None)
        if isinstance(texts, str):
            encoding = tokenizer.encode(texts, add_special_tokens=add_special_tokens)
            return _Encoded(encoding, return_offsets_mapping, return_special_tokens_mask)
        encodings = tokenizer.encode_batch(list(texts), add_special_tokens=add_special_tokens)
        out: dict[str, list] = {"input_ids": [list(e.ids) for e in encodings]}
        if return_offsets_mapping:
            out["offset_mapping"] = [[tuple(o) for o in e.offsets] for e in encodings]
        if return_special_tokens_mask:
            out["special_tokens_mask"] = [list(e.special_tokens_mask) for e in encodings]
        return out


def _special_names(directory: Path) -> dict[str, str]:
    """The pad and unknown tokens as tokenizer_config.json / special_tokens_map.json name them."""
    names: dict[str, str] = {}
    for file in ("special_tokens_map.json", "tokenizer_config.json"):
        try:
            data = json.loads((directory / file).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for key in _TOKEN_NAMES:
            value = data.get(key)
            value = value.get("content") if isinstance(value, dict) else value
            if isinstance(value, str) and key not in names:
                names[key] = value
    return names


def load_inference_tokenizer(directory: str | Path):
    """``tokenizer.json`` without transformers when the directory has one, else the
    transformers tokenizer (slow-only vocabularies)."""
    from .safety import check_no_custom_code

    directory = Path(directory)
    check_no_custom_code(directory)
    if (directory / TOKENIZER_FILE).is_file():
        return InferenceTokenizer(directory)
    from .load import load_tokenizer

    return load_tokenizer(directory)
