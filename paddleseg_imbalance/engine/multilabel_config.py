"""Preparing a multi-label config before anything is built.

A config is multi-label when a dataset section is a `MultiLabelDataset` or its transforms
hold `AddMultiLabelAuxiliaryCategory` (`config.sections.is_multilabel`); the tools then
turn `--use_multilabel` on by themselves. `prepare_config` checks that every `num_classes`
agrees and gives each AddMultiLabelAuxiliaryCategory entry the dataset's `num_classes` and
`ignore_index` when the YAML leaves them out, so that the transform checks the labels
against the config.
"""
from paddleseg_imbalance.component_traits import AUX_TRANSFORM as AUXILIARY_TRANSFORM
from paddleseg_imbalance.component_traits import MULTILABEL_DATASET
from paddleseg_imbalance.config.num_classes import num_classes_sources
from paddleseg_imbalance.config.sections import (DEFAULT_IGNORE_INDEX, dataset_sections,
                                                 is_multilabel)
from paddleseg_imbalance.engine.config import ConfigError


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
