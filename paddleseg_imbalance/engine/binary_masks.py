"""Before training: 0/255 masks while 255 is ignore_index, on a sample of the labels.

The README's most common data bug (lint rule PSI102) trains on background alone, and
without `--do_eval` nothing shows it. The tools run the lint's rule on up to
`SAMPLED_LABELS` labels spread over the file list (read as the lint reads them, after the
dataset's label-value steps such as RemapLabels), so it costs a fraction of a second.
"""
from paddleseg_imbalance.config.errors import DataError
from paddleseg_imbalance.label_value_maps import label_value_maps
from paddleseg_imbalance.lint.data_rules import (BINARY_255_MAPPING, BINARY_255_NOTE,
                                                 BINARY_255_PROBLEM, is_255_binary, remap_fix)
from paddleseg_imbalance.lint.data_scan import scan_files

SAMPLED_LABELS = 32


def spread_sample(items, count):
    """Up to `count` of `items`, evenly spread over the list (first included)."""
    if len(items) <= count:
        return list(items)
    return [items[i * len(items) // count] for i in range(count)]


def check_binary_masks(dataset, section, dataset_sections):
    """`DataError` when sampled labels of `dataset` hold only 0 and 255 and 255 is its
    ignore_index; the fix names each of `dataset_sections` (the config's dataset keys)."""
    pairs = [(image, label) for image, label in dataset.file_list if label is not None]
    sample = spread_sample(pairs, SAMPLED_LABELS)
    scans = scan_files(sample, dataset.num_classes, dataset.ignore_index,
                       remaps=label_value_maps(dataset.transforms), workers=1, progress=False)
    values = set().union(*(scan.values() for scan in scans))
    if is_255_binary(values, dataset.ignore_index):
        raise DataError(
            f"`{section}`: {BINARY_255_PROBLEM} ({len(sample)} of its {len(pairs)} labels "
            "read). Fix: " + remap_fix([(key,) for key in dataset_sections], BINARY_255_MAPPING,
                                       BINARY_255_NOTE))
