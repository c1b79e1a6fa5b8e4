"""How many classes a config says the labels hold: every place that states it, and the
one answer the checks count against.

A config states num_classes in the model, in each dataset (or through a built-in
dataset class's constant) and on AddMultiLabelAuxiliaryCategory. When they disagree,
the lint reports each disagreeing place once (PSI001) and every other count of classes
(weight lists, ignore_index, class indices, ...) is judged against `num_classes`, the
answer PSI001's fix names, so no report asks for two different values.
"""
from paddleseg_imbalance.config.resolve import format_key
from paddleseg_imbalance.config.sections import dataset_section, dataset_sections, is_positive_int


def dataset_num_classes(section, dataset_constants):
    """num_classes of a `DatasetSection` as PaddleSeg uses it (its own, else its class's
    `NUM_CLASSES` from `dataset_constants`, {type: {name: value}}), or None."""
    value = section.cfg.get("num_classes")
    if value is None:
        value = dataset_constants.get(section.type, {}).get("num_classes")
    return value


def num_classes_sources(config, dataset_constants):
    """[(key path, label, value)] of every place in the config dict that states num_classes,
    valid or not: the model, each dataset (its key, else its class's constant), each
    AddMultiLabelAuxiliaryCategory."""
    sources = []
    model = config.get("model")
    model_value = model.get("num_classes") if isinstance(model, dict) else None
    if model_value is not None:
        sources.append((("model", "num_classes"), "model.num_classes", model_value))
    sections = [section for section in dataset_sections(config) if section.cfg]
    for section in sections:
        constant = dataset_constants.get(section.type, {}).get("num_classes")
        if "num_classes" in section.cfg:
            path = section.path + ("num_classes",)
            sources.append((path, ".".join(path), section.cfg["num_classes"]))
        elif constant is not None:
            sources.append((section.path + ("type",), f"{section.type}.NUM_CLASSES", constant))
    for section in sections:
        for index, transform in section.aux_transforms():
            if transform.get("num_classes") is not None:
                path = section.path + ("transforms", index, "num_classes")
                sources.append((path, format_key(path), transform["num_classes"]))
    return sources


def num_classes(config, dataset_constants):
    """The num_classes authority: the classes the labels hold, as the config states them.

    The train dataset describes the labels, so its num_classes (its key, else its class's
    constant) is the answer; without a valid one, `model.num_classes` (which PaddleSeg
    otherwise takes from the train dataset). Only positive integers count; None when
    neither states one.
    """
    train = dataset_section(config, "train_dataset")
    value = dataset_num_classes(train, dataset_constants) if train and train.cfg else None
    if not is_positive_int(value):
        model = config.get("model")
        value = model.get("num_classes") if isinstance(model, dict) else None
    return value if is_positive_int(value) else None
