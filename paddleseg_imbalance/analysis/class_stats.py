"""Pixel and image counts per class over a dataset's label files.

`count_classes` reads every label file once, in parallel worker processes, with a
progress bar. It is ignore-aware (pixels equal to `ignore_index` count nowhere but in
`ignored_pixels`) and multi-label aware (each label channel counts its positive pixels).
The same per-array counter, `count_label_array`, serves a batch of labels in memory.
"""
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from PIL import Image
from tqdm import tqdm

from paddleseg_imbalance.config.errors import DataError
from paddleseg_imbalance.labels import multilabel_to_hwc, read_label
from paddleseg_imbalance.label_value_maps import map_label_values

# What reading a broken label file raises: PIL (truncated: OSError; bad chunks:
# SyntaxError; huge: DecompressionBombError), numpy (.npy: ValueError, EOFError).
_READ_ERRORS = (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError)


@dataclass
class ClassStats:
    """Counts per class; arrays have one entry per class (or label, for multi-label).

    Attributes:
        pixel_counts: pixels of each class (multi-label: positive pixels of each label).
        image_counts: images that contain the class at least once.
        image_pixels: valid pixels of the images that contain the class; Eigen and
            Fergus's median-frequency weighting divides by this.
        num_images: label files (or arrays) counted.
        valid_pixels: pixels that are not `ignore_index` (multi-label: per channel sum).
        ignored_pixels: pixels equal to `ignore_index`.
        unexpected_values: {value: pixels} for values that are neither a class nor
            `ignore_index` (they are counted nowhere else).
        multilabel: whether the counts are per label channel.
    """

    pixel_counts: np.ndarray
    image_counts: np.ndarray
    image_pixels: np.ndarray
    num_images: int = 0
    valid_pixels: int = 0
    ignored_pixels: int = 0
    unexpected_values: dict = field(default_factory=dict)
    multilabel: bool = False

    @classmethod
    def empty(cls, num_classes, multilabel=False):
        zeros = np.zeros(num_classes, dtype=np.int64)
        return cls(zeros.copy(), zeros.copy(), zeros.copy(), multilabel=multilabel)

    @property
    def num_classes(self):
        return len(self.pixel_counts)

    @property
    def pixel_share(self):
        """Pixels of each class over valid pixels (multi-label: over valid positions)."""
        positions = self.valid_pixels if not self.multilabel else self.valid_pixels / max(
            self.num_classes, 1)
        return self.pixel_counts / max(positions, 1)

    def __add__(self, other):
        unexpected = dict(self.unexpected_values)
        for value, count in other.unexpected_values.items():
            unexpected[value] = unexpected.get(value, 0) + count
        return ClassStats(self.pixel_counts + other.pixel_counts,
                          self.image_counts + other.image_counts,
                          self.image_pixels + other.image_pixels,
                          self.num_images + other.num_images,
                          self.valid_pixels + other.valid_pixels,
                          self.ignored_pixels + other.ignored_pixels,
                          unexpected, self.multilabel)

    def to_json(self):
        return {
            "pixel_counts": self.pixel_counts.tolist(),
            "image_counts": self.image_counts.tolist(),
            "image_pixels": self.image_pixels.tolist(),
            "num_images": self.num_images,
            "valid_pixels": self.valid_pixels,
            "ignored_pixels": self.ignored_pixels,
            "unexpected_values": {str(k): v for k, v in self.unexpected_values.items()},
            "multilabel": self.multilabel,
        }

    @classmethod
    def from_json(cls, data):
        return cls(np.asarray(data["pixel_counts"], np.int64),
                   np.asarray(data["image_counts"], np.int64),
                   np.asarray(data["image_pixels"], np.int64),
                   data["num_images"], data["valid_pixels"], data["ignored_pixels"],
                   {int(k): v for k, v in data["unexpected_values"].items()},
                   data["multilabel"])


def count_label_array(label, num_classes, ignore_index=255, multilabel=False):
    """`ClassStats` of one label array, or of a batch with a leading image axis.

    Args:
        label: a class map (H, W) or batch (N, H, W); multi-label: (H, W, C) or (N, H, W, C)
            with values 0, 1 or `ignore_index`.
        num_classes: classes (multi-label: label channels C).
    """
    label = np.asarray(label)
    image_axes = 3 if multilabel else 2
    if label.ndim == image_axes:
        label = label[None]
    stats = ClassStats.empty(num_classes, multilabel)
    for image in label:
        stats = stats + (_count_multilabel(image, ignore_index) if multilabel
                         else _count_class_map(image, num_classes, ignore_index))
    return stats


