"""The output channels of a multi-label config: which one is the background channel of
AddMultiLabelAuxiliaryCategory, and what each label is called (in tables, mask folders and
per-label weights)."""
from paddleseg_imbalance.config.sections import dataset_section, dataset_sections


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
