"""Datasets that wrap another dataset, and how PaddleSeg 2.8.0 builds them from a config.

A wrapper (`ClassBalancedDataset`, `HardExampleDataset`) is configured around the dataset
it wraps::

    train_dataset:
      type: ClassBalancedDataset
      oversample_thr: 0.01
      dataset: {type: Dataset, dataset_root: ..., num_classes: 2, transforms: [...]}

PaddleSeg's builder builds the nested `dataset` first, so `SegBuilder(config).train_dataset`
works as it is. But PaddleSeg 2.8.0 also checks any `train_dataset` type other than
`Dataset` by reading `NUM_CLASSES`, `IMG_CHANNELS` and `IGNORE_INDEX` from its *class*
(`SegBuilder.model`, `SegBuilder.loss`), and its config checker syncs `num_classes` and
`ignore_index` into the model and losses only for type `Dataset`. A wrapper's values are
those of the dataset it wraps, which a class cannot know. So:

- `unwrap_config(config)` takes the wrappers out of a loaded `Config` (the nested dataset
  found by `config.sections.wrapped_dataset`, the rule the lint reads it by), leaving the wrapped
  dataset in their place (PaddleSeg then checks and syncs it as usual), and returns them;
  `wrap_dataset(dataset, wrappers)` wraps the built dataset again. The tools do this.
- Read on the class, `NUM_CLASSES`, `IMG_CHANNELS` and `IGNORE_INDEX` raise a
  `WrapperConfigError` that says so, instead of PaddleSeg's bare assertion, when a
  wrapped config reaches `SegBuilder.model` directly (e.g. PaddleSeg's own tools/train.py).
  On an instance they are forwarded to the wrapped dataset like every other attribute.
"""
import inspect

import paddle
from paddleseg.cvlibs import manager

from paddleseg_imbalance.config.sections import DATASET_SECTIONS, wrapped_dataset
from paddleseg_imbalance.datasets.class_attributes import guard_class_attributes


class WrapperConfigError(ValueError):
    """A wrapper dataset's config reached PaddleSeg's builder without `unwrap_config`."""


def _wrapper_advice(cls, name):
    return (f"{cls.__name__} wraps another dataset, so its {name} is the wrapped dataset's, "
            f"and PaddleSeg 2.8.0's SegBuilder reads {name} from the dataset class, which "
            "cannot know it. Train with paddleseg-imbalance's tools/train.py, which builds "
            "the wrapped dataset first; in your own code call "
            "`wrappers = paddleseg_imbalance.datasets.unwrap_config(config)` before "
            "`SegBuilder(config)`, then `wrap_dataset(builder.train_dataset, "
            "wrappers['train_dataset'])`.")


class DatasetWrapper(paddle.io.Dataset,
                     metaclass=guard_class_attributes(WrapperConfigError, _wrapper_advice)):
    """Base of the wrappers: holds `dataset` and forwards unknown attributes to it.

    PaddleSeg and the tools read `num_classes`, `ignore_index`, `img_channels`,
    `file_list`, `transforms`, `mode` and more from the training dataset; each of them is
    the wrapped dataset's. A subclass defines `__len__` and `__getitem__`.

    Args:
        dataset: the dataset to wrap (a built dataset; in YAML, a nested `dataset:` dict
            with its own `type`).
    """

    def __init__(self, dataset):
        super().__init__()
        self.dataset = dataset

    def __getattr__(self, name):
        # Called only for attributes not found normally. `dataset` itself is missing while
        # a worker process unpickles the wrapper, and dunder lookups (copy, pickle) must
        # not reach the wrapped dataset; both would otherwise recurse forever.
        if name == "dataset" or name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.dataset, name)


def is_wrapper_type(type_name):
    """Whether `type_name` names a registered dataset wrapper."""
    component = manager.DATASETS.components_dict.get(type_name)
    return isinstance(component, type) and issubclass(component, DatasetWrapper)


def unwrap_config(config):
    """Take the wrapper datasets out of a PaddleSeg `Config`, in place.

    Each section of `DATASET_SECTIONS` whose `type` is a wrapper is replaced by the
    dataset it wraps (nested wrappers are all taken out), and PaddleSeg's config checks
    are run again, so `num_classes`, `img_channels` and `ignore_index` reach the model and
    the losses as they do for a plain `Dataset`.

    Args:
        config: a `paddleseg.cvlibs.Config` (its `dic` is modified).

    Returns:
        {section: [wrapper config without its `dataset` key, outermost first]}, only for
        the sections that had wrappers; give each list to `wrap_dataset`.

    Raises:
        ValueError: a wrapper has no nested `dataset` dict with a `type`, or has keys it
            does not take (typically a plain dataset's keys merged in from `_base_`).
    """
    wrappers = {}
    for section in DATASET_SECTIONS:
        dataset_cfg = config.dic.get(section)
        chain = []
        while isinstance(dataset_cfg, dict) and is_wrapper_type(dataset_cfg.get("type")):
            inner = wrapped_dataset(dataset_cfg)
            if inner is None:
                raise ValueError(
                    f"`{section}` of type {dataset_cfg['type']} needs the dataset it wraps "
                    "as a nested `dataset:` with a `type`, found "
                    f"{dataset_cfg.get('dataset')!r}; write e.g. "
                    f"`{section}: {{type: {dataset_cfg['type']}, dataset: {{type: Dataset, "
                    "dataset_root: ..., num_classes: ..., transforms: [...]}}`.")
            params = {key: value for key, value in dataset_cfg.items() if key != "dataset"}
            _check_wrapper_keys(section, params)
            chain.append(params)
            dataset_cfg = inner
        if chain:
            config.dic[section] = dataset_cfg
            wrappers[section] = chain
    if wrappers:
        # The checks Config ran on load skipped the wrapped sections (they act on type
        # `Dataset` only); run them again now that the sections are plain datasets.
        type(config)._build_default_checker().apply_all_rules(config)
    return wrappers


def _check_wrapper_keys(section, params):
    wrapper = manager.DATASETS[params["type"]]
    accepted = set(inspect.signature(wrapper.__init__).parameters) - {"self", "dataset"}
    unknown = sorted(set(params) - accepted - {"type"})
    if unknown:
        raise ValueError(
            f"`{section}` of type {params['type']} has keys it does not take: "
            f"{', '.join(unknown)} (it takes {', '.join(sorted(accepted))} and the wrapped "
            f"`dataset`). Keys of a plain dataset here usually come from the `_base_` "
            f"config, which PaddleSeg merges key by key: add `_inherited_: false` to "
            f"`{section}` so it replaces the base's section, or move the keys into "
            f"`{section}.dataset`.")


def wrap_dataset(dataset, wrappers):
    """`dataset` wrapped by `wrappers` (a list from `unwrap_config`, outermost first)."""
    for wrapper_cfg in reversed(wrappers):
        params = dict(wrapper_cfg)
        dataset = manager.DATASETS[params.pop("type")](dataset, **params)
    return dataset
