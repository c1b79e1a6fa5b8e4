"""Read every label file of a dataset once (in parallel) and summarise what the data rules need.

For each (image, label) pair: whether both exist and decode, the label's file type and
shape, the image's size as `cv2.imread` sees it (EXIF orientation applied, read from the
header only, as `engine.preflight` does), and the label's `ClassStats` (pixels per
class, ignored pixels, values outside the classes; see `analysis.count_label_array`) and,
when asked, its structure widths (`analysis.structure_width`).
Labels are read as PaddleSeg reads them (`labels.read_label`: palette PNGs give their
indices). Multi-label labels are read as AddMultiLabelAuxiliaryCategory reads them, in
the layout their shape and the image's size imply ((H, C*W) or (C*H, W) strips, or
(H, W, C); see `transforms.multilabel_aux.count_labels`), 0/255 masks as binary.
`scan_data` does this for every dataset section of a config, for the data rules.
Imports paddle (through the transforms), as `--scan-data` does anyway.
"""
import os
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from paddleseg_imbalance.analysis.class_stats import ClassStats, count_label_array
from paddleseg_imbalance.analysis.structure_width import StructureWidths, label_widths
from paddleseg_imbalance.component_traits import REMAP_TRANSFORM
from paddleseg_imbalance.config.file_probes import image_size
from paddleseg_imbalance.labels import multilabel_to_hwc, read_label
from paddleseg_imbalance.lint.context import LabelCount
from paddleseg_imbalance.lint.dry_run import dry_run
from paddleseg_imbalance.lint.listing import ListingError, list_pairs
from paddleseg_imbalance.lint.model_outputs import output_stride
from paddleseg_imbalance.transforms.multilabel_aux import count_labels, is_0_255_mask

JPEG_SUFFIXES = (".jpg", ".jpeg")
# Colours kept per RGB label file, most frequent first (enough for a colour table).
_MAX_COLOURS = 32


@dataclass
class FileScan:
    """What one (image, label) pair holds. Fields are None where they could not be read.

    Attributes:
        image, label: the paths.
        ignore_index: the value of ignored pixels the label was read with.
        problem: why the pair cannot be used at all (missing or undecodable file).
        problem_file: the file `problem` is about.
        image_hw: the image's (height, width), EXIF orientation applied.
        label_shape: the label array's shape.
        jpeg: whether the label file is a JPEG.
        uint16: whether the label is read as uint16 (a 16-bit PNG).
        colours: {(r, g, b): pixels} of a colour-coded (3- or 4-channel) class-map label.
        num_labels: multi-label only: the label channels its layout implies.
        layout_problem: multi-label only: why its shape fits no layout.
        stats: `ClassStats` of the label (class map, or its label channels).
        widths: `StructureWidths` of the label, when asked for.
    """

    image: str
    label: str
    ignore_index: int = 255
    problem: str = None
    problem_file: str = None
    image_hw: tuple = None
    label_shape: tuple = None
    jpeg: bool = False
    uint16: bool = False
    colours: dict = None
    num_labels: int = None
    layout_problem: str = None
    stats: ClassStats = None
    widths: StructureWidths = None

    def values(self):
        """Label values present (class maps): classes, ignore_index, out-of-range values."""
        if self.stats is None or self.stats.multilabel:
            return set()
        present = set(np.flatnonzero(self.stats.pixel_counts).tolist())
        if self.stats.ignored_pixels:
            present.add(self.ignore_index)
        return present | set(self.stats.unexpected_values)


def _multilabel_channels(label, image_hw, ignore_index):
    """(H, W, C) 0/1 view of a multi-label label, read as AddMultiLabelAuxiliaryCategory reads it.

    Raises:
        ValueError: the shape fits no layout next to its image (the message says why).
    """
    hwc = multilabel_to_hwc(label, count_labels(label.shape, image_hw), image_hw)
    values = set(np.unique(hwc).tolist())
    # The transform reads 0/255 masks as binary (255 = label set), with a warning.
    if is_0_255_mask(values, ignore_index):
        hwc = (hwc == 255).astype(np.uint8)
    return hwc


def _colours(label):
    """{colour tuple: pixels} of a multi-channel label, the most frequent first."""
    channels = label.shape[2]
    flat = label.reshape(-1, channels).astype(np.int64)
    packed = np.zeros(len(flat), np.int64)
    for c in range(channels):
        packed = packed * 256 + np.clip(flat[:, c], 0, 255)
    values, counts = np.unique(packed, return_counts=True)
    order = np.argsort(-counts)[:_MAX_COLOURS]
    colours = {}
    for value, count in zip(values[order].tolist(), counts[order].tolist()):
        colour = tuple((value >> (8 * (channels - 1 - c))) & 255 for c in range(channels))
        colours[colour] = count
    return colours


