"""The dataset sections of a config, wrapper datasets taken off, and what they read.

One rule unwraps a wrapper dataset: a section whose `dataset:` is a mapping with a `type`
wraps that dataset (`ClassBalancedDataset`, `HardExampleDataset`, nested ones too). The
lint reads the innermost dataset through it, and the tools' `datasets.unwrap_config`
takes the wrappers out of a loaded config by it before PaddleSeg sees the config.

One predicate says what multi-label means: a dataset section reads multi-label data when
its dataset is a `MultiLabelDataset` or its transforms hold
`AddMultiLabelAuxiliaryCategory` (`DatasetSection.reads_multilabel`). The tools switch
their multi-label mode on when any section does (`is_multilabel`); the lint's rules about
multi-label training ask it of the train section.
"""
from dataclasses import dataclass

from paddleseg_imbalance.component_traits import AUX_TRANSFORM, MULTILABEL_DATASET

DATASET_SECTIONS = ("train_dataset", "val_dataset")
# PaddleSeg's `Dataset` default, also what the plugin assumes when a section says nothing.
DEFAULT_IGNORE_INDEX = 255
# Above this share of ignored label pixels a dataset is suspect (0/255 masks under
# ignore_index 255 are the usual cause): the lint's data scan and the evaluation's
# degenerate check warn at the same share.
IGNORE_SHARE_LIMIT = 0.30


def is_positive_int(value):
    """Whether `value` is a usable class or label count (YAML's `true` is not one)."""
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def wrapped_dataset(dataset_cfg):
    """The dataset mapping `dataset_cfg` wraps under `dataset:`, or None if it wraps none."""
    inner = dataset_cfg.get("dataset") if isinstance(dataset_cfg, dict) else None
    return inner if isinstance(inner, dict) and "type" in inner else None


@dataclass
class DatasetSection:
    """One of train_dataset / val_dataset, with wrapper datasets taken off.

    Attributes:
        name: "train_dataset" or "val_dataset".
        path: key path of the innermost dataset, e.g. ("train_dataset", "dataset").
        cfg: that dataset's mapping (the config's own object: changes reach the config).
    """

    name: str
    path: tuple
    cfg: dict

    @property
    def type(self):
        return self.cfg.get("type")

    def transforms(self):
        """[(index, transform mapping)] of its `transforms` list (entries with a `type`)."""
        transforms = self.cfg.get("transforms") or []
        if not isinstance(transforms, list):
            return []
        return [(i, t) for i, t in enumerate(transforms) if isinstance(t, dict) and "type" in t]

    def transform_types(self):
        return [t["type"] for _, t in self.transforms()]

    def aux_transforms(self):
        """[(index, mapping)] of each AddMultiLabelAuxiliaryCategory in its transforms."""
        return [(i, t) for i, t in self.transforms() if t["type"] == AUX_TRANSFORM]

    @property
    def reads_multilabel(self):
        """Whether it reads multi-label data: the dataset type or the auxiliary transform."""
        return self.type == MULTILABEL_DATASET or bool(self.aux_transforms())


def dataset_sections(config):
    """`DatasetSection` of each dataset section of the config dict that is a mapping
    (an empty one included), in `DATASET_SECTIONS` order, wrappers taken off."""
    sections = []
    for name in DATASET_SECTIONS:
        cfg, path = config.get(name), (name,)
        while wrapped_dataset(cfg) is not None:
            cfg, path = cfg["dataset"], path + ("dataset",)
        if isinstance(cfg, dict):
            sections.append(DatasetSection(name, path, cfg))
    return sections


def dataset_section(config, name):
    """The `DatasetSection` `name` of the config dict, or None."""
    return next((s for s in dataset_sections(config) if s.name == name), None)


def is_multilabel(config):
    """Whether any dataset section of the config dict reads multi-label data."""
    return any(section.reads_multilabel for section in dataset_sections(config))
