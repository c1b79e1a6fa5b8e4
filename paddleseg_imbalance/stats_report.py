"""`paddleseg-imbalance stats`: class frequencies, crop coverage and weights of a dataset.

For each class (each label of multi-label data): its share of the labelled pixels, the
share of images that contain it, the share of random crops that contain it (see
`analysis.crop_coverage`), and the class weights each method of `analysis.METHODS`
recommends, and how thin the class is: the median local width of its structures, the
share of its pixels on structures at most 3 px wide, and the coarsest output stride that
can draw its median structure (see `analysis.structure_width`; not for class 0 of a
class map, the background). Written as a table (stdout), `class_stats.json` and a log-scale bar chart
`class_stats.png` in the output directory (default `output/stats/<config or list name>`).

The dataset comes from a config (its `train_dataset`, or `val_dataset`, read as the
lint reads it: `_base_` resolved, wrapper datasets unwrapped) or from a dataset root,
a file list and a class count. Multi-label data (`AddMultiLabelAuxiliaryCategory` or
`MultiLabelDataset` in the config, or `--multilabel`) is counted per label channel,
without the auxiliary background channel; the number of labels comes from a
`num_labels` key, or from the first file's layout next to its image. Labels are counted
as the section's label-value transforms (`RemapLabels`) leave them; see `label_value_maps`.
A label file that cannot be read is a `DataError` naming it (the CLI exits 2).
"""
import json
import os
import warnings
from dataclasses import dataclass, field

from prettytable import PrettyTable

from paddleseg_imbalance.analysis import METHODS, class_weights
from paddleseg_imbalance.analysis.crop_coverage import scan_labels
from paddleseg_imbalance.analysis.structure_width import THIN_WIDTH
from paddleseg_imbalance.config.file_probes import image_size
from paddleseg_imbalance.config.resolve import format_key, resolve_config
from paddleseg_imbalance.config.sections import DatasetSection
from paddleseg_imbalance.label_value_maps import label_value_maps_from_config
from paddleseg_imbalance.labels import read_label
from paddleseg_imbalance.lint.context import LintContext
from paddleseg_imbalance.lint.known_components import load_snapshot
from paddleseg_imbalance.lint.listing import ListingError, list_pairs
from paddleseg_imbalance.lint.paddlex import as_paddleseg
from paddleseg_imbalance.transforms.multilabel_aux import count_labels

JSON_NAME, PNG_NAME = "class_stats.json", "class_stats.png"
# Transforms whose `crop_size` is the training crop (the default for --crop-size).
CROP_TRANSFORMS = ("RandomPaddingCrop", "RareClassCrop")


class StatsInputError(ValueError):
    """The dataset to count cannot be found from the arguments; the message says why."""


@dataclass
class StatsInputs:
    """What to count: label files and how to read them.

    Attributes:
        name: names the output directory (config or file-list stem).
        pairs: [(image, label)] paths.
        num_classes: classes, or labels for multi-label data.
        ignore_index: the label value of ignored pixels.
        multilabel: count label channels of multi-label files.
        class_names: a name per class (defaults to indices).
        crop_size: (width, height) from the config's crop transform, or None.
        value_maps: the label-value transforms of the dataset, applied before counting.
    """

    name: str
    pairs: list
    num_classes: int
    ignore_index: int = 255
    multilabel: bool = False
    class_names: list = field(default_factory=list)
    crop_size: tuple = None
    value_maps: tuple = ()

    def __post_init__(self):
        if len(self.class_names) != self.num_classes:
            self.class_names = [str(c) for c in range(self.num_classes)]


def _stem(path):
    return os.path.splitext(os.path.basename(str(path)))[0]


def _pairs(section):
    try:
        return list_pairs(section)
    except ListingError as error:
        raise StatsInputError(f"`{'.'.join(section.path)}`: {error}") from error


def _labels_in_file(image, label):
    """Labels a multi-label file holds, from its layout next to its image."""
    try:
        return count_labels(read_label(label).shape, image_size(image, True))
    except ValueError as error:
        raise StatsInputError(f"'{label}': {error}") from error


