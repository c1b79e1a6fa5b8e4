"""How often a random training crop contains each class (the small-crop problem).

A class that covers 1 % of the pixels of half the images may still be missing from
most 256 x 256 crops of 1024 x 1024 images, and a model trained on crops only sees it
that often. `scan_labels` estimates, per class, the share of random crops of a given
size that hold at least one pixel of it, by drawing `crops_per_image` windows per label
as PaddleSeg's `RandomPaddingCrop` draws them: a label smaller than the crop is padded
(with ignored pixels) up to it, then the window's top-left corner is uniform over the
valid positions. Each label's windows come from a generator seeded by (seed, index),
so the estimate does not depend on the number of worker processes.

Presence in a window is read from the summed-area table of the class's mask
(`cv2.integral`), so a window costs four lookups whatever its size. `scan_labels` reads
each label once for the pixel counts (`ClassStats`, the same numbers as
`analysis.count_label_array`) and the crops, and is meant to run at about the speed of
decoding the files: a class map is counted one comparison pass per class up to its
largest value, the table of each class doubles as its pixel count, and a class whose
complement is smaller than a crop (the background, usually) is in every crop without a
table. `count_label_array`'s `bincount` alone would cost more than half a PNG decode.
"""
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np
from tqdm import tqdm

from paddleseg_imbalance.analysis.class_stats import (ClassStats, count_label_array,
                                                      read_label_to_count)
from paddleseg_imbalance.analysis.structure_width import StructureWidths, label_widths
from paddleseg_imbalance.config.errors import DataError
from paddleseg_imbalance.label_value_maps import map_label_values
from paddleseg_imbalance.labels import multilabel_to_hwc

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_GREYSCALE = 0  # IHDR colour type of a plain single-channel PNG (byte 25; depth: 24)
# Above this many classes one histogram beats a comparison pass per class.
_MAX_CLASSES_BY_COMPARISON = 32


@dataclass
class CropCoverage:
    """Crops drawn and, per class, how many contained it.

    Attributes:
        crop_size: (width, height) of the crops, as in PaddleSeg.
        crops: crops drawn.
        hits: crops that contain each class (multi-label: each label) at least once.
        empty: crops with no foreground: no class but 0 (multi-label: no label at all).
    """

    crop_size: tuple
    crops: int
    hits: np.ndarray
    empty: int

    @classmethod
    def empty_for(cls, num_classes, crop_size):
        return cls(tuple(crop_size), 0, np.zeros(num_classes, np.int64), 0)

    @classmethod
    def from_presence(cls, present, crop_size, multilabel=False):
        """From a bool (classes, crops) array of which class is in which crop."""
        # Foreground: any label (multi-label), any class but background 0 (class maps).
        foreground = present.any(axis=0) if multilabel else present[1:].any(axis=0)
        return cls(tuple(crop_size), present.shape[1], present.sum(axis=1).astype(np.int64),
                   int(present.shape[1] - foreground.sum()))

    @property
    def share(self):
        """Share of crops that contain each class."""
        return self.hits / max(self.crops, 1)

    @property
    def empty_share(self):
        return self.empty / max(self.crops, 1)

    def __add__(self, other):
        return CropCoverage(self.crop_size, self.crops + other.crops, self.hits + other.hits,
                            self.empty + other.empty)

    def to_json(self):
        return {"crop_size": list(self.crop_size), "crops": self.crops,
                "hits": self.hits.tolist(), "share": self.share.tolist(),
                "empty": self.empty, "empty_share": self.empty_share}


@dataclass
class Windows:
    """Crop windows of one label: top-left corners `ys`, `xs` and the size `h` x `w`."""

    ys: np.ndarray
    xs: np.ndarray
    h: int
    w: int

    def __len__(self):
        return len(self.ys)

    def presence(self, mask=None, table=None):
        """Whether each window holds a pixel of `mask` (or of the summed-area `table`)."""
        if table is None:
            table = cv2.integral(np.ascontiguousarray(mask).view(np.uint8))
        y2, x2 = self.ys + self.h, self.xs + self.w
        return (table[y2, x2] - table[self.ys, x2] - table[y2, self.xs]
                + table[self.ys, self.xs]) > 0


