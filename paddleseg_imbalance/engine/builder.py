"""PaddleSeg's `SegBuilder`, for dataset types that take num_classes from their config.

PaddleSeg 2.8.0's SegBuilder treats `type: Dataset` as configurable and every other
dataset type as fixed: it reads `NUM_CLASSES`, `IMG_CHANNELS` and `IGNORE_INDEX` from the
*class* and asserts that the model and losses agree. A dataset type whose values come from
its YAML section, like `Dataset`'s (`MultiLabelDataset`), declares
`NUM_CLASSES_FROM_CONFIG = True`; for it this builder reads the three values from the
`train_dataset` section, so the model and losses are checked and filled in from the
config exactly as for `Dataset`.
"""
import types

from paddleseg.cvlibs import SegBuilder as PaddleSegBuilder
from paddleseg.utils.utils import CachedProperty


class SegBuilder(PaddleSegBuilder):
    """`paddleseg.cvlibs.SegBuilder` that understands `NUM_CLASSES_FROM_CONFIG` datasets."""

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
