"""The field separator of a delimited table (CSV, TSV): given, or detected from the file's start.

Spreadsheets in many locales save "CSV" with semicolons, and some tools write tabs into a .csv.
Read with commas, such a file has one column per line and fails with a quoting hint that sends
the user the wrong way. A .csv is therefore sampled first: a header with two or more
comma-separated names keeps the comma (so comma files read exactly as before); otherwise the
candidate that splits the header into columns and the sample rows into as many fields wins.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ..errors import ConfigError
from .table_files import open_binary

SAMPLE_BYTES = 64 * 1024  # a few hundred rows of typical data; a giant cell only cuts it short
CANDIDATES = (";", "\t", "|")
NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe", " ": "space"}
SPELLINGS = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|", "space": " "}


def parse_delimiter(value: str) -> str:
    """A ``--delimiter`` value as the one character it names: ``;``, ``tab`` or ``\\t``, ..."""
    sep = SPELLINGS.get(value.lower(), value) if isinstance(value, str) else value
    if not isinstance(sep, str) or len(sep) != 1 or sep in '"\r\n':
        raise ConfigError(
            f"The delimiter (--delimiter, data.delimiter) must be one character, got {value!r}.",
            hint="For example --delimiter ';' or --delimiter tab.",
        )
    return sep


def describe(sep: str) -> str:
    """How a report names a separator: ``';' (semicolon)``, ``tab``."""
    if sep == "\t":
        return "tab"
    return f"{sep!r} ({NAMES[sep]})" if sep in NAMES else repr(sep)


def read_sample(path: Path) -> tuple[str, bool]:
    """The first SAMPLE_BYTES of the file as text, and whether the file goes on after them."""
    with open_binary(path) as fh:
        raw = fh.read(SAMPLE_BYTES + 1)
    text = raw[:SAMPLE_BYTES].decode("utf-8", errors="replace")
    return text.removeprefix("\ufeff"), len(raw) > SAMPLE_BYTES


def sample_records(text: str, sep: str, cut: bool) -> list[list[str]]:
    """The non-blank records of a sample read with ``sep``; the last one is dropped when the
    sample stops inside it, and parsing stops at the first record the csv module refuses."""
    records: list[list[str]] = []
    reader = csv.reader(io.StringIO(text), delimiter=sep)
    try:
        records = [record for record in reader if record]
    except csv.Error:
        pass
    return records[:-1] if cut and len(records) > 1 else records


def sniff_delimiter(path: Path, default: str = ",") -> str:
    """``default`` unless the header does not split on it and a candidate fits better."""
    text, cut = read_sample(path)
    header = sample_records(text, default, cut)[:1]
    if not header or len(header[0]) >= 2:
        return default
    best, best_fit = default, -1
    for sep in CANDIDATES:
        records = sample_records(text, sep, cut)
        if not records or len(records[0]) < 2:
            continue
        fit = sum(len(r) == len(records[0]) for r in records[1:])
        if fit > best_fit:
            best, best_fit = sep, fit
    return best


def choose_delimiter(
    path: Path, own: str, sniff: bool, given: str | None = None
) -> tuple[str, str]:
    """The separator to read ``path`` with and how it was chosen: ``given`` ("given"), else
    detected where the format allows it ("detected" when it is not ``own``), else ``own``."""
    if given is not None:
        return parse_delimiter(given), "given"
    if sniff and path.is_file():
        found = sniff_delimiter(path, own)
        return found, "" if found == own else "detected"
    return own, ""


def separator_fix(sep: str) -> str:
    """What to do with a file that does not parse with a separator other than its format's."""
    return (
        "Check the quoting and the number of fields on that line: it was read with "
        f"{describe(sep)} between fields, so a text containing one must be in double quotes. "
        "Pass --delimiter if another character separates the fields."
    )


def delimited_header(path: Path, sep: str) -> list[str]:
    """The first non-blank record as written (pandas would rename a repeated ``text`` to
    ``text.1``); [] when it cannot be read as text."""
    with open_binary(path) as raw:
        fh = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")
        try:
            return next((r for r in csv.reader(fh, delimiter=sep) if r), [])
        except csv.Error:  # a header cell past the csv module's field size limit
            return []
