"""The data stage: read files, validate them, split them, fingerprint them.

Text tables and image sources alike; the image featurizer (torch) lives in
``tuneforge.data.image_features`` and is not imported here, so reading data needs no torch.
"""

from .dataset import detect_task, examples_from_lists, image_examples_from_lists, load_dataset
from .image_check import ImageCheckReport, check_images, format_image_check
from .images import BadImage, LoadedImages, load_image_dataset, read_images
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
    "BadImage",
    "CheckReport",
    "ImageCheckReport",
    "LoadedImages",
    "check_images",
    "detect_task",
    "image_examples_from_lists",
    "LoadedFile",
    "Problem",
    "check_examples",
    "check_file",
    "examples_from_lists",
    "format_check_report",
    "format_image_check",
    "load_dataset",
    "load_examples",
    "load_image_dataset",
    "raise_if_blocking",
    "read_images",
    "read_table",
    "stratified_split",
]
