"""Class weights from class frequencies, for weighted losses.

With n_c the pixels of class c and f_c = n_c / sum_k n_k its pixel frequency:

- ``inverse``:          w_c = 1 / f_c
- ``sqrt_inverse``:     w_c = 1 / sqrt(f_c)
- ``median_frequency``: w_c = median_k(g_k) / g_c, with g_c = n_c / (valid pixels of the
  images that contain c) (Eigen and Fergus, "Predicting Depth, Surface Normals and
  Semantic Labels with a Common Multi-Scale Convolutional Architecture", ICCV 2015).
- ``effective_number``: w_c = (1 - beta) / (1 - beta ** n_c), the inverse of the
  "effective number of samples" (Cui et al., "Class-Balanced Loss Based on Effective
  Number of Samples", CVPR 2019). Pixels are far more numerous than the images Cui et al.
  counted, so the default ``beta`` is ``1 - 1 / max_c n_c``: the largest class then counts
  as about 0.63 of its pixels and small classes as nearly all of theirs.

Weights are normalised to average 1 over the classes present in the data. A class with no
pixels gets the largest weight of the present classes (finite, so a class that shows up
later is neither ignored nor blown up) and a warning. Every weight is finite and > 0.
"""
import numbers
import warnings

import numpy as np

METHODS = ("inverse", "sqrt_inverse", "median_frequency", "effective_number")


def is_real_number(value):
    """Whether `value` is an int or float (a YAML bool is not a number here)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_weight_options(method, beta=None):
    """Raise `ValueError` for an unknown method or an out-of-range effective-number beta."""
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"weight_method is {method!r}; expected one of {', '.join(METHODS)}.")
    if beta is not None and not (is_real_number(beta) and 0.0 <= beta < 1.0):
        raise ValueError(f"weight_beta is {beta!r}; the effective-number method needs a "
                         "number 0 <= beta < 1 (e.g. 0.9999, or leave it unset).")


def _raw_weights(stats, method, beta):
    counts = stats.pixel_counts.astype(np.float64)
    present = counts > 0
    if method == "inverse":
        return counts.sum() / np.where(present, counts, 1.0)
    if method == "sqrt_inverse":
        return np.sqrt(counts.sum() / np.where(present, counts, 1.0))
    if method == "median_frequency":
        frequency = counts / np.maximum(stats.image_pixels, 1)
        return np.median(frequency[present]) / np.where(present, frequency, 1.0)
    if beta is None:
        beta = 1.0 - 1.0 / counts.max()
    if beta == 0.0:
        return np.ones_like(counts)
    # 1 - beta**n as -expm1(n log beta) keeps its precision for beta near 1.
    effective = -np.expm1(counts * np.log(beta)) / (1.0 - beta)
    return 1.0 / np.where(present, effective, 1.0)


def class_weights(stats, method="inverse", beta=None, class_names=None):
    """Per-class weights (float64 array) from `ClassStats`, averaging 1 over present classes.

    Args:
        stats: `ClassStats` (pixel counts, and image pixels for median frequency).
        method: one of `METHODS`.
        beta: the effective-number hyper-parameter; ignored by the other methods.
        class_names: names used in the warning about classes without pixels.

    Raises:
        ValueError: unknown method, bad beta, or no class has any pixel.
    """
    check_weight_options(method, beta)
    if (stats.pixel_counts < 0).any():
        raise ValueError(f"pixel counts {stats.pixel_counts.tolist()} are negative: they do "
                         "not come from label files (delete a hand-edited class_stats.json).")
    present = stats.pixel_counts > 0
    if not present.any():
        raise ValueError("No class has any labelled pixel, so no class weights can be "
                         "computed: check the label files, num_classes and ignore_index.")
    weights = _raw_weights(stats, method, beta)
    weights = weights / weights[present].mean()
    if not present.all():
        names = class_names or [str(c) for c in range(len(weights))]
        missing = [names[c] for c in np.flatnonzero(~present)]
        fill = weights[present].max()
        weights[~present] = fill
        warnings.warn(f"class(es) {', '.join(missing)} have no pixels in the data; they get "
                      f"the largest weight of the present classes ({fill:.4g}).", stacklevel=2)
    if not (np.isfinite(weights).all() and (weights > 0).all()):
        raise ValueError(f"the counts {stats.pixel_counts.tolist()} give the {method} weights "
                         f"{weights.tolist()}, which are not all finite and > 0; choose "
                         "another weight_method.")
    return weights