def scan_file(job):
    """`FileScan` of one (image, label) pair.

    `job` = (image, label, num_classes, ignore_index, multilabel, remaps, widths): `remaps`
    are the dataset's `RemapLabels` transforms, applied to the label first, in order, so the
    label is judged as training will see it; `widths`: also measure its structure widths.
    """
    image, label_path, num_classes, ignore_index, multilabel, remaps, widths = job
    scan = FileScan(image, label_path, ignore_index=ignore_index)
    for role, path in (("image", image), ("label", label_path)):
        if not os.path.isfile(path):
            scan.problem, scan.problem_file = f"{role} file does not exist", path
            return scan
    try:
        scan.image_hw = image_size(image, apply_exif=True)
    except (OSError, SyntaxError, ValueError) as error:
        scan.problem, scan.problem_file = f"image cannot be decoded ({error})", image
        return scan
    try:
        label = read_label(label_path)
    except (OSError, SyntaxError, ValueError) as error:
        scan.problem, scan.problem_file = f"label cannot be decoded ({error})", label_path
        return scan
    scan.uint16 = label.dtype == np.uint16
    for remap in remaps:
        label = remap({"label": label})["label"]
    scan.label_shape = label.shape
    scan.jpeg = label_path.lower().endswith(JPEG_SUFFIXES)
    if multilabel:
        try:
            hwc = _multilabel_channels(label, scan.image_hw, ignore_index)
        except ValueError as error:
            scan.layout_problem = str(error)
            return scan
        scan.num_labels = hwc.shape[2]
        scan.stats = count_label_array(hwc, scan.num_labels, ignore_index, multilabel=True)
        if widths:
            scan.widths = label_widths(hwc, scan.num_labels, True, scan.stats.pixel_counts)
    elif label.ndim == 3:
        scan.colours = _colours(label)
    else:
        scan.stats = count_label_array(label, num_classes, ignore_index)
        if widths:
            scan.widths = label_widths(label, num_classes, False, scan.stats.pixel_counts)
    return scan


def scan_files(pairs, num_classes, ignore_index, multilabel=False, remaps=(), workers=None,
               progress=True, desc="scanning labels", widths=False):
    """[`FileScan`] of each (image, label) pair, read by `workers` processes (see `scan_file`)."""
    jobs = [(image, label, num_classes, ignore_index, multilabel, tuple(remaps), widths)
            for image, label in pairs]
    workers = workers or os.cpu_count() or 1
    bar = dict(total=len(jobs), disable=not progress, desc=desc, leave=False)
    if workers == 1 or len(jobs) < 2:
        return list(tqdm(map(scan_file, jobs), **bar))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        chunk = max(1, len(jobs) // (workers * 8))
        return list(tqdm(pool.map(scan_file, jobs, chunksize=chunk), **bar))


@dataclass
class SplitScan:
    """The scan of one dataset section.

    Attributes:
        section: the `DatasetSection`.
        pairs: [(image, label)] as the dataset lists them.
        files: [`FileScan`] per pair.
        listing_problem: (key path, message) when the file list could not be read.
        line_problems: [(key path, list path, ["line N: ..."])] for file-list lines
            PaddleSeg rejects (the other lines are scanned).
        num_classes, ignore_index, multilabel: what the files were read with.
        num_labels: multi-label: the label count most files imply.
        stats: `ClassStats` summed over the files read (multi-label: those with
            `num_labels` labels).
        widths: `StructureWidths` summed over the same files, when they were measured.
        dry_run: findings-to-be from the transform dry run (see `dry_run`).
    """

    section: object
    pairs: list = field(default_factory=list)
    files: list = field(default_factory=list)
    listing_problem: tuple = None
    line_problems: list = field(default_factory=list)
    num_classes: int = None
    ignore_index: int = 255
    multilabel: bool = False
    num_labels: int = None
    stats: ClassStats = None
    widths: StructureWidths = None
    dry_run: list = field(default_factory=list)

    @property
    def name(self):
        return self.section.name

    def summarise(self):
        """Fill `num_labels` and `stats` from `files`."""
        if self.multilabel:
            counts = Counter(f.num_labels for f in self.files if f.num_labels)
            self.num_labels = counts.most_common(1)[0][0] if counts else None
            used = [f for f in self.files if f.stats is not None
                    and f.num_labels == self.num_labels]
            classes = self.num_labels or 0
        else:
            used = [f for f in self.files if f.stats is not None]
            classes = self.num_classes
        total = ClassStats.empty(classes, self.multilabel)
        for scan in used:
            total = total + scan.stats
        self.stats = total
        measured = [scan.widths for scan in used if scan.widths is not None]
        if measured:
            self.widths = sum(measured[1:], measured[0])

    def values(self):
        """Label values over every class-map file."""
        values = set()
        for scan in self.files:
            values |= scan.values()
        return values


def scan_data(ctx, workers=None, progress=True, dry_run_samples=4):
    """Read every dataset section's files into `ctx.data`; set `ctx.num_labels` from them."""
    multilabel = ctx.is_multilabel()
    # Structure widths only matter (PSI115) when the model's output stride is known.
    measure_widths = output_stride(ctx.section("model")) is not None
    for section in ctx.datasets():
        split = SplitScan(section, num_classes=ctx.dataset_num_classes(section),
                          ignore_index=ctx.ignore_index(section), multilabel=multilabel)
        ctx.data[section.name] = split
        try:
            split.pairs = list_pairs(section, split.line_problems)
        except ListingError as error:
            split.listing_problem = error
            continue
        if not multilabel and split.num_classes is None:
            continue
        split.files = scan_files(split.pairs, split.num_classes, split.ignore_index, multilabel,
                                 _remaps(section), workers=workers, progress=progress,
                                 desc=f"scanning {section.name} labels",
                                 widths=measure_widths and section.name == "train_dataset")
        split.summarise()
        # A list PaddleSeg rejects cannot be built (and its indices would not match).
        if section.name == "train_dataset" and dry_run_samples and not split.line_problems:
            split.dry_run = dry_run(section, split.files, split.ignore_index, multilabel,
                                    samples=dry_run_samples)
    counts = {s.num_labels for s in ctx.data.values() if s.num_labels}
    if len(counts) == 1:
        ctx.num_labels = LabelCount(counts.pop(), "the label files")


def _remaps(section):
    """The section's valid `RemapLabels` transforms, built (a bad one is PSI110's business)."""
    from paddleseg_imbalance.transforms.remap_labels import RemapLabels

    remaps = []
    for _, transform in section.transforms():
        if transform["type"] == REMAP_TRANSFORM:
            try:
                remaps.append(RemapLabels(transform.get("mapping")))
            except ValueError:
                continue
    return remaps
