"""Check the class of `--best_metric <metric>/<class>` against the config before training.

The evaluation looks the class up by name (`class_names`, a dataset's `label_names`) or
by index; an unknown one used to stop training only at its first evaluation, after
`save_interval` iterations were spent.
"""
from paddleseg_imbalance.config import num_classes as class_count
from paddleseg_imbalance.config.sections import dataset_sections
from paddleseg_imbalance.engine.config import ConfigError
from paddleseg_imbalance.transforms.multilabel_aux import BACKGROUND_NAME


def _config_classes(config):
    """(names, num_classes) the evaluation may know the classes by; num_classes None when
    the config does not say (a dataset type that fixes it)."""
    dic = config.dic
    names = [str(name) for name in dic.get("class_names") or []]
    for section in dataset_sections(dic):
        if section.cfg.get("label_names"):
            names += [BACKGROUND_NAME] + [str(name) for name in section.cfg["label_names"]]
    num_classes = class_count.num_classes(dic, {}) or len(names) or None
    return names, num_classes


def check_best_metric_class(name, config):
    """Raise `ConfigError` when `name` (`--best_metric`) is `<metric>/<class>` and the
    config has no such class, by name or index."""
    _, _, class_name = name.partition("/")
    if not class_name:
        return
    names, num_classes = _config_classes(config)
    if class_name in names:
        return
    if class_name.isdigit() and (num_classes is None or int(class_name) < num_classes):
        return
    known = ", ".join(names) if names else "none (the config has no `class_names`)"
    indices = f"0 to {num_classes - 1}" if num_classes else "0, 1, ..."
    raise ConfigError(f"--best_metric {name}: the config has no class '{class_name}'; class "
                      f"names: {known}; indices: {indices}. Give a class name from "
                      "`class_names` or an index, e.g. --best_metric "
                      f"{name.partition('/')[0]}/1.")
