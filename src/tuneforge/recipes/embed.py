"""embed: a file of texts → a Parquet file of unit sentence embeddings, one row per text.

The vectors come from a run's fine-tuned encoder (``RUN``, ``NAME@stage``) or the packaged base
model (``default``), mean-pooled and normalised (:mod:`tuneforge.embed.encoder`), in chunks so a
progress bar moves; the output keeps the input's order and an id column (the file's own, or the
1-based row number).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data.columns import require_column
from ..data.readers import read_table
from ..embed import TextEncoder, open_encoder
from ..errors import DataError

ID_COLUMN = "id"  # the output's id column, and the input's when it has one


@dataclass
class TextTable:
    """The texts of a table with their ids and the whole frame (for stored fields)."""

    frame: object  # pandas DataFrame
    texts: list[str]
    ids: list[str]
    text_column: str
    id_column: str


def read_text_table(
    path: str | Path,
    text_column: str | None = None,
    id_column: str | None = None,
    fmt: str | None = None,
) -> TextTable:
    """Texts and ids of a table; an empty text names its row (it would embed as nothing)."""
    frame = read_table(path, fmt)
    columns = [str(c) for c in frame.columns]
    text = require_column(columns, path, text_column, "--text-column") if text_column else None
    text = text or ("text" if "text" in columns else columns[0])
    ids_from = require_column(columns, path, id_column, "--id-column") if id_column else None
    ids_from = ids_from or (ID_COLUMN if ID_COLUMN in columns and ID_COLUMN != text else None)
    texts = ["" if v is None else str(v) for v in frame[text].tolist()]
    empty = [i + 1 for i, t in enumerate(texts) if not t.strip()]
    if empty:
        shown = ", ".join(map(str, empty[:10])) + (" ..." if len(empty) > 10 else "")
        raise DataError(
            f"{path}: {len(empty)} row(s) have an empty '{text}' (rows {shown}).",
            hint="Fill them in or drop them; an empty text has no meaning to embed.",
        )
    ids = [str(v) for v in frame[ids_from].tolist()] if ids_from else None
    if ids is not None and len(set(ids)) != len(ids):
        seen: set[str] = set()
        repeated = [i for i in ids if i in seen or seen.add(i)]
        raise DataError(
            f"{path}: column '{ids_from}' repeats ids ({', '.join(repeated[:5])}).",
            hint="Give every row its own id, or pass --id-column with a unique column.",
        )
    ids = ids or [str(i) for i in range(1, len(texts) + 1)]
    return TextTable(frame, texts, ids, text, ids_from or ID_COLUMN)


@dataclass
class EmbedResult:
    model: str
    count: int
    dim: int
    output: Path


def write_embeddings(path: Path, ids: list[str], vectors: np.ndarray) -> Path:
    """Parquet with ``id`` and ``embedding`` (a fixed-size list of float32)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    flat = pa.array(np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1))
    column = pa.FixedSizeListArray.from_arrays(flat, vectors.shape[1])
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({ID_COLUMN: ids, "embedding": column}), path)
    return path


def embed_file(
    ref: str,
    runs_dir: Path,
    data_file: str,
    output: Path,
    *,
    text_column: str | None = None,
    id_column: str | None = None,
    fmt: str | None = None,
    on_chunk: Callable[[int, int], None] | None = None,
) -> EmbedResult:
    """Embed every text of ``data_file`` with ``ref``'s encoder into ``output`` (Parquet);
    ``on_chunk(done, total)`` reports progress."""
    if output.suffix.lower() != ".parquet":
        raise DataError(f"--output {output}: embeddings are written as .parquet.")
    table = read_text_table(data_file, text_column, id_column, fmt)
    encoder = open_encoder(ref, runs_dir)
    vectors = embed_texts(encoder, table.texts, on_chunk)
    write_embeddings(output, table.ids, vectors)
    return EmbedResult(encoder.model, len(table.texts), encoder.dim, output)


def embed_texts(
    encoder: TextEncoder, texts: list[str], on_chunk: Callable[[int, int], None] | None
) -> np.ndarray:
    done = 0

    def chunk(n: int) -> None:
        nonlocal done
        done += n
        if on_chunk is not None:
            on_chunk(done, len(texts))

    return encoder.embed(texts, chunk)
