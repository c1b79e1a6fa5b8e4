"""PaddleSeg's `SegBuilder`, for dataset types that take num_classes from their config.

PaddleSeg 2.8.0's SegBuilder treats `type: Dataset` as configurable and every other
dataset type as fixed: it reads `NUM_CLASSES`, `IMG_CHANNELS` and `IGNORE_INDEX` from the
*class* and asserts that the model and losses agree. A dataset type whose values come from
its YAML section, like `Dataset`'s (`MultiLabelDataset`), declares
`NUM_CLASSES_FROM_CONFIG = True`; for it this builder reads the three values from the
`train_dataset` section, so the model and losses are checked and filled in from the
config exactly as for `Dataset`.

A component whose constructor refuses its arguments from the config (a `ValueError` or
`TypeError`, e.g. Tversky `alpha: -1` or an unknown keyword) is a `ConfigError` naming
the YAML entry and the component type, and a constructor's own `ConfigError` or
`DataError` passes through: PaddleSeg wraps them all in a `RuntimeError` (exit code 1).
"""
import types

from paddleseg.cvlibs import SegBuilder as PaddleSegBuilder
from paddleseg.utils.utils import CachedProperty

from paddleseg_imbalance.config.errors import DataError
from paddleseg_imbalance.engine.config import ConfigError


class _RefusedArguments(Exception):
    """A component's constructor raised ValueError or TypeError (its `__cause__`)."""


def yaml_key_of(node, entry, key=""):
    """The YAML key (`loss.types[0]`, `model.backbone`) of the first value in `node`
    equal to `entry`, or None."""
    if node == entry and key:
        return key
    children = (node.items() if isinstance(node, dict)
                else enumerate(node) if isinstance(node, list) else ())
    for name, child in children:
        child_key = f"{key}[{name}]" if isinstance(node, list) else (
            f"{key}.{name}" if key else str(name))
        found = yaml_key_of(child, entry, child_key)
        if found:
            return found
    return None


class SegBuilder(PaddleSegBuilder):
    """`paddleseg.cvlibs.SegBuilder` that understands `NUM_CLASSES_FROM_CONFIG` datasets
    and reports a component's refused arguments as a `ConfigError`."""

    def build_component(self, cfg):
        try:
            return super().build_component(cfg)
        except RuntimeError as error:
            # PaddleSeg raises its RuntimeError while handling the constructor's error.
            refused = error.__context__
            if isinstance(refused, (ConfigError, DataError)):
                raise refused from refused.__cause__
            if not isinstance(refused, _RefusedArguments):
                raise
            key = yaml_key_of(self.config.dic, cfg)
            where = f"`{key}` ({cfg['type']})" if key else f"the {cfg['type']} entry"
            cause = refused.__cause__
            raise ConfigError(f"{where} in the config cannot be built with its arguments: "
                              f"{str(cause).rstrip('.')}. Fix that entry's arguments."
                              ) from cause

    def build_component_impl(self, component_class, *args, **kwargs):
        try:
            return component_class(*args, **kwargs)
        except (ConfigError, DataError):
            raise
        except (ValueError, TypeError) as error:
            raise _RefusedArguments() from error

    def load_component_class(self, class_type):
        try:
            return super().load_component_class(class_type)
        except RuntimeError as error:
            raise ConfigError(f"Component type '{class_type}' in the config is not registered "
                              "with PaddleSeg or this plugin; check its spelling (`paddleseg-"
                              "imbalance lint` lists the known names).") from error

    @CachedProperty
    def train_dataset_class(self):
        """The train dataset class, or for a `NUM_CLASSES_FROM_CONFIG` class the values
        PaddleSeg reads from it, taken from the `train_dataset` section."""
        dataset_cfg = self.config.train_dataset_cfg
        dataset_class = self.load_component_class(dataset_cfg.get("type"))
        if not getattr(dataset_class, "NUM_CLASSES_FROM_CONFIG", False):
            return dataset_class
        return types.SimpleNamespace(NUM_CLASSES=dataset_cfg.get("num_classes"),
                                     IMG_CHANNELS=dataset_cfg.get("img_channels", 3),
                                     IGNORE_INDEX=dataset_cfg.get("ignore_index", 255))
