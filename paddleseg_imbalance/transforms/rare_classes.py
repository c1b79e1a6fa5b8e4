"""Which classes of one label are rare: the rule `RareClassCrop` and `CopyPaste` share.

`classes: auto` means every class but the background. A transform sees one label and
does not know the dataset's statistics, so for a class map the most frequent class of
that label stands for the background; for a multi-label (H, W, C) label the background
is the auxiliary channel(s) named by `skip_channels` (AddMultiLabelAuxiliaryCategory puts
"no label" in channel 0). An explicit list of classes (or channels) is used as given,
e.g. one computed from the dataset's statistics.
"""
import numpy as np

from paddleseg_imbalance.analysis.class_stats import count_label_array

AUTO = "auto"


def check_classes(classes, owner):
    """`classes` as "auto" or a tuple of class indices; `ValueError` naming `owner` if neither."""
    if isinstance(classes, str) and classes == AUTO:
        return AUTO
    if (isinstance(classes, (list, tuple)) and classes
            and all(isinstance(c, (int, np.integer)) and c >= 0 for c in classes)):
        return tuple(int(c) for c in classes)
    raise ValueError(f"{owner}: classes is {classes!r}; give 'auto' (every class but the "
                     "most frequent one of each label) or a non-empty list of class "
                     "indices, e.g. [1, 3].")


def label_pixel_counts(label, ignore_index):
    """Pixels per class of a class map (H, W), or positive pixels per channel of an
    (H, W, C) multi-label label; pixels equal to `ignore_index` count nowhere."""
    label = np.asarray(label)
    if label.ndim == 3:
        return count_label_array(label, label.shape[2], ignore_index, multilabel=True).pixel_counts
    # Class values are not known here; counting up to the largest value present covers
    # them all (`ignore_index` among them is left out by the counter).
    num_values = int(label.max()) + 1 if label.size else 0
    return count_label_array(label, num_values, ignore_index).pixel_counts


def rare_classes_present(counts, classes, skip_channels=(), multilabel=False):
    """The rare classes that have pixels, by the rule of the module doc.

    Args:
        counts: `label_pixel_counts` of the label.
        classes: "auto" or a tuple of class indices (see `check_classes`).
        skip_channels: multi-label channels that `auto` never counts as rare.
        multilabel: whether `counts` are per channel of an (H, W, C) label.

    Returns:
        a sorted list of class (or channel) indices.
    """
    present = np.flatnonzero(counts > 0)
    if classes != AUTO:
        return [c for c in present.tolist() if c in classes]
    if multilabel:
        return [c for c in present.tolist() if c not in skip_channels]
    background = int(np.argmax(counts)) if present.size else None
    return [c for c in present.tolist() if c != background]
