"""Drawing an epoch's sample list from per-image weights, with a fixed length.

PaddleSeg trains through `paddle.io.DistributedBatchSampler`, which reads `len(dataset)`
once and asserts that it never changes, so a resampling wrapper needs an epoch of fixed
length whose per-image counts still follow the weights. `systematic_counts` does that
with stochastic universal sampling (Baker, "Reducing bias and inefficiency in the
selection algorithm", ICGA 1987): `length` equally spaced pointers, one random offset,
over the images' cumulative weights. With e_i = length * w_i / sum(w), image i is drawn
floor(e_i) or ceil(e_i) times, ceil with probability e_i - floor(e_i), so E[count_i] = e_i
exactly and the total is exactly `length`. Per image this is detectron2's stochastic
rounding (floor(e) + Bernoulli(e - floor(e))); only the joint law differs, because the
total is fixed instead of random.

Everything random comes from `epoch_generator(seed, epoch)`, so an epoch's list depends
on the seed and the epoch only: every rank and every data-loader worker computes the
same list without talking to each other.
"""
import numpy as np


def epoch_generator(seed, epoch):
    """The numpy Generator for `epoch` of a wrapper seeded with `seed`."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(epoch)]))


def systematic_counts(weights, length, rng):
    """How often each image is drawn in an epoch of `length` draws (see the module doc).

    Args:
        weights: one weight >= 0 per image, not all 0.
        length: draws in the epoch, >= 1.
        rng: a numpy Generator.

    Returns:
        int64 counts, one per image, summing to `length`.
    """
    weights = np.asarray(weights, dtype=np.float64)
    # A random order per epoch, so that which neighbours share a pointer gap (and hence
    # whose extra copies exclude each other) changes from epoch to epoch.
    order = rng.permutation(len(weights))
    edges = np.cumsum(weights[order])
    pointers = (rng.random() + np.arange(length)) * (edges[-1] / length)
    # Rounding can leave the last pointer a hair beyond the last edge; it belongs there.
    bins = np.minimum(np.searchsorted(edges, pointers, side="right"), len(weights) - 1)
    counts = np.zeros(len(weights), dtype=np.int64)
    counts[order] = np.bincount(bins, minlength=len(weights))
    return counts


def realise_epoch(weights, length, seed, epoch):
    """The shuffled image indices of one epoch: image i appears `systematic_counts` times."""
    rng = epoch_generator(seed, epoch)
    counts = systematic_counts(weights, length, rng)
    return rng.permutation(np.repeat(np.arange(len(counts)), counts))
