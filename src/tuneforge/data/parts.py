"""Output written in parts, so that a long job can stop and go on, and never leaves half a file.

A prediction over millions of rows takes hours; stopped (Ctrl-C, a reboot, a killed job) it
should go on from where it was, and the output path should hold either the old file or the
whole new one, never a truncated one. So each chunk is written as a Parquet part into
``OUTPUT.parts/`` (a temporary name renamed into place, then listed in ``manifest.json``), and
only the finished job assembles the parts into ``OUTPUT`` and removes the folder. The manifest
keeps what the job was (input files, model, options): a resume with anything else is refused.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import DataError

if TYPE_CHECKING:
    import pyarrow as pa

OUTPUT_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}
OUTPUT_FORMATS |= {s: "jsonl" for s in (".jsonl", ".json", ".ndjson")}


def output_format(path: Path) -> str:
    """parquet | csv | jsonl from the output's extension, or a DataError listing them."""
    fmt = OUTPUT_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DataError(
            f"{path}: cannot tell the output format from '{path.suffix or '(none)'}'.",
            hint=f"Name the output with one of: {', '.join(OUTPUT_FORMATS)}.",
        )
    return fmt


class PartWriter:
    """The parts of one job's output. ``done`` is the number of rows already written (by this
    job or by the one it resumes); ``complete`` is True when ``resume`` found the output
    finished already (nothing to do)."""

    def __init__(
        self, output: Path, identity: dict, *, resume: bool = False, overwrite: bool = False
    ) -> None:
        self.output = Path(output)
        self.format = output_format(self.output)
        self.folder = self.output.with_name(self.output.name + ".parts")
        self.identity = identity
        self.parts: list[dict] = []
        self.complete = False
        if self.folder.exists():
            self._open_left_parts(resume, overwrite)
        elif self.output.exists():
            self._refuse_or_replace(resume, overwrite)

    @property
    def done(self) -> int:
        return sum(p["rows"] for p in self.parts)

    def write(self, table: pa.Table) -> None:
        """One chunk's rows, after those already written."""
        import pyarrow.parquet as pq

        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"part-{len(self.parts):06d}.parquet"
        temporary = self.folder / f".{name}.tmp"
        pq.write_table(table, temporary)
        os.replace(temporary, self.folder / name)
        self.parts.append({"file": name, "rows": table.num_rows})
        self._save_manifest()

    def finish(self) -> Path:
        """Assemble the parts into the output (replacing an older one only now) and remove
        the parts; the output is empty of rows only if the input was."""
        temporary = self.output.with_name(f".{self.output.name}.tmp")
        _assemble(self._tables(), temporary, self.format)
        os.replace(temporary, self.output)
        shutil.rmtree(self.folder, ignore_errors=True)
        return self.output

    # -- opening --------------------------------------------------------------------------
    def _open_left_parts(self, resume: bool, overwrite: bool) -> None:
        if overwrite:
            shutil.rmtree(self.folder)
            return
        manifest = self._read_manifest()
        rows = sum(p["rows"] for p in manifest.get("parts", []))
        if not resume:
            raise DataError(
                f"An interrupted job into {self.output} left {rows} rows in {self.folder}.",
                hint="Pass --resume to go on from there, or --overwrite to start again.",
            )
        changed = sorted(
            key
            for key in set(self.identity) | set(manifest.get("identity", {}))
            if self.identity.get(key) != manifest.get("identity", {}).get(key)
        )
        if changed:
            raise DataError(
                f"{self.folder} was written for another job: {', '.join(changed)} differ.",
                hint="Resume with the same input, model and options, or pass --overwrite "
                "to start again.",
            )
        for part in manifest["parts"]:  # in order, up to a part that went missing
            if not (self.folder / part["file"]).is_file():
                break
            self.parts.append(part)

    def _refuse_or_replace(self, resume: bool, overwrite: bool) -> None:
        if resume:
            self.complete = True
        elif not overwrite:
            raise DataError(
                f"{self.output} exists.",
                hint="Pass --overwrite to replace it, or choose another --output.",
            )

    def _read_manifest(self) -> dict:
        try:
            return json.loads((self.folder / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise DataError(
                f"{self.folder} has no readable manifest.json: it cannot be resumed.",
                hint="Pass --overwrite to start again.",
            ) from None

    def _save_manifest(self) -> None:
        manifest = {"identity": self.identity, "parts": self.parts}
        temporary = self.folder / ".manifest.json.tmp"
        temporary.write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
        os.replace(temporary, self.folder / "manifest.json")

    def _tables(self) -> Iterator[pa.Table]:
        import pyarrow.parquet as pq

        for part in self.parts:
            yield pq.read_table(self.folder / part["file"])


def _assemble(tables: Iterator[pa.Table], path: Path, fmt: str) -> None:
    """Parts → one file, one part in memory at a time. CSV leaves out list columns (the
    top-k alternatives), which have no flat form."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if fmt == "parquet":
        writer = None
        for table in tables:
            writer = writer or pq.ParquetWriter(path, table.schema)
            writer.write_table(table)
        if writer is None:
            pq.write_table(pa.table({}), path)
        else:
            writer.close()
        return
    with path.open("w", encoding="utf-8", newline="") as handle:
        for number, table in enumerate(tables):
            if fmt == "jsonl":
                handle.writelines(
                    json.dumps(row, ensure_ascii=False) + "\n" for row in table.to_pylist()
                )
                continue
            flat = [n for n, t in zip(table.column_names, table.schema.types) if not _nested(t)]
            table.select(flat).to_pandas().to_csv(handle, index=False, header=number == 0)


def _nested(kind) -> bool:
    import pyarrow as pa

    return pa.types.is_list(kind) or pa.types.is_struct(kind)
