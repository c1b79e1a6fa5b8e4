"""The preflight of a multi-label dataset, once it is built.

`check_multilabel_files` checks its files (the label of every sample against its image,
from the file headers) and `check_first_sample` reads its first sample in the main
process: a wrong `num_classes` or label stops the tool with a `ConfigError` before any
training iteration (on Paddle 2.6 an exception inside the data loader with
`num_workers: 0` hangs training instead).
"""
import os
import random
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image, UnidentifiedImageError

from paddleseg_imbalance.config.errors import DataError
from paddleseg_imbalance.config.file_probes import image_size
from paddleseg_imbalance.engine.config import ConfigError
from paddleseg_imbalance.engine.preflight import check_file_list
from paddleseg_imbalance.transforms.multilabel_aux import check_label_count, count_labels

_MAX_LISTED = 10


def _label_shape(path):
    """Shape of the label array in `path`, (H, W) or (H, W, C); an image is decoded in full
    (a truncated one would stop training inside the data loader)."""
    if path.endswith(".npy"):
        return np.load(path, mmap_mode="r").shape
    with Image.open(path) as image:
        image.load()
        width, height = image.size
        bands = len(image.getbands())
    return (height, width) if bands == 1 else (height, width, bands)


def _label_count(pair):
    """(number of labels, label shape) of one sample, or a problem (a string)."""
    image_path, label_path = pair
    if label_path is None:
        return "the file list line names no label"
    if not os.path.isfile(label_path):
        return f"label file '{label_path}' does not exist"
    try:
        shape = _label_shape(label_path)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError,
            Image.DecompressionBombError) as error:
        return f"label file '{label_path}' cannot be read as an image or .npy ({error})"
    try:
        return count_labels(shape, image_size(image_path, apply_exif=True)), shape
    except ValueError as error:
        return f"label '{label_path}': {error}"


def _data_error(section, problems, fix):
    listed = "\n".join(f"  sample {line}: {text}" for line, text in problems[:_MAX_LISTED])
    more = len(problems) - _MAX_LISTED
    listed += f"\n  ... and {more} more" if more > 0 else ""
    return DataError(f"`{section}`: {len(problems)} problem(s) in the multi-label dataset "
                     f"files:\n{listed}\n{fix}")


def check_multilabel_files(dataset, section, progress=True, workers=8):
    """The preflight of a `MultiLabelDataset`: images as `check_file_list` checks them;
    every label exists and fits its image in one multi-label layout (headers only), and
    all hold the number of labels `num_classes` says.

    Raises:
        DataError: files are missing, unreadable, or labels do not fit their images.
        ConfigError: every label holds the same number of labels and `num_classes` does
            not fit it (the message says which num_classes to set).
    """
    file_list = dataset.file_list
    check_file_list([(image, None) for image, _ in file_list], section, progress=progress)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(_label_count, file_list))
    problems = [(line, found) for line, found in enumerate(results, 1) if isinstance(found, str)]
    if problems:
        raise _data_error(section, problems, "Fix or remove these samples (label c of C in "
                          "columns [c*W, (c+1)*W) of an (H, C*W) strip, rows [c*H, (c+1)*H) "
                          "of a (C*H, W) strip, or an (H, W, C) .npy).")
    counts = {count for count, _ in results}
    auxiliary = bool(dataset.auxiliary_channels)
    if len(counts) == 1 and counts != {dataset.num_labels}:
        count, shape = results[0]
        try:
            check_label_count(count, dataset.num_classes, auxiliary, shape)
        except ValueError as error:
            raise ConfigError(f"`{section}`: {error}") from error
    wrong = [(line, f"the label '{file_list[line - 1][1]}' holds {count} labels, not "
                    f"{dataset.num_labels}")
             for line, (count, _) in enumerate(results, 1) if count != dataset.num_labels]
    if wrong:
        raise _data_error(section, wrong, f"Every label must hold the same {dataset.num_labels} "
                          f"labels (num_classes {dataset.num_classes}).")


def check_first_sample(dataset, section):
    """Read `dataset[0]` through its transforms, in this process; a `ValueError` (a label
    AddMultiLabelAuxiliaryCategory rejects) becomes a `ConfigError`. Python's and numpy's
    random states are restored afterwards, so seeded runs draw the same augmentations."""
    states = random.getstate(), np.random.get_state()
    try:
        dataset[0]
    except ValueError as error:
        raise ConfigError(f"`{section}`: {error}") from error
    finally:
        random.setstate(states[0])
        np.random.set_state(states[1])
