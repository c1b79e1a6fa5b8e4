"""What every rule reads: the resolved config, its sections, and how PaddleSeg will see them.

The helpers here answer the questions the rules share (which datasets are there, after
taking wrapper datasets apart; what are num_classes and ignore_index of each; which loss
entries are there, nested ones included; is this a multi-label setup) the way
PaddleSeg 2.8.0 and this plugin's tools answer them, from the config layer
(`paddleseg_imbalance.config`) and the known components' constants.
"""
from dataclasses import dataclass, field

from paddleseg_imbalance.config import num_classes as class_count
from paddleseg_imbalance.config.loss_entries import walk_loss_entries
from paddleseg_imbalance.config.resolve import format_key
from paddleseg_imbalance.config.sections import (DEFAULT_IGNORE_INDEX, dataset_sections,
                                                 is_positive_int)
from paddleseg_imbalance.lint.findings import Finding


@dataclass
class LabelCount:
    """How many labels a multi-label dataset has, and where that number came from."""

    value: int
    source: str


@dataclass
class LintContext:
    """The resolved config and the facts the rules share.

    Attributes:
        resolved: the `ResolvedConfig`.
        known: `KnownComponents` (the snapshot, or the live managers).
        num_labels: `LabelCount` of a multi-label setup, from the config (`label_names`,
            `num_labels`) or, with `--scan-data`, from the label files; None when unknown.
        data: {section name: data scan summary} once the data is scanned.
        fragment: why the config is linted as a fragment (see `fragments`), or None; the
            rules on what a config lacks skip fragments.
    """

    resolved: object
    known: object
    num_labels: object = None
    data: dict = field(default_factory=dict)
    fragment: object = None

    @property
    def config(self):
        return self.resolved.data

    def finding(self, code, path, message, fix, data_files=()):
        """A `Finding` at key `path` (tuple), in the file that set it."""
        return Finding(code, self.resolved.key_name(path), message, fix,
                       self.resolved.origin(path), list(data_files))

    def section(self, key):
        """The top-level mapping `key` ({} when absent or not a mapping)."""
        value = self.config.get(key)
        return value if isinstance(value, dict) else {}

    def datasets(self):
        """`DatasetSection` of each dataset section present (`config.sections`: wrappers
        taken off, as the tools take them off before PaddleSeg sees the config)."""
        return [section for section in dataset_sections(self.config) if section.cfg]

    def dataset(self, name):
        return next((s for s in self.datasets() if s.name == name), None)

    def dataset_constant(self, section, key):
        """A built-in dataset class's constant (`num_classes`, ...), or None."""
        return self.known.dataset_constants.get(section.type, {}).get(key)

    def dataset_num_classes(self, section):
        """num_classes of a dataset section as PaddleSeg uses it, or None."""
        return class_count.dataset_num_classes(section, self.known.dataset_constants)

    def ignore_index(self, section):
        """ignore_index of a dataset section: its own, its class's, or PaddleSeg's 255."""
        value = section.cfg.get("ignore_index")
        if value is None:
            value = self.dataset_constant(section, "ignore_index")
        return DEFAULT_IGNORE_INDEX if value is None else value

    def num_classes(self):
        """How many classes the labels hold (`config.num_classes.num_classes`: the train
        dataset's, else model.num_classes), or None; every rule counts against it."""
        return class_count.num_classes(self.config, self.known.dataset_constants)

    def num_classes_sources(self):
        """[(key path, label, value)] of every place that states num_classes."""
        return class_count.num_classes_sources(self.config, self.known.dataset_constants)

    def loss_entries(self, loss_key="loss"):
        """[(key path, entry)] of every loss entry, MixedLoss members and the loss a
        RampedLoss weights included."""
        return list(walk_loss_entries(self.section(loss_key).get("types"), (loss_key, "types")))

    def is_multilabel(self):
        """Whether the train section reads multi-label data (`DatasetSection.reads_multilabel`)."""
        train = self.dataset("train_dataset")
        return bool(train) and train.reads_multilabel

    def has_aux_channel(self):
        """Whether AddMultiLabelAuxiliaryCategory adds a background channel to the labels."""
        return any(s.aux_transforms() for s in self.datasets())

    def aux_transforms(self):
        """[(key path, mapping)] of every AddMultiLabelAuxiliaryCategory in the datasets."""
        return [(section.path + ("transforms", i), t) for section in self.datasets()
                for i, t in section.aux_transforms()]

    def config_num_labels(self):
        """`LabelCount` the config states: a dataset's `label_names` (MultiLabelDataset), or
        a `num_labels` key on the aux transform or a dataset; None if it says nothing."""
        for section in self.datasets():
            names = section.cfg.get("label_names")
            if isinstance(names, list) and names:
                path = section.path + ("label_names",)
                return LabelCount(len(names), f"the {len(names)} `{format_key(path)}`")
        for path, cfg in self.aux_transforms() + [(s.path, s.cfg) for s in self.datasets()]:
            value = cfg.get("num_labels")
            if is_positive_int(value):
                return LabelCount(value, f"`{format_key(path + ('num_labels',))}`")
        return None
