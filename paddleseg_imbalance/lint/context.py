"""What every rule reads: the resolved config, its sections, and how PaddleSeg will see them.

The helpers here answer the questions the rules share (which datasets are there, after
taking wrapper datasets apart; what are num_classes and ignore_index of each; which loss
entries are there, nested ones included; is this a multi-label setup) the way
PaddleSeg 2.8.0 and this plugin's tools answer them.
"""
from dataclasses import dataclass, field

from paddleseg_imbalance.component_traits import AUX_TRANSFORM, MULTILABEL_DATASET
from paddleseg_imbalance.config.loss_entries import walk_loss_entries
from paddleseg_imbalance.config.resolve import format_key
from paddleseg_imbalance.lint.findings import Finding

DATASET_SECTIONS = ("train_dataset", "val_dataset")
# PaddleSeg's `Dataset` default, also what the plugin assumes when a section says nothing.
DEFAULT_IGNORE_INDEX = 255


def is_positive_int(value):
    """Whether `value` is a usable class or label count (YAML's `true` is not one)."""
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


@dataclass
class DatasetSection:
    """One of train_dataset / val_dataset, with wrapper datasets taken off.

    Attributes:
        name: "train_dataset" or "val_dataset".
        path: key path of the innermost dataset, e.g. ("train_dataset", "dataset").
        cfg: that dataset's mapping.
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
        """`DatasetSection` of each dataset section present, wrappers taken off.

        A wrapper (`ClassBalancedDataset`, ...) holds the dataset it wraps under
        `dataset:`; the tools unwrap it before PaddleSeg sees the config, so the rules do too.
        """
        sections = []
        for name in DATASET_SECTIONS:
            cfg, path = self.config.get(name), (name,)
            while isinstance(cfg, dict) and isinstance(cfg.get("dataset"), dict) \
                    and "type" in cfg["dataset"]:
                cfg, path = cfg["dataset"], path + ("dataset",)
            if isinstance(cfg, dict) and cfg:
                sections.append(DatasetSection(name, path, cfg))
        return sections

    def dataset(self, name):
        return next((s for s in self.datasets() if s.name == name), None)

    def dataset_constant(self, section, key):
        """A built-in dataset class's constant (`num_classes`, ...), or None."""
        return self.known.dataset_constants.get(section.type, {}).get(key)

    def dataset_num_classes(self, section):
        """num_classes of a dataset section as PaddleSeg uses it, or None."""
        value = section.cfg.get("num_classes")
        return value if value is not None else self.dataset_constant(section, "num_classes")

    def ignore_index(self, section):
        """ignore_index of a dataset section: its own, its class's, or PaddleSeg's 255."""
        value = section.cfg.get("ignore_index")
        if value is None:
            value = self.dataset_constant(section, "ignore_index")
        return DEFAULT_IGNORE_INDEX if value is None else value

    def num_classes(self):
        """The model's number of output channels: model.num_classes, else (absent, or not
        a positive integer, which PSI008 reports) the train dataset's; None when neither
        states one."""
        value = self.section("model").get("num_classes")
        if not is_positive_int(value):
            train = self.dataset("train_dataset")
            value = self.dataset_num_classes(train) if train else None
        return value if is_positive_int(value) else None

    def loss_entries(self, loss_key="loss"):
        """[(key path, entry)] of every loss entry, MixedLoss members and the loss a
        RampedLoss weights included."""
        return list(walk_loss_entries(self.section(loss_key).get("types"), (loss_key, "types")))

    def is_multilabel(self):
        """Whether the train data is multi-label (the auxiliary transform or the dataset type)."""
        train = self.dataset("train_dataset")
        return bool(train) and (train.type == MULTILABEL_DATASET
                                or AUX_TRANSFORM in train.transform_types())

    def has_aux_channel(self):
        """Whether AddMultiLabelAuxiliaryCategory adds a background channel to the labels."""
        return any(AUX_TRANSFORM in s.transform_types() for s in self.datasets())

    def aux_transforms(self):
        """[(key path, mapping)] of every AddMultiLabelAuxiliaryCategory in the datasets."""
        return [(section.path + ("transforms", i), t) for section in self.datasets()
                for i, t in section.transforms() if t["type"] == AUX_TRANSFORM]

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