def inputs_from_config(path, split="train_dataset"):
    """`StatsInputs` for the `split` section of the config at `path`."""
    # A PaddleX 3 config reads as its PaddleSeg datasets (`lint.paddlex`).
    ctx = LintContext(as_paddleseg(resolve_config(path)), load_snapshot())
    section = ctx.dataset(split)
    if section is None:
        raise StatsInputError(f"config '{path}' has no `{split}`")
    pairs = _pairs(section)
    if not pairs:
        raise StatsInputError(f"`{split}` of '{path}' lists no labelled samples")
    multilabel = ctx.is_multilabel()
    num_classes = ctx.dataset_num_classes(section)
    if multilabel:
        given = ctx.config_num_labels()
        num_classes = given.value if given else _labels_in_file(*pairs[0])
    if num_classes is None:
        raise StatsInputError(f"`{split}` of '{path}' has no num_classes")
    crop_size = next((tuple(t["crop_size"]) for _, t in section.transforms()
                      if t["type"] in CROP_TRANSFORMS and "crop_size" in t), None)
    names = ctx.config.get("class_names")
    return StatsInputs(_stem(path), pairs, num_classes, ctx.ignore_index(section), multilabel,
                       list(names) if isinstance(names, list) else [], crop_size,
                       _value_maps(section))


def _value_maps(section):
    """The built label-value transforms of `section` (a bad one is a `StatsInputError`)."""
    entries = [(format_key(section.path + ("transforms", index)), transform)
               for index, transform in section.transforms()]
    try:
        return label_value_maps_from_config(entries)
    except ValueError as error:
        raise StatsInputError(str(error)) from error


def inputs_from_list(dataset_root, file_list, num_classes, ignore_index=255, multilabel=False):
    """`StatsInputs` for a PaddleSeg file list ('image label' lines relative to the root)."""
    section = DatasetSection("train_dataset", ("--file-list",),
                             {"type": "Dataset", "dataset_root": dataset_root,
                              "train_path": file_list, "mode": "train"})
    return StatsInputs(_stem(file_list), _pairs(section), num_classes, ignore_index, multilabel)


