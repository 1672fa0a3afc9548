"""What tuneforge agrees to read from a model directory: no code, no pickles.

A Hugging Face directory can name Python files of its own (``auto_map`` → ``modeling_x.py``)
that transformers imports when told to trust them, and asks "run the custom code? [y/N]" on a
terminal when nobody said. A ``*.safetensors`` name guarantees nothing either: a pickle renamed
so runs its payload when unpickled. So, before transformers or torch sees a directory:

- configs that point at code (``auto_map``, ``custom_pipelines``) or name an architecture
  transformers does not ship (an unknown ``model_type``) are refused;
- every weight file must be a well-formed safetensors file (its header read and checked against
  the file's size), and is then read with the ``safetensors`` library only;
- every transformers call gets :data:`PRETRAINED_OPTIONS` (``trust_remote_code=False``, local
  files only), so even a check missed here ends in an error, never in running the code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import ModelError

# Keyword arguments of every transformers ``from_pretrained`` call tuneforge makes.
PRETRAINED_OPTIONS: dict[str, Any] = {"local_files_only": True, "trust_remote_code": False}

# The JSON files transformers reads while loading a model, tokenizer or image processor.
LOADED_CONFIGS = (
    "config.json",
    "tokenizer_config.json",
    "preprocessor_config.json",
    "processor_config.json",
    "image_processor_config.json",
)
CODE_KEYS = ("auto_map", "custom_pipelines")

# safetensors refuses headers above 100 MB; anything larger is not a safetensors file.
MAX_HEADER_BYTES = 100_000_000
PICKLE_STARTS = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")
ZIP_START = b"PK\x03\x04"  # torch.save's default container: a zip holding a pickle


def read_json_file(path: Path) -> Any:
    """The JSON in ``path``, or a ModelError naming the file."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"'{path}' is not valid JSON ({exc}).") from None


def check_no_custom_code(model_dir: Path) -> None:
    """Refuse a directory whose configs point transformers at Python code inside it."""
    for name in LOADED_CONFIGS:
        path = model_dir / name
        if not path.is_file():
            continue
        config = read_json_file(path)
        found = [key for key in CODE_KEYS if isinstance(config, dict) and key in config]
        if found:
            key = found[0]
            raise ModelError(
                f"Model directory '{model_dir}': {name} has '{key}' ({_code_names(config[key])}), "
                "which makes transformers import Python code shipped in the directory; "
                "tuneforge never runs a model directory's own code.",
                hint=f"Use a model whose architecture transformers ships, or remove '{key}' "
                f"from {name} if its model_type is a standard one.",
            )


def _code_names(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(sorted({str(v) for v in value.values() if isinstance(v, str)})) or "code"
    return "code"


def check_model_type(model_dir: Path, config: dict) -> None:
    """Refuse a config.json whose ``model_type`` transformers does not ship: loading it would
    need code from elsewhere (the directory, or a hub)."""
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES

    model_type = config.get("model_type")
    if model_type in CONFIG_MAPPING_NAMES:
        return
    stated = f"model_type '{model_type}'" if model_type else "no model_type"
    raise ModelError(
        f"Model directory '{model_dir}': config.json has {stated}, which is not an "
        "architecture this transformers version ships; tuneforge loads no model code from "
        "elsewhere.",
        hint="Use a model directory saved by transformers' save_pretrained for a standard "
        "architecture (BERT, MiniLM, RoBERTa, ViT, …).",
    )


def _refuse(path: Path, why: str) -> ModelError:
    return ModelError(
        f"'{path}' is not a valid safetensors file: {why}.",
        hint="Restore the file from a trusted copy, or re-save the model with "
        "save_pretrained(safe_serialization=True).",
    )


def check_safetensors(path: Path) -> None:
    """Check the safetensors format of ``path`` without loading it: an 8-byte header length, a
    JSON header of tensor entries, and tensor data that ends exactly where the file ends
    (a truncated or padded file fails here). A pickle is named as such."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        head, first = fh.read(8), fh.read(1)
        fh.seek(8)
        # A header of 640-1407 bytes starts with the bytes of a pickle's protocol mark; a real
        # safetensors header is JSON, so its ninth byte opens an object.
        if (head.startswith(PICKLE_STARTS) and first != b"{") or head.startswith(ZIP_START):
            raise ModelError(
                f"'{path}' is not a safetensors file: it is a Python pickle (torch.save output "
                "under a safetensors name). tuneforge never loads pickles, because unpickling "
                "can run arbitrary code.",
                hint="Convert the weights to safetensors from a trusted copy "
                "(safetensors.torch.save_file).",
            )
        if len(head) < 8:
            raise _refuse(path, f"it is {size} bytes long, shorter than the 8-byte header size")
        length = int.from_bytes(head, "little")
        if not 2 <= length <= min(MAX_HEADER_BYTES, size - 8):
            raise _refuse(path, f"its header claims {length} bytes in a file of {size}")
        header = fh.read(length)
    try:
        entries = json.loads(header.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _refuse(path, "its header is not JSON") from None
    end = _data_end(path, entries)
    if end != size - 8 - length:
        raise _refuse(
            path,
            f"its header describes {end} bytes of tensor data but the file holds "
            f"{size - 8 - length}: it is truncated or was overwritten",
        )


def _data_end(path: Path, entries: Any) -> int:
    """Where the last tensor of a parsed safetensors header ends."""
    if not isinstance(entries, dict):
        raise _refuse(path, "its header is not a JSON object")
    end = 0
    for name, entry in entries.items():
        if name == "__metadata__":
            continue
        offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(isinstance(x, int) for x in offsets)
            or not 0 <= offsets[0] <= offsets[1]
        ):
            raise _refuse(path, f"the header entry of tensor '{name}' has no valid data_offsets")
        end = max(end, offsets[1])
    return end


def check_weights(model_dir: Path, pattern: str = "*.safetensors") -> list[Path]:
    """Every weight file matching ``pattern`` in ``model_dir``, each format-checked."""
    files = sorted(model_dir.glob(pattern))
    for path in files:
        check_safetensors(path)
    return files


def load_safetensors(path: Path) -> dict:
    """Tensors of a checked safetensors file (torch), read by the ``safetensors`` library."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    check_safetensors(path)
    try:
        return load_file(str(path))
    except (SafetensorError, OSError) as exc:
        raise _refuse(path, str(exc)) from None
