"""Per-label weights for sigmoid (multi-label) outputs, from per-label pixel counts.

A multi-label model has one sigmoid output per label, so its imbalance is within each
channel (few positive pixels against many negative ones), not between classes competing
for a pixel. Two kinds of weight follow from the counts of a multi-label `ClassStats`
(positive pixels p_c of each label c among its P valid positions, n_c = P - p_c):

- positive weights, for `BCELoss`'s `pos_weight`: the loss of a positive pixel of label c
  is multiplied by ``inverse``: n_c / p_c, or ``sqrt_inverse``: sqrt(n_c / p_c), so that
  the positives of a rare label weigh (about) as much as its negatives. They are ratios,
  not normalised.
- channel weights, for the `weight` of a loss in `mode: multilabel` (`WeightedIoULoss`,
  `TverskyLoss`, ...): `class_weights` of the label counts (mean 1 over the labels).

The auxiliary background channel of `AddMultiLabelAuxiliaryCategory` (channel 0, "no
label") is trained, but not re-weighted: positive weight 1 (its positives are the common
case), and channel weight 0 in the overlap losses, which it would only dilute (its IoU is
near 1 from the start, and it is neither evaluated nor exported).

A label with no positive pixel gets the largest weight of the others, with a warning that
names it (a label that only shows up in the val set is then not ignored).
"""
import warnings

import numpy as np

from paddleseg_imbalance.analysis.class_weights import class_weights

POSITIVE_METHODS = ("inverse", "sqrt_inverse")
BACKGROUND_POSITIVE_WEIGHT = 1.0
BACKGROUND_CHANNEL_WEIGHT = 0.0


def _missing_labels(stats, label_names):
    return [label_names[c] for c in np.flatnonzero(stats.pixel_counts <= 0)]


def positive_weights(stats, method, label_names, num_auxiliary=0):
    """One positive weight per output channel (float64): `num_auxiliary` background
    channels with weight 1, then one per label of the multi-label `stats` (see the module
    docstring).

    Raises:
        ValueError: `method` is not one of `POSITIVE_METHODS`, or no label has a positive
            pixel.
    """
    if method not in POSITIVE_METHODS:
        raise ValueError(f"weight_method is {method!r}; positive weights take "
                         f"{' or '.join(POSITIVE_METHODS)}.")
    share = np.asarray(stats.pixel_share, np.float64)
    present = share > 0
    if not present.any():
        raise ValueError("no label has a positive pixel in the train set, so no positive "
                         "weights can be computed: check the label files and ignore_index.")
    ratio = (1.0 - share) / np.where(present, share, 1.0)
    weights = np.sqrt(ratio) if method == "sqrt_inverse" else ratio
    weights = np.maximum(weights, np.finfo(np.float64).tiny)  # a label set everywhere
    missing = _missing_labels(stats, label_names)
    if missing:
        fill = weights[present].max()
        weights[~present] = fill
        warnings.warn(f"label(s) {', '.join(missing)} have no positive pixel in the train "
                      f"set; they get the largest positive weight of the others "
                      f"({fill:.4g}). Check the label files, or drop the label.", stacklevel=2)
    return np.concatenate([np.full(num_auxiliary, BACKGROUND_POSITIVE_WEIGHT), weights])


def channel_weights(stats, method, beta, label_names, num_auxiliary=0):
    """One weight per output channel (float64): `num_auxiliary` background channels with
    weight 0, then `class_weights` of the labels' positive counts."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        weights = class_weights(stats, method, beta)
    missing = _missing_labels(stats, label_names)
    if caught and missing:
        warnings.warn(f"label(s) {', '.join(missing)} have no positive pixel in the train "
                      f"set; they get the largest weight of the others "
                      f"({weights.max():.4g}). Check the label files, or drop the label.",
                      stacklevel=2)
    return np.concatenate([np.full(num_auxiliary, BACKGROUND_CHANNEL_WEIGHT), weights])
