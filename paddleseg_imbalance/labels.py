"""Reading label files as PaddleSeg reads them: class maps and multi-label layouts.

A class map is read with PIL, as PaddleSeg's transforms do (`np.asarray(Image.open(p))`):
a palette PNG gives its indices, an RGB PNG gives 3 channels (not a class map).

Multi-label labels come in the layouts PaddleSeg uses:
- a (H, C*W) strip PNG, label c in columns [c*W, (c+1)*W) (PaddleSeg's convert tool);
- a (C*H, W) strip, label c in rows [c*H, (c+1)*H);
- an (H, W, C) array, or a `.npy` file holding one.
`multilabel_to_hwc` turns each into (H, W, C).
"""
import numpy as np
from PIL import Image


def read_label(path):
    """The label file at `path` as a numpy array (`.npy` loaded, images read with PIL)."""
    if str(path).endswith(".npy"):
        return np.load(path)
    with Image.open(path) as image:
        return np.asarray(image)


def multilabel_to_hwc(label, num_labels, image_hw=None):
    """A multi-label array in any PaddleSeg layout, as (H, W, num_labels).

    Args:
        label: (H, W, C), (H, C*W) or (C*H, W) array.
        num_labels: C, the number of labels (without an auxiliary background channel).
        image_hw: the image's (height, width) when known; it decides between the layouts
            and is checked against the result.

    Raises:
        ValueError: the array fits no layout for `num_labels` labels (e.g. an ordinary
            single-channel class map, which is not multi-label data).
    """
    label = np.asarray(label)
    if label.ndim == 3:
        candidates = [label] if label.shape[2] == num_labels else []
    elif label.ndim == 2:
        height, width = label.shape
        candidates = []
        if width % num_labels == 0:
            candidates.append(np.stack(np.split(label, num_labels, axis=1), axis=-1))
        if height % num_labels == 0 and num_labels > 1:
            candidates.append(np.stack(np.split(label, num_labels, axis=0), axis=-1))
    else:
        candidates = []
    if image_hw is not None:
        candidates = [c for c in candidates if c.shape[:2] == tuple(image_hw)]
    if not candidates:
        expected = (f"(H, {num_labels}*W) or ({num_labels}*H, W) strips or (H, W, {num_labels})"
                    + (f" with H, W = {tuple(image_hw)}" if image_hw is not None else ""))
        raise ValueError(
            f"label of shape {label.shape} is not multi-label data with {num_labels} labels: "
            f"expected {expected}. A single-channel class map belongs to a plain `Dataset` "
            "without AddMultiLabelAuxiliaryCategory.")
    return candidates[0]
