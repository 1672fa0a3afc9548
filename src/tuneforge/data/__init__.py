"""The data stage: read files, validate them, split them, fingerprint them."""

from .dataset import examples_from_lists, load_dataset
from .sources import LoadedFile, load_examples, read_table
from .split import stratified_split
from .validate import (
    CheckReport,
    Problem,
    check_examples,
    check_file,
    format_check_report,
    raise_if_blocking,
)

__all__ = [
    "CheckReport",
    "LoadedFile",
    "Problem",
    "check_examples",
    "check_file",
    "examples_from_lists",
    "format_check_report",
    "load_dataset",
    "load_examples",
    "raise_if_blocking",
    "read_table",
    "stratified_split",
]
