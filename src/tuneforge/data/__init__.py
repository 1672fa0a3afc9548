"""The data stage: read files, validate them, split them, fingerprint them.

Text tables and image sources alike, every format a row of :data:`READERS`; the image featurizer
(torch) lives in ``tuneforge.data.image_features`` and is not imported here, so reading data needs
no torch. pandas and Pillow are imported when a file is read, so :data:`TABLE_FORMATS` (the
``--format`` choices) costs a command line no more than numpy.
"""

from .columns import IMAGE_COLUMNS, resolve_columns
from .dataset import detect_task, examples_from_lists, image_examples_from_lists, load_dataset
from .image_check import ImageCheckReport, check_images, format_image_check
from .image_files import IMAGE_SUFFIXES, MAX_PIXELS, BadImage, decode_image, peek_shape, pixels_of
from .image_sources import LoadedImages, load_pixel_csv, parse_shape
from .image_splits import load_image_dataset, load_image_split, save_image_split
from .inputs import (
    check_image_paths,
    labelled_examples,
    labelled_images,
    read_image_inputs,
    read_texts,
)
from .readers import (
    READERS,
    TABLE_FORMATS,
    Reader,
    detect_format,
    get_reader,
    read_images,
    read_table,
)
from .sources import LoadedFile, load_examples
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
    "IMAGE_COLUMNS",
    "IMAGE_SUFFIXES",
    "MAX_PIXELS",
    "READERS",
    "TABLE_FORMATS",
    "BadImage",
    "CheckReport",
    "ImageCheckReport",
    "LoadedFile",
    "LoadedImages",
    "Problem",
    "Reader",
    "check_examples",
    "check_file",
    "check_image_paths",
    "check_images",
    "decode_image",
    "detect_format",
    "detect_task",
    "examples_from_lists",
    "format_check_report",
    "format_image_check",
    "get_reader",
    "image_examples_from_lists",
    "labelled_examples",
    "labelled_images",
    "load_dataset",
    "load_examples",
    "load_image_dataset",
    "load_image_split",
    "load_pixel_csv",
    "parse_shape",
    "peek_shape",
    "pixels_of",
    "raise_if_blocking",
    "read_image_inputs",
    "read_images",
    "read_table",
    "read_texts",
    "resolve_columns",
    "save_image_split",
    "stratified_split",
]
