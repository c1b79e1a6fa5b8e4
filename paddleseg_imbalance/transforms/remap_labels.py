"""`RemapLabels`: change label values in the pipeline, e.g. 0/255 masks to 0/1."""
import numpy as np
from paddleseg.cvlibs import manager

from paddleseg_imbalance.registry import register


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


@register(manager.TRANSFORMS)
class RemapLabels:
    """Map label values to other values, so labels train as they are stored on disk.

    The usual cases (`paddleseg-imbalance lint --scan-data` suggests them):

    ```yaml
    transforms:
      - type: RemapLabels
        mapping: {255: 1}          # 0/255 binary masks, where 255 is also ignore_index
      - ...
    ```

    and non-contiguous values, e.g. `mapping: {15: 1, 190: 2}` for labels {0, 15, 190}.

    All values are mapped at once (`{1: 2, 2: 1}` swaps two classes); values that are
    not keys of `mapping` stay as they are (there is no default target: a stray value
    should surface in the lint or the loss, not become a class silently). Only the label
    (`data['label']`) changes, in train and in val mode (PaddleSeg's val mode keeps the
    label out of `gt_fields`, but it is still compared with the prediction); the image
    and other gt fields are left alone. Put it first in the transforms: after a padding
    transform, a mapping of the pad value (255) would turn the border into a class.

    Works on class maps (H, W) and on arrays of any shape (each element is mapped). The
    label's dtype is kept when it can hold every target (uint8 for targets <= 255), else
    widened to int64.

    Args:
        mapping: {from value: to value}, integers (YAML keys may be ints or digit strings).

    Raises:
        ValueError: `mapping` is not a non-empty mapping of integers to integers.
    """

    # It maps label values pixel by pixel and changes nothing else, so `weight: auto` and
    # `stats` apply it to the label files they count (see `paddleseg_imbalance.label_value_maps`).
    LABEL_VALUE_MAP = True

    def __init__(self, mapping):
        if not isinstance(mapping, dict) or not mapping:
            raise ValueError(f"RemapLabels: mapping is {mapping!r}; give a mapping of label "
                             "values, e.g. `mapping: {255: 1}`.")
        self.mapping = {}
        for source, target in mapping.items():
            if isinstance(source, str) and source.strip().lstrip("-").isdigit():
                source = int(source)
            if not _is_int(source) or not _is_int(target):
                raise ValueError(
                    f"RemapLabels: mapping entry {source!r}: {target!r} is not integer to "
                    "integer; label values are class indices, e.g. `mapping: {255: 1}`.")
            self.mapping[int(source)] = int(target)

    def __call__(self, data):
        label = data.get("label")
        if label is None or isinstance(label, str):
            return data  # no label (test mode), or not read yet (Compose reads it first)
        data["label"] = self.map_values(label)
        return data

    def map_values(self, label):
        """`label` (an array of any shape) with its values mapped; a new array."""
        label = np.asarray(label)
        targets = list(self.mapping.values())
        dtype = label.dtype
        if dtype.kind in "ui" and not (np.iinfo(dtype).min <= min(targets)
                                       and max(targets) <= np.iinfo(dtype).max):
            dtype = np.int64
        remapped = label.astype(dtype, copy=True)
        for source, target in self.mapping.items():
            remapped[label == source] = target
        return remapped
