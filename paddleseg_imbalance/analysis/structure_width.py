"""How thin each class is: local structure width from a distance transform, and the stride it needs.

A model that predicts its logits at 1/s of the input and resizes them back cannot draw a
structure much narrower than s px (`benchmarks/head_resolution_ceiling.py` measures it:
on the demo data's 1-5 px roads a stride-8 logit map can reach at most about 0.57
foreground IoU, a stride-4 map 0.87). These statistics say, per class, how wide its
structures are, so the output stride can be chosen from the data.

Local width (in px) of a class pixel, from `d`, the Euclidean distance transform of the
class mask (`scipy.ndimage.distance_transform_edt`: distance from a pixel's centre to the
nearest non-class pixel's centre, so 1 on the outline):

* ridge pixels are the local maxima of `d` (d >= all 8 neighbours): a discrete medial axis;
* the width at a ridge pixel p is d(p) + the larger d of its two neighbours across the
  structure, + (step - 1): of the four neighbour pairs through p (vertical, horizontal,
  two diagonals, step 1 or sqrt 2), across is the one whose d falls fastest per step
  (along the structure d stays high). On a ridge one pixel thick (an odd width w) that is
  d + (d - 1) = 2d - 1 = w; on a ridge two pixels thick (an even width w, where no pixel
  centre lies on the medial axis) it is d + d = w. 2d alone would count every odd width
  one pixel too wide, 2d - 1 every even one one pixel too narrow;
* every class pixel takes the width of its nearest ridge pixel, so a pixel's width is
  that of the structure it lies on, and the statistics are pixel-weighted, as IoU is.

A straight line of width w measures w exactly when axis-aligned, within 2 px at other
angles (where a rasterised line's width is itself uncertain by about a pixel); a disc of
diameter D measures D - 2 to D. Pixels of another class, ignored pixels and the space between
structures all count as non-class; the image border does not (a structure cut by the
border keeps the width of its visible part's far side).

Widths are kept as a histogram per class in half-pixel bins up to `MAX_WIDTH`, so files
add up in any order, and the median and the share of thin pixels come from it.
`needed_stride` is the coarsest output stride that can still draw the median structure.
"""
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

BIN_PX = 0.5
MAX_WIDTH = 256  # px; wider structures are counted in the last bin
_BINS = int(MAX_WIDTH / BIN_PX) + 1
# Pixels on structures at most this wide are "thin" (1-3 px: cracks, vessels, lane marks).
THIN_WIDTH = 3
# Output strides of common segmentation heads, coarsest first.
STRIDES = (32, 16, 8, 4, 2, 1)


def needed_stride(width):
    """The coarsest stride in `STRIDES` that is at most `width` px (1 for narrower).

    A stride-s logit map, resized bilinearly, draws a structure of about s px or wider
    well: on the demo roads (median width 4 px, see `benchmarks/head_resolution_ceiling.py`)
    stride 4 can still express 0.87 foreground IoU, stride 8 only 0.57.
    """
    return next((stride for stride in STRIDES if stride <= width), 1)


def local_widths(mask):
    """Local width in px of each True pixel of the 2-D bool `mask`, in `mask[mask]` order."""
    mask = np.asarray(mask, bool)
    if not mask.any():
        return np.zeros(0)
    # Only the class's bounding box, one pixel wider where the image allows: outside it
    # everything is non-class, so the ring holds each edge pixel's nearest non-class pixel.
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    top, left = max(rows[0] - 1, 0), max(cols[0] - 1, 0)
    crop = mask[top:rows[-1] + 2, left:cols[-1] + 2]
    if crop.all():  # no non-class pixel in sight: as wide as can be counted
        return np.full(int(crop.sum()), float(MAX_WIDTH))
    distance = ndimage.distance_transform_edt(crop)
    ridge = crop & (distance >= ndimage.maximum_filter(distance, size=3, mode="constant"))
    width = np.where(ridge, _ridge_width(distance), 0.0)
    nearest = ndimage.distance_transform_edt(~ridge, return_distances=False,
                                             return_indices=True)
    return width[nearest[0][crop], nearest[1][crop]]