def _value_counts(label):
    """(values, counts) of a label array; bincount for unsigned maps (3x faster than unique)."""
    if label.dtype.kind == "u" or (label.dtype.kind == "i" and label.size and label.min() >= 0):
        counts = np.bincount(label.ravel())
        values = np.flatnonzero(counts)
        return values, counts[values]
    return np.unique(label, return_counts=True)


def _count_class_map(label, num_classes, ignore_index):
    stats = ClassStats.empty(num_classes)
    stats.num_images = 1
    for value, count in zip(*(part.tolist() for part in _value_counts(label))):
        if value == ignore_index:
            stats.ignored_pixels += count
        elif 0 <= value < num_classes:
            stats.pixel_counts[value] = count
        else:
            stats.unexpected_values[value] = count
    stats.valid_pixels = int(stats.pixel_counts.sum())
    present = stats.pixel_counts > 0
    stats.image_counts[present] = 1
    stats.image_pixels[present] = stats.valid_pixels
    return stats


def _count_multilabel(label, ignore_index):
    num_labels = label.shape[-1]
    flat = label.reshape(-1, num_labels)
    ignored = flat == ignore_index
    positive = flat == 1
    stats = ClassStats.empty(num_labels, multilabel=True)
    stats.num_images = 1
    stats.pixel_counts = positive.sum(axis=0).astype(np.int64)
    stats.ignored_pixels = int(ignored.sum())
    stats.valid_pixels = int(flat.size - stats.ignored_pixels)
    values, counts = np.unique(flat[~ignored & ~positive & (flat != 0)], return_counts=True)
    stats.unexpected_values = dict(zip(values.tolist(), counts.tolist()))
    present = stats.pixel_counts > 0
    stats.image_counts[present] = 1
    stats.image_pixels[present] = (~ignored).sum(axis=0)[present]
    return stats


def read_label_to_count(path, value_maps=()):
    """The label file at `path` as training sees its values: read, then `value_maps` applied.

    Raises:
        DataError: the file is missing or cannot be decoded; the message names it.
    """
    try:
        label = read_label(path)
    except _READ_ERRORS as error:
        raise DataError(f"label file '{path}' cannot be read ({type(error).__name__}: "
                        f"{error}); it should be a complete PNG class map: re-export it, or "
                        "remove its line from the file list.") from error
    return map_label_values(label, value_maps)


def _count_file(job):
    path, num_classes, ignore_index, multilabel, value_maps = job
    label = read_label_to_count(path, value_maps)
    if multilabel:
        try:
            label = multilabel_to_hwc(label, num_classes)
        except ValueError as error:
            raise DataError(f"label file '{path}': {error}") from error
    elif label.ndim != 2:
        raise DataError(f"label file '{path}' has shape {label.shape}: expected a "
                        "single-channel class map (an RGB or colour-coded PNG must be "
                        "converted to class indices, or saved as a palette PNG).")
    return count_label_array(label, num_classes, ignore_index, multilabel)


def count_classes(label_paths, num_classes, ignore_index=255, multilabel=False,
                  workers=None, progress=True, value_maps=()):
    """`ClassStats` over the label files `label_paths`.

    Args:
        label_paths: label file paths (PNG class maps, multi-label strips or `.npy`).
        num_classes: classes, or label channels for multi-label data (without an
            auxiliary background channel).
        ignore_index: the label value that marks pixels to ignore.
        multilabel: read each file as multi-label data (see `labels.multilabel_to_hwc`).
        workers: worker processes; default the CPU count (1 reads in this process).
        progress: show a tqdm progress bar.
        value_maps: the train transforms' label-value steps, applied to each label first
            (see `transforms.label_value_maps`).

    Raises:
        DataError: a label file cannot be read, or is not a class map (multi-label data).
    """
    label_paths = [str(path) for path in label_paths]
    jobs = [(path, num_classes, ignore_index, multilabel, tuple(value_maps))
            for path in label_paths]
    workers = workers or os.cpu_count() or 1
    total = ClassStats.empty(num_classes, multilabel)
    bar = dict(total=len(jobs), disable=not progress, desc="counting label pixels")
    if workers == 1 or len(jobs) < 2:
        results = map(_count_file, jobs)
        for stats in tqdm(results, **bar):
            total = total + stats
        return total
    with ProcessPoolExecutor(max_workers=workers) as pool:
        chunk = max(1, len(jobs) // (workers * 8))
        for stats in tqdm(pool.map(_count_file, jobs, chunksize=chunk), **bar):
            total = total + stats
    return total
