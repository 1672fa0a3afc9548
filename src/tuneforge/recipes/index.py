"""index and search: a vector index over a file's texts, built with a model's encoder, and
the nearest items of a query.

``build_index`` stores, with the vectors, every column of the file (the answer of an answered
question, a title, a URL …) so a search answers with them; ``search_index`` embeds the query
with the index's own model and refuses one whose weights changed since the index was built.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..embed import Hit, IndexInfo, TextEncoder, VectorIndex, open_encoder
from ..errors import DataError
from ..store.rundir import index_dir
from .embed import embed_texts, read_text_table


def default_index_dir(runs_dir: Path, data_file: str) -> Path:
    """Where an index goes without --output: ``<runs>/indexes/<file stem>``."""
    return index_dir(runs_dir, Path(data_file).name.split(".")[0])


def build_index(
    data_file: str,
    model: str,
    runs_dir: Path,
    output: Path | None = None,
    *,
    text_column: str | None = None,
    id_column: str | None = None,
    fields: list[str] | None = None,
    fmt: str | None = None,
    on_chunk: Callable[[int, int], None] | None = None,
) -> tuple[VectorIndex, Path]:
    """Embed the file's texts with ``model`` and save the index (and its items) to ``output``."""
    table = read_text_table(data_file, text_column, id_column, fmt)
    columns = [str(c) for c in table.frame.columns]
    stored = list(fields) if fields else [c for c in columns if c != table.id_column]
    unknown = [f for f in stored if f not in columns]
    if unknown:
        raise DataError(
            f"{data_file}: no column(s) {', '.join(map(repr, unknown))} to store "
            f"(columns: {', '.join(columns)}).",
            hint="Name columns of the file with --field.",
        )
    encoder = open_encoder(model, runs_dir)
    vectors = embed_texts(encoder, table.texts, on_chunk)
    items = table.frame[stored].copy()
    for column in stored:  # stored fields are answered as JSON: text, never NaN
        items[column] = ["" if v is None or v != v else str(v) for v in items[column].tolist()]
    items.insert(0, table.id_column, table.ids)
    info = IndexInfo(
        model=encoder.model,
        fingerprint=encoder.fingerprint,
        dim=encoder.dim,
        count=len(table.texts),
        kind="",
        text_column=table.text_column,
        id_column=table.id_column,
        fields=stored,
        source=str(data_file),
    )
    index = VectorIndex.build(vectors, items, info)
    target = output or default_index_dir(runs_dir, data_file)
    return index, index.save(target)


def index_encoder(index: VectorIndex, runs_dir: Path) -> TextEncoder:
    """The index's own model, checked to have the weights the index was built with."""
    encoder = open_encoder(index.info.model, runs_dir)
    index.check_model(encoder.fingerprint, encoder.model)
    return encoder


def search_index(
    index_path: str | Path, queries: list[str], runs_dir: Path, k: int = 5
) -> tuple[VectorIndex, list[list[Hit]]]:
    """The ``k`` nearest items of each query, by the index's own model."""
    if not queries or any(not q.strip() for q in queries):
        raise DataError("search needs a non-empty query text.")
    index = VectorIndex.load(index_path)
    encoder = index_encoder(index, runs_dir)
    return index, index.search(encoder.embed(queries), k)