def _ridge_width(distance):
    """d(p) + the larger d of p's two neighbours across the structure, + step - 1 (see above)."""
    height, width = distance.shape
    padded = np.pad(distance, 1)
    best_drop, result = np.full(distance.shape, -np.inf), np.zeros(distance.shape)
    for (dy, dx), step in (((1, 0), 1.0), ((0, 1), 1.0), ((1, 1), 2 ** 0.5), ((1, -1), 2 ** 0.5)):
        after = padded[1 + dy:1 + dy + height, 1 + dx:1 + dx + width]
        before = padded[1 - dy:1 - dy + height, 1 - dx:1 - dx + width]
        drop = (2 * distance - after - before) / step
        better = drop > best_drop
        best_drop = np.where(better, drop, best_drop)
        result = np.where(better, distance + np.maximum(after, before) + step - 1, result)
    return result


def width_histogram(mask):
    """Histogram of `local_widths(mask)` in `BIN_PX` bins (the last one: `MAX_WIDTH` and wider)."""
    bins = np.minimum(np.rint(local_widths(mask) / BIN_PX).astype(np.int64), _BINS - 1)
    return np.bincount(bins, minlength=_BINS)


@dataclass
class StructureWidths:
    """Width histograms per class (per label for multi-label data).

    Attributes:
        histograms: (classes, bins) int64: pixels of each class per `BIN_PX` width bin.
        measured: bool per class: whether its width is measured (not class 0, the
            background, of a class map: its "width" is the space between the rest).
    """

    histograms: np.ndarray
    measured: np.ndarray

    @classmethod
    def empty(cls, num_classes, multilabel=False):
        measured = np.ones(num_classes, bool)
        if not multilabel and num_classes > 1:
            measured[0] = False
        return cls(np.zeros((num_classes, _BINS), np.int64), measured)

    def __add__(self, other):
        return StructureWidths(self.histograms + other.histograms, self.measured)

    def pixels(self, c):
        return int(self.histograms[c].sum())

    def median(self, c):
        """Median local width of class `c` in px, or None (not measured, or no pixels)."""
        total = self.pixels(c)
        if not self.measured[c] or not total:
            return None
        index = int(np.searchsorted(np.cumsum(self.histograms[c]), (total + 1) / 2))
        return index * BIN_PX

    def thin_share(self, c):
        """Share of class `c`'s pixels on structures at most `THIN_WIDTH` px wide, or None."""
        total = self.pixels(c)
        if not self.measured[c] or not total:
            return None
        return float(self.histograms[c, :int(THIN_WIDTH / BIN_PX) + 1].sum() / total)

    def needed_stride(self, c):
        """The output stride class `c`'s median width needs (see `needed_stride`), or None."""
        median = self.median(c)
        return None if median is None else needed_stride(median)

    def thinnest(self):
        """The measured class with pixels and the smallest median width, or None."""
        medians = [(self.median(c), c) for c in range(len(self.measured))]
        present = [(median, c) for median, c in medians if median is not None]
        return min(present)[1] if present else None

    def to_json(self):
        classes = range(len(self.measured))
        return {"bin_px": BIN_PX, "thin_width_px": THIN_WIDTH,
                "median_width_px": [self.median(c) for c in classes],
                "thin_share": [self.thin_share(c) for c in classes],
                "needed_stride": [self.needed_stride(c) for c in classes]}


def label_widths(label, num_classes, multilabel=False, pixel_counts=None):
    """`StructureWidths` of one label: a class map (H, W), or (H, W, C) 0/1 multi-label.

    `pixel_counts` (the label's, from `ClassStats`) lets absent classes be skipped unread.
    """
    widths = StructureWidths.empty(num_classes, multilabel)
    present = widths.measured if pixel_counts is None else widths.measured & (pixel_counts > 0)
    for c in np.flatnonzero(present):
        mask = label[..., c] == 1 if multilabel else label == c
        widths.histograms[c] = width_histogram(mask)
    return widths