@dataclass
class StatsReport:
    """The counts of one dataset, its crop coverage, and the weights each method gives."""

    inputs: StatsInputs
    stats: object
    coverage: object
    weights: dict
    widths: object = None
    notes: list = field(default_factory=list)

    def table(self):
        columns = ["class", "name", "pixels", "pixel share", "image share"]
        if self.coverage is not None:
            width, height = self.coverage.crop_size
            columns.append(f"crop share {width}x{height}")
        if self.widths is not None:
            columns += ["median width px", f"on <={THIN_WIDTH} px", "stride needed"]
        columns += [f"w {method}" for method in self.weights]
        table = PrettyTable(columns)
        stats = self.stats
        image_share = stats.image_counts / max(stats.num_images, 1)
        for c, name in enumerate(self.inputs.class_names):
            row = [c, name, int(stats.pixel_counts[c]), f"{stats.pixel_share[c]:.4%}",
                   f"{image_share[c]:.2%}"]
            if self.coverage is not None:
                row.append(f"{self.coverage.share[c]:.2%}")
            if self.widths is not None:
                row += self._width_cells(c)
            row += [f"{weights[c]:.4g}" for weights in self.weights.values()]
            table.add_row(row)
        table.align = "r"
        return table

    def _width_cells(self, c):
        median = self.widths.median(c)
        if median is None:
            return ["-", "-", "-"]
        return [f"{median:g}", f"{self.widths.thin_share(c):.2%}", self.widths.needed_stride(c)]

    def summary(self):
        """Lines under the table: images, ignored share, empty crops, notes."""
        stats = self.stats
        total = stats.valid_pixels + stats.ignored_pixels
        lines = [f"{stats.num_images} label files, {total} pixels, "
                 f"{stats.ignored_pixels / max(total, 1):.2%} ignored "
                 f"(ignore_index {self.inputs.ignore_index})"]
        if stats.unexpected_values:
            lines.append(f"values outside the classes: {stats.unexpected_values} "
                         "(run `paddleseg-imbalance lint --scan-data`)")
        if self.coverage is not None:
            lines.append(f"{self.coverage.empty_share:.2%} of {self.coverage.crops} random "
                         f"{self.coverage.crop_size[0]}x{self.coverage.crop_size[1]} crops "
                         "hold no foreground")
        return lines + self.notes

    def to_json(self):
        return {"name": self.inputs.name, "class_names": self.inputs.class_names,
                "num_classes": self.inputs.num_classes, "multilabel": self.inputs.multilabel,
                "ignore_index": self.inputs.ignore_index,
                "pixel_share": self.stats.pixel_share.tolist(),
                "image_share": (self.stats.image_counts
                                / max(self.stats.num_images, 1)).tolist(),
                "counts": self.stats.to_json(),
                "crops": self.coverage.to_json() if self.coverage is not None else None,
                "weights": {method: w.tolist() for method, w in self.weights.items()},
                "structure": self.widths.to_json() if self.widths is not None else None,
                "notes": self.notes}

    def plot(self, path):
        """A log-scale bar chart of the pixel, image and crop shares per class."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import numpy as np

        series = {"pixel share": self.stats.pixel_share,
                  "image share": self.stats.image_counts / max(self.stats.num_images, 1)}
        if self.coverage is not None:
            width, height = self.coverage.crop_size
            series[f"crop share ({width}x{height} crops)"] = self.coverage.share
        names = self.inputs.class_names
        positions = np.arange(len(names))
        width = 0.8 / len(series)
        figure, axes = plt.subplots(figsize=(max(6, 0.5 * len(names) + 2), 4))
        for i, (label, values) in enumerate(series.items()):
            axes.bar(positions + (i - (len(series) - 1) / 2) * width,
                     np.maximum(values, 1e-6), width, label=label)
        axes.set_yscale("log")
        axes.set_ylim(1e-6, 1.5)
        axes.set_xticks(positions)
        axes.set_xticklabels(names, rotation=45 if len(names) > 8 else 0, ha="right"
                             if len(names) > 8 else "center")
        axes.set_ylabel("share (log scale)")
        axes.set_title(f"{self.inputs.name}: class frequencies")
        axes.legend(loc="lower right")  # the bottom of a log axis is empty
        figure.tight_layout()
        figure.savefig(path, dpi=100)
        plt.close(figure)


def compute(inputs, crop_size=None, crops_per_image=20, seed=0, workers=None, progress=True):
    """`StatsReport` of `inputs`: one pass over the labels (counts, crops, structure widths),
    then the weights of each method."""
    crop_size = crop_size or inputs.crop_size
    stats, coverage, widths = scan_labels(
        [label for _, label in inputs.pairs], inputs.num_classes, inputs.ignore_index,
        inputs.multilabel, crop_size, crops_per_image, seed, workers, progress,
        inputs.value_maps, widths=True)
    weights, notes = {}, []
    for method in METHODS:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                weights[method] = class_weights(stats, method, class_names=inputs.class_names)
            except ValueError as error:
                notes.append(f"no weights: {error}")
                break
        notes += [str(w.message) for w in caught if str(w.message) not in notes]
    return StatsReport(inputs, stats, coverage, weights, widths, notes)


def write(report, output_dir, plot=True):
    """Write `class_stats.json` (and `class_stats.png`) into `output_dir`; returns the paths."""
    os.makedirs(output_dir, exist_ok=True)
    paths = [os.path.join(output_dir, JSON_NAME)]
    with open(paths[0], "w", encoding="utf-8") as file:
        json.dump(report.to_json(), file, indent=2)
    if plot:
        paths.append(os.path.join(output_dir, PNG_NAME))
        report.plot(paths[1])
    return paths
