"""What the tools do for a multi-label config, before and after building it.

A config is multi-label when a dataset section is a `MultiLabelDataset` or its transforms
hold `AddMultiLabelAuxiliaryCategory` (`config.sections.is_multilabel`); the tools then
turn `--use_multilabel` on by themselves. Before anything is built, `prepare_config` checks that every `num_classes`
agrees and gives each AddMultiLabelAuxiliaryCategory entry the dataset's `num_classes`
and `ignore_index` when the YAML leaves them out, so that the transform checks the labels
against the config. Once a dataset is built, `check_multilabel_files` checks its files
(the label of every sample against its image, from the file headers) and
`check_first_sample` reads its first sample in the main process: a wrong `num_classes`
or label stops the tool with a `ConfigError` before any training iteration (on Paddle 2.6
an exception inside the data loader with `num_workers: 0` hangs training instead).
"""
import os
import random
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image, UnidentifiedImageError

from paddleseg_imbalance.component_traits import AUX_TRANSFORM as AUXILIARY_TRANSFORM
from paddleseg_imbalance.component_traits import MULTILABEL_DATASET
from paddleseg_imbalance.config.errors import DataError
from paddleseg_imbalance.config.file_probes import image_size
from paddleseg_imbalance.config.num_classes import num_classes_sources
from paddleseg_imbalance.config.sections import (DEFAULT_IGNORE_INDEX, dataset_section,
                                                 dataset_sections, is_multilabel)
from paddleseg_imbalance.engine.config import ConfigError
from paddleseg_imbalance.engine.preflight import check_file_list
from paddleseg_imbalance.transforms.multilabel_aux import check_label_count, count_labels

_MAX_LISTED = 10


def auxiliary_channels(config):
    """The output channels that are AddMultiLabelAuxiliaryCategory's background: (0,) when
    the val (or else train) transforms add it, else ()."""
    for name in ("val_dataset", "train_dataset"):
        section = dataset_section(config.dic, name)
        if section and section.cfg.get("transforms"):
            return (0,) if section.aux_transforms() else ()
    return ()


def label_names(config, num_labels):
    """One name per label (background excluded): a dataset's `label_names`, else the
    top-level `class_names` without the background, else the channel numbers."""
    for section in dataset_sections(config.dic):
        if section.cfg.get("label_names"):
            return [str(name) for name in section.cfg["label_names"]]
    auxiliary = auxiliary_channels(config)
    class_names = config.dic.get("class_names")
    if class_names and len(class_names) == num_labels + len(auxiliary):
        return [str(n) for c, n in enumerate(class_names) if c not in auxiliary]
    return [str(c) for c in range(len(auxiliary), num_labels + len(auxiliary))]


def prepare_config(config):
    """Check a multi-label config and complete its AddMultiLabelAuxiliaryCategory entries
    in place, before anything is built (a no-op for other configs).

    Raises:
        ConfigError: the `num_classes` of the model, the datasets and the transforms differ,
            are missing or do not fit `label_names`; only one of train and val adds the
            background channel; or a `Dataset` is asked to read multi-label labels
            (PaddleSeg 2.8.0's cannot; develop's pads label channels wrongly).
    """
    if not is_multilabel(config.dic):
        return
    sections = dataset_sections(config.dic)
    with_auxiliary = {section.name: bool(section.aux_transforms()) for section in sections}
    if len(set(with_auxiliary.values())) > 1:
        missing = [name for name, has in with_auxiliary.items() if not has]
        raise ConfigError(f"{AUXILIARY_TRANSFORM} is in the transforms of one dataset but not "
                          f"of `{missing[0]}`: the model's channels would mean different "
                          f"things in training and evaluation. Put {AUXILIARY_TRANSFORM} "
                          "first in the train and the val transforms, or in neither.")
    # As the YAML states them, before the auxiliary entries are completed below.
    found = {label: value for _, label, value in num_classes_sources(config.dic, {})}
    model_cfg = config.dic.get("model") or {}
    for section in sections:
        name, dataset_cfg, entries = section.name, section.cfg, section.aux_transforms()
        if entries and section.type == "Dataset":
            # PaddleSeg develop's own multi-label configs are written this way.
            raise ConfigError(
                f"`{name}` is a `Dataset` with {AUXILIARY_TRANSFORM}: PaddleSeg 2.8.0's "
                "Dataset cannot read multi-label labels (it expects 2-D masks), and "
                "develop's pads and rotates only the first label channel with the label "
                "padding value; the tools check and evaluate multi-label data through "
                f"{MULTILABEL_DATASET}. Set `{name}.type: {MULTILABEL_DATASET}`; its "
                "file lists and keys are the same.")
        if "num_classes" not in dataset_cfg and section.type == MULTILABEL_DATASET:
            raise ConfigError(f"`{name}.num_classes` is missing: {MULTILABEL_DATASET} "
                              "needs it (the number of labels, + 1 with "
                              f"{AUXILIARY_TRANSFORM}).")
        num_classes = dataset_cfg.get("num_classes", model_cfg.get("num_classes"))
        _check_label_names(name, dataset_cfg, num_classes, bool(entries))
        for _, entry in entries:
            if "num_classes" not in entry and num_classes is not None:
                entry["num_classes"] = num_classes
            entry.setdefault("ignore_index", dataset_cfg.get("ignore_index",
                                                             DEFAULT_IGNORE_INDEX))
    if len(set(found.values())) > 1:
        listed = ", ".join(f"{key} {value}" for key, value in found.items())
        raise ConfigError(f"num_classes differs across the config: {listed}. Set one value "
                          "everywhere: the number of labels + 1 (the background channel) "
                          f"with {AUXILIARY_TRANSFORM}, else the number of labels.")


def _check_label_names(section, dataset_cfg, num_classes, auxiliary):
    """`ConfigError` when `num_classes` does not fit the labels `label_names` names."""
    names = dataset_cfg.get("label_names")
    if not names or num_classes is None or num_classes == len(names) + auxiliary:
        return
    if auxiliary:
        fix = (f"{AUXILIARY_TRANSFORM} adds a background channel: set num_classes: "
               f"{len(names) + 1} for {len(names)} labels plus the background channel")
    else:
        fix = f"without {AUXILIARY_TRANSFORM} set num_classes: {len(names)}, one per label"
    raise ConfigError(f"num_classes is {num_classes} but `{section}.label_names` names "
                      f"{len(names)} labels; {fix} (model.num_classes, "
                      "train_dataset.num_classes and val_dataset.num_classes).")


def multilabel_evaluation_options(args, config):
    """`evaluate` keyword arguments for multi-label evaluation (`--use_multilabel`, or a
    multi-label config): sigmoid per channel against `--threshold`, the background channel
    reported apart. {} for a single-label run."""
    if not (getattr(args, "use_multilabel", False) or is_multilabel(config.dic)):
        return {}
    return dict(use_multilabel=True, threshold=checked_threshold(args.threshold),
                skip_channels=auxiliary_channels(config))


DEFAULT_THRESHOLD = 0.5


def checked_threshold(threshold):
    """`--threshold` if it is a probability strictly between 0 and 1 (None: the default
    0.5), else `ConfigError`."""
    if threshold is None:
        return DEFAULT_THRESHOLD
    if not 0 < threshold < 1:
        raise ConfigError(f"--threshold {threshold}: a pixel is positive where "
                          "sigmoid(logit) > threshold; give a probability in (0, 1), "
                          "default 0.5.")
    return float(threshold)


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