def crop_windows(height, width, crop_size, count, rng):
    """`Windows`: `count` corners drawn as RandomPaddingCrop draws them on a height x width label.

    The label is padded at the bottom and right up to the crop size; windows are then
    clipped to the real label, since padding holds no class.
    """
    crop_w, crop_h = crop_size
    ys = rng.integers(0, max(height - crop_h, 0) + 1, size=count)
    xs = rng.integers(0, max(width - crop_w, 0) + 1, size=count)
    return Windows(ys, xs, min(crop_h, height), min(crop_w, width))


def crop_hits(label, num_classes, crop_size, count, rng, ignore_index=255, multilabel=False):
    """`CropCoverage` of `count` random crops of one label.

    Args:
        label: a class map (H, W), or multi-label (H, W, C) of 0/1 (and `ignore_index`).
        num_classes: classes (multi-label: label channels C).
        crop_size: (width, height).
        rng: a `numpy.random.Generator`.
    """
    windows = crop_windows(label.shape[0], label.shape[1], crop_size, count, rng)
    if not multilabel:
        return CropCoverage.from_presence(
            scan_class_map(label, num_classes, ignore_index, windows)[1], crop_size)
    present = np.zeros((num_classes, count), bool)
    for c in range(num_classes):
        channel = label[..., c] == 1
        if channel.any():
            present[c] = windows.presence(channel)
    return CropCoverage.from_presence(present, crop_size, multilabel=True)


def scan_class_map(label, num_classes, ignore_index=255, windows=None):
    """(`ClassStats`, presence) of one class map: its counts, and which class is in which window.

    The counts equal `count_label_array(label, num_classes, ignore_index)`'s. `presence`
    is a bool (num_classes, len(windows)) array, or None without `windows`.
    """
    label = np.asarray(label)
    present = np.zeros((num_classes, len(windows)), bool) if windows is not None else None
    if label.dtype.kind not in "ui" or num_classes > _MAX_CLASSES_BY_COMPARISON:
        stats = count_label_array(label, num_classes, ignore_index)
        for c in np.flatnonzero(stats.pixel_counts) if windows is not None else ():
            present[c] = windows.presence(label == c)
        return stats, present
    stats = ClassStats.empty(num_classes)
    stats.num_images = 1
    # An unsigned label needs no pass for its minimum: 0 is as good a lower bound.
    low, high = (0 if label.dtype.kind == "u" else int(label.min())), int(label.max())
    # One mask and one table for all classes: a fresh megabyte per class costs more in
    # page faults than the integral itself.
    mask = np.empty(label.shape, bool)
    table = np.empty((label.shape[0] + 1, label.shape[1] + 1), np.int32) \
        if windows is not None else None
    for c in range(max(low, 1), min(high, num_classes - 1) + 1):
        if c == ignore_index:
            continue
        np.equal(label, c, out=mask)
        if windows is None:
            stats.pixel_counts[c] = np.count_nonzero(mask)
            continue
        cv2.integral(mask.view(np.uint8), table)
        stats.pixel_counts[c] = table[-1, -1]
        if stats.pixel_counts[c]:
            present[c] = windows.presence(table=table)
    if low <= ignore_index <= high:
        stats.ignored_pixels = int(np.count_nonzero(label == ignore_index))
    # What is left is class 0, unless values outside the classes may hide in it.
    rest = label.size - int(stats.pixel_counts.sum()) - stats.ignored_pixels
    zeros = rest
    if high >= num_classes or low < 0:
        zeros = int(np.count_nonzero(label == 0)) if ignore_index != 0 and low <= 0 <= high \
            else 0
        stats.unexpected_values = _unexpected(label, num_classes, ignore_index, rest - zeros)
    stats.pixel_counts[0] = zeros
    if windows is not None and zeros:
        # A window larger than all other pixels together always holds class 0.
        if label.size - zeros < windows.h * windows.w:
            present[0] = True
        else:
            np.equal(label, 0, out=mask)
            present[0] = windows.presence(table=cv2.integral(mask.view(np.uint8), table))
    stats.valid_pixels = int(stats.pixel_counts.sum())
    stats.image_counts[:] = stats.pixel_counts > 0
    stats.image_pixels[stats.pixel_counts > 0] = stats.valid_pixels
    return stats, present


def _unexpected(label, num_classes, ignore_index, expected_pixels):
    """{value: pixels} of values outside the classes and not ignore_index (none if 0 pixels)."""
    if expected_pixels <= 0:
        return {}
    outside = label[((label < 0) | (label >= num_classes)) & (label != ignore_index)]
    values, counts = np.unique(outside, return_counts=True)
    return dict(zip(values.tolist(), counts.tolist()))


