"""Check an image source before training: what it holds and every problem, like validate.py
does for text files (same :class:`~tuneforge.data.validate.Problem` records, same severities).

Errors make training fail or meaningless (unreadable files, one class); warnings quietly hurt a
model (mixed sizes that get resized, duplicates that can land in both train and test, the same
image under two labels, rare or dominated classes). Every bad file is listed, not just the first,
so one run of ``data check`` is enough to fix a folder.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..types import ImageExample
from .image_files import BadImage, pixels_of
from .image_sources import LoadedImages
from .readers import read_images
from .validate import IMBALANCE_RATIO, MIN_PER_CLASS, Problem

SHOWN = 5  # names quoted per problem; the report lists the rest


@dataclass
class ImageCheckReport:
    """What an image source holds; items are named by file (folders), ``row N (file)`` (path
    tables) or ``row N`` (IDX, pixel CSVs)."""

    path: str
    kind: str
    n_images: int
    label_counts: dict[str, int]  # most common first
    sizes: dict[str, int]  # "HxW" → images, most common first
    channels: dict[int, int]  # 1 (greyscale) or 3 (colour) → images
    bad_files: list[BadImage]
    duplicate_groups: list[list[str]]  # items with identical pixels (same label)
    conflicts: list[dict[str, list[str]]]  # identical pixels, different labels: label → items
    problems: list[Problem] = field(default_factory=list)

    @property
    def blocking(self) -> bool:
        """True when any problem is an error: training must not start."""
        return any(p.severity == "error" for p in self.problems)

    @property
    def n_duplicates(self) -> int:
        """Extra copies: images that repeat an earlier one exactly, label included."""
        return sum(len(g) - 1 for g in self.duplicate_groups)

    def to_dict(self) -> dict:
        """Plain JSON-serialisable data (for ``--json`` output and run records)."""
        return {**asdict(self), "blocking": self.blocking, "n_duplicates": self.n_duplicates}


def content_hash(example: ImageExample) -> str:
    """Hash of the decoded pixels and their shape (a re-saved copy of a file hashes the same)."""
    pixels = pixels_of(example)
    digest = hashlib.sha256(str(pixels.shape).encode())
    digest.update(np.ascontiguousarray(pixels).tobytes())
    return digest.hexdigest()


def _name(e: ImageExample, kind: str) -> str:
    """How a report points at an image: its file, its table row, or both."""
    if kind == "folder":
        return e.source
    return f"row {e.row} ({e.source})" if kind == "table" else f"row {e.row}"


def _listed(names: list[str], limit: int = SHOWN) -> str:
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def _class_problems(path: str, counts: Counter) -> list[Problem]:
    if len(counts) < 2:
        named = ", ".join(map(repr, counts)) or "none"
        return [
            Problem(
                "error",
                "label",
                f"{path}: {len(counts)} distinct label(s) ({named}); a classifier needs at "
                "least two classes. Check the folder layout or label column, or add images of "
                "the other classes.",
            )
        ]
    out = []
    rare = sorted((k for k, v in counts.items() if v < MIN_PER_CLASS), key=lambda k: counts[k])
    if rare:
        named = _listed([f"{k!r} ({counts[k]})" for k in rare])
        out.append(
            Problem(
                "warning",
                "label",
                f"{path}: {len(rare)} label(s) have fewer than {MIN_PER_CLASS} images: {named}. "
                "Too few to put one in each of train/validation/test; add images for them.",
            )
        )
    (big, n_big), (small, n_small) = counts.most_common()[0], counts.most_common()[-1]
    if n_big > IMBALANCE_RATIO * n_small:
        out.append(
            Problem(
                "warning",
                "label",
                f"{path}: labels are heavily imbalanced: {big!r} has {n_big} images, {small!r} "
                f"only {n_small} ({n_big / n_small:.0f}x). Consider train.class_weights=balanced,"
                " or add images of the small classes.",
            )
        )
    return out


def _shape_problems(path: str, sizes: Counter, channels: Counter) -> list[Problem]:
    out = []
    if len(sizes) > 1:
        common = sizes.most_common(1)[0][0]
        shown = _listed([f"{s} ({n})" for s, n in sizes.most_common()])
        out.append(
            Problem(
                "warning",
                "size",
                f"{path}: images come in {len(sizes)} sizes: {shown}. Training resizes every "
                f"image to the most common size, {common}, which stretches the others; crop or "
                "pad them to one aspect ratio first if that distorts them.",
            )
        )
    if len(channels) > 1:
        out.append(
            Problem(
                "warning",
                "channels",
                f"{path}: {channels[1]} greyscale and {channels[3]} colour image(s); training "
                "converts the greyscale ones to RGB. Check that both kinds belong in this data.",
            )
        )
    return out


def _duplicate_problems(
    path: str, groups: list[list[str]], conflicts: list[dict[str, list[str]]]
) -> list[Problem]:
    out = []
    if groups:
        extra = sum(len(g) - 1 for g in groups)
        out.append(
            Problem(
                "warning",
                "image",
                f"{path}: {extra} image(s) repeat an earlier image's pixels and label exactly "
                f"(e.g. {_listed(groups[0], 3)}). Repeats weigh more in training and can land "
                "in both train and test, inflating test accuracy; remove them unless intended.",
            )
        )
    if conflicts:
        sample = "; ".join(f"{k!r}: {_listed(v, 2)}" for k, v in conflicts[0].items())
        out.append(
            Problem(
                "warning",
                "label",
                f"{path}: {len(conflicts)} image(s) appear with different labels ({sample}). "
                "The model cannot learn both; keep one label per image.",
            )
        )
    return out


def check_loaded(loaded: LoadedImages) -> ImageCheckReport:
    """Everything a user should know about an image source already read (with ``bad`` kept)."""
    examples, kind = loaded.examples, loaded.kind
    counts = Counter(e.label for e in examples)
    shapes = [e.pixels.shape for e in examples]
    sizes = Counter(f"{h}x{w}" for h, w, _ in shapes)
    channels = Counter(int(c) for _, _, c in shapes)
    by_hash: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for e in examples:
        by_hash[content_hash(e)][e.label].append(_name(e, kind))
    groups = [items for labels in by_hash.values() for items in labels.values() if len(items) > 1]
    conflicts = [dict(labels) for labels in by_hash.values() if len(labels) > 1]

    problems: list[Problem] = []
    if loaded.bad:
        listed = "; ".join(f"{b.path}: {b.reason}" for b in loaded.bad[:SHOWN])
        more = f" (and {len(loaded.bad) - SHOWN} more)" if len(loaded.bad) > SHOWN else ""
        problems.append(
            Problem(
                "error",
                "image",
                f"{loaded.path}: {len(loaded.bad)} image file(s) cannot be used: {listed}{more}. "
                "Remove or replace them.",
                tuple(b.row for b in loaded.bad if b.row),
            )
        )
    problems += _class_problems(loaded.path, counts)
    problems += _shape_problems(loaded.path, sizes, channels)
    problems += _duplicate_problems(loaded.path, groups, conflicts)
    problems.sort(key=lambda p: p.severity != "error")  # stable: errors first
    return ImageCheckReport(
        path=loaded.path,
        kind=kind,
        n_images=len(examples),
        label_counts=dict(counts.most_common()),
        sizes=dict(sizes.most_common()),
        channels=dict(sorted(channels.items())),
        bad_files=list(loaded.bad),
        duplicate_groups=groups,
        conflicts=conflicts,
        problems=problems,
    )


def check_images(path: str | Path, **source_options) -> ImageCheckReport:
    """Read and check one image source (``tuneforge data check``), listing every bad file.

    ``source_options`` go to :func:`~tuneforge.data.readers.read_images`; a source that cannot
    be read at all (a missing folder, a malformed IDX or pixel CSV) raises DataError.
    """
    bad: list[BadImage] = []
    loaded = read_images(path, **{**source_options, "lazy": False, "bad": bad})
    return check_loaded(loaded)


def format_image_check(report: ImageCheckReport) -> str:
    """A plain-text report for the terminal, in the layout of the text-file check."""
    counts = report.label_counts
    channels = ", ".join(
        f"{'greyscale' if c == 1 else 'colour'} {n}" for c, n in report.channels.items()
    )
    lines = [
        f"source     {report.path} ({report.kind}, {report.n_images} images)",
        f"sizes      {_listed([f'{s} ({n})' for s, n in report.sizes.items()]) or 'none'}",
        f"channels   {channels or 'none'}",
        f"labels     {len(counts)}",
    ]
    width = min(max((len(k) for k in counts), default=5), 40)
    top, total = max(counts.values(), default=1), max(sum(counts.values()), 1)
    for label, count in counts.items():
        name = label if len(label) <= width else label[: width - 3] + "..."
        bar = "#" * max(1, round(20 * count / top))
        lines.append(f"  {name:<{width}} {count:>7} {100 * count / total:5.1f}%  {bar}")
    lines.append(f"unreadable {len(report.bad_files)} file(s)")
    lines += [f"  {b.path}: {b.reason}" for b in report.bad_files[:20]]
    lines.append(f"duplicates {report.n_duplicates} repeated image(s)")
    lines += [f"  {_listed(g, 4)}" for g in report.duplicate_groups[:3]]
    lines.append(f"conflicts  {len(report.conflicts)} image(s) with different labels")
    lines.append("")
    lines += [f"{p.severity.upper()}: {p.message}" for p in report.problems]
    errors = sum(p.severity == "error" for p in report.problems)
    lines.append(f"FAILED: {errors} blocking problem(s)" if errors else "OK: no blocking problems")
    return "\n".join(lines)