def read_label_fast(path):
    """`labels.read_label(path)`, decoded by OpenCV when the file is an 8-bit greyscale PNG.

    OpenCV decodes such a PNG to the same uint8 array as PIL, faster; any other file (a
    palette PNG, whose indices OpenCV would turn into colours, 16-bit, RGB, JPEG, `.npy`),
    and one OpenCV cannot decode (truncated), goes to `read_label_to_count`, whose
    `DataError` names the file.
    """
    with open(path, "rb") as file:
        data = file.read()
    if data[:8] == _PNG_SIGNATURE and len(data) > 25 and data[24] == 8 \
            and data[25] == _PNG_GREYSCALE:
        label = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        if label is not None:
            return label
    return read_label_to_count(path)


def _scan_file(job):
    """(`ClassStats`, `CropCoverage` or None, `StructureWidths` or None) of one label file."""
    (index, path, num_classes, ignore_index, multilabel, crop_size, count, seed, value_maps,
     measure_widths) = job
    if multilabel:
        label = multilabel_to_hwc(read_label_to_count(path, value_maps), num_classes)
        stats = count_label_array(label, num_classes, ignore_index, multilabel=True)
    else:
        label = map_label_values(read_label_fast(path), value_maps)
        if label.ndim != 2:
            raise DataError(f"label file '{path}' has shape {label.shape}: expected a "
                             "single-channel class map (convert colour-coded labels to class "
                             "indices, or save them as palette PNGs)")
    coverage = None
    if crop_size is None:
        stats = stats if multilabel else scan_class_map(label, num_classes, ignore_index)[0]
    else:
        rng = np.random.default_rng([seed, index])
        if multilabel:
            coverage = crop_hits(label, num_classes, crop_size, count, rng, ignore_index, True)
        else:
            windows = crop_windows(label.shape[0], label.shape[1], crop_size, count, rng)
            stats, present = scan_class_map(label, num_classes, ignore_index, windows)
            coverage = CropCoverage.from_presence(present, crop_size)
    widths = label_widths(label, num_classes, multilabel, stats.pixel_counts) \
        if measure_widths else None
    return stats, coverage, widths


def scan_labels(label_paths, num_classes, ignore_index=255, multilabel=False, crop_size=None,
                crops_per_image=20, seed=0, workers=None, progress=True, value_maps=(),
                widths=False):
    """(`ClassStats`, `CropCoverage` or None) over `label_paths`, each file read once; with
    `widths`, (`ClassStats`, `CropCoverage` or None, `StructureWidths`).

    Args:
        label_paths: label files (class maps, multi-label strips or `.npy`).
        num_classes: classes, or label channels for multi-label data (without an
            auxiliary background channel).
        ignore_index: the label value of ignored pixels.
        multilabel: read the files as multi-label data (`labels.multilabel_to_hwc`).
        crop_size: (width, height) of the crops, or None for no crop statistics.
        crops_per_image: crops drawn per label.
        seed: seeds each label's crops together with its index.
        workers: worker processes; default the CPU count (1 reads in this process).
        progress: show a tqdm progress bar.
        value_maps: the transforms' label-value steps, applied to each label first
            (see `label_value_maps`).
        widths: also measure each class's structure widths (see `structure_width`).
    """
    jobs = [(index, str(path), num_classes, ignore_index, multilabel, crop_size,
             crops_per_image, seed, tuple(value_maps), widths)
            for index, path in enumerate(label_paths)]
    stats = ClassStats.empty(num_classes, multilabel)
    coverage = CropCoverage.empty_for(num_classes, crop_size) if crop_size else None
    total_widths = StructureWidths.empty(num_classes, multilabel)
    workers = workers or os.cpu_count() or 1
    bar = dict(total=len(jobs), disable=not progress, desc="reading labels")

    def add(results):
        nonlocal stats, coverage, total_widths
        for file_stats, file_coverage, file_widths in tqdm(results, **bar):
            stats = stats + file_stats
            if coverage is not None:
                coverage = coverage + file_coverage
            if widths:
                total_widths = total_widths + file_widths

    if workers == 1 or len(jobs) < 2:
        add(map(_scan_file, jobs))
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            add(pool.map(_scan_file, jobs, chunksize=max(1, len(jobs) // (workers * 8))))
    return (stats, coverage, total_widths) if widths else (stats, coverage)
