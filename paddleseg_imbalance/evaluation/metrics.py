"""Segmentation metrics from confusion counts: pure numpy, no paddle.

Per class ``c``, with ``TP`` the pixels labelled and predicted ``c``, ``FP`` those predicted
``c`` but labelled otherwise and ``FN`` those labelled ``c`` but predicted otherwise::

    support   = TP + FN                (label pixels)
    predicted = TP + FP                (predicted pixels)
    IoU       = TP / (TP + FP + FN)
    Dice = F1 = 2 TP / (2 TP + FP + FN)
    precision = TP / predicted,  recall = TP / support

Conventions (PaddleSeg 2.8 reports 0 for an absent class and develop reports IoU 1, which
turns an all-background model on 0/255 masks into mIoU 1.0; mmseg and torchmetrics leave
such classes out, as here):

- A class is *present* when it has label or predicted pixels. A class absent from both
  has every metric NaN here, ``None`` in JSON and "-" in tables, and is left out of every
  mean: there is nothing to score.
- A present class that fails in a direction scores 0 there: labels but no predictions
  give IoU = Dice = recall = precision = 0; predictions but no labels (a false alarm)
  give IoU = Dice = precision = recall = 0. (sklearn's ``zero_division=0``.)
- Means (mIoU, mDice) are over present classes; the foreground means leave out
  ``background_index``; mean accuracy is the mean recall over classes with labels.
"""
import dataclasses
import math
from typing import Optional, Tuple

import numpy as np

ABSENT = None  # how an absent class's metric is written to JSON


def _ratio(numerator, denominator, present):
    """numerator / denominator; 0 where the denominator is 0 but the class is present,
    NaN where the class is absent."""
    numerator, denominator = np.asarray(numerator, float), np.asarray(denominator, float)
    value = np.where(denominator > 0, numerator / np.maximum(denominator, 1), 0.0)
    return np.where(present, value, np.nan)


def _mean(values):
    """Mean over the non-NaN entries; NaN when there are none (no warning)."""
    values = np.asarray(values, float)
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else math.nan


def _json_number(value):
    value = float(value)
    return ABSENT if math.isnan(value) else value


def default_names(count):
    """Class names when none are given: "0", "1", ..."""
    return tuple(str(i) for i in range(count))


def _check_names(names, count, what):
    """`names` as a tuple of strings, or the default names; `what` is "class" or "label"."""
    names = default_names(count) if names is None else tuple(str(n) for n in names)
    if len(names) != count:
        raise ValueError(f"{len(names)} {what} names given ({list(names)}) but there are "
                         f"{count}; give one name per {what}, in index order.")
    return names


@dataclasses.dataclass(frozen=True)
class ClassScores:
    """Per-class metrics; every array has one entry per class.

    Attributes:
        names: class (or label) names.
        iou, dice, precision, recall: float64, NaN for an absent class.
        support: int64, label pixels. predicted: int64, predicted pixels.
        counted: int64, the pixels over which the class was scored (every valid pixel for
            a single-label class; that label's non-ignored elements for a multi-label one).
    """
    names: Tuple[str, ...]
    iou: np.ndarray
    dice: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    support: np.ndarray
    predicted: np.ndarray
    counted: np.ndarray

    @classmethod
    def from_counts(cls, names, tp, fp, fn, counted):
        tp, fp, fn = (np.asarray(x, np.int64) for x in (tp, fp, fn))
        support, predicted = tp + fn, tp + fp
        present = support + predicted > 0
        return cls(names=tuple(names),
                   iou=_ratio(tp, tp + fp + fn, present),
                   dice=_ratio(2 * tp, 2 * tp + fp + fn, present),
                   precision=_ratio(tp, predicted, present),
                   recall=_ratio(tp, support, present),
                   support=support, predicted=predicted,
                   counted=np.broadcast_to(np.asarray(counted, np.int64), tp.shape).copy())

    @property
    def present(self):
        """bool array: the class has label or predicted pixels."""
        return (self.support + self.predicted) > 0

    @property
    def predicted_share(self):
        """Predicted pixels / counted pixels (NaN when nothing was counted)."""
        return _share(self.predicted, self.counted)

    @property
    def support_share(self):
        """Label pixels / counted pixels (NaN when nothing was counted)."""
        return _share(self.support, self.counted)

    def index(self, name):
        """Position of a class given by name or by its index written as a string."""
        if name in self.names:
            return self.names.index(name)
        if str(name).isdigit() and int(name) < len(self.names):
            return int(name)
        raise KeyError(name)

    def rows(self):
        """One JSON-ready dict per class; an absent class has ``present: false`` and
        ``None`` metrics."""
        rows = []
        for i, name in enumerate(self.names):
            rows.append({
                "index": i, "name": name, "present": bool(self.present[i]),
                "iou": _json_number(self.iou[i]), "dice": _json_number(self.dice[i]),
                "precision": _json_number(self.precision[i]),
                "recall": _json_number(self.recall[i]),
                "support": int(self.support[i]), "predicted": int(self.predicted[i]),
                "predicted_share": _json_number(self.predicted_share[i]),
            })
        return rows


def _share(part, whole):
    whole = np.asarray(whole, float)
    return np.where(whole > 0, np.asarray(part, float) / np.maximum(whole, 1), np.nan)


class _Summary:
    """`value(name)` for metrics with a `summary()` of headline numbers."""

    def summary(self):
        raise NotImplementedError

    def value(self, name):
        """A headline (`summary()` keys) or ``"<metric>/<class>"`` (iou, dice, precision,
        recall; class by name or index). NaN when undefined (compare with care: NaN is
        never better). Raises KeyError listing the names when unknown."""
        headline = self.summary()
        if name in headline:
            return headline[name]
        metric, _, class_name = str(name).partition("/")
        for scores in self._scored_groups():
            if metric in ("iou", "dice", "precision", "recall") and class_name:
                try:
                    return float(getattr(scores, metric)[scores.index(class_name)])
                except KeyError:
                    continue
        raise KeyError(f"unknown metric {name!r}; known: {sorted(headline)} and "
                       "iou/<class>, dice/<class>, precision/<class>, recall/<class> "
                       f"for classes {[n for s in self._scored_groups() for n in s.names]}")

    def _scored_groups(self):
        return (self,)


@dataclasses.dataclass(frozen=True)
class SegmentationMetrics(ClassScores, _Summary):
    """Metrics of a single-label segmentation (see the module docstring).

    Attributes (besides `ClassScores`):
        background_index: the class left out of the foreground means, or None.
        valid_pixels, ignored_pixels: pixels counted, and pixels labelled ignore_index.
        miou, fg_miou, mdice, fg_mdice: means over present classes (fg: without background).
        pixel_accuracy: trace / valid pixels.
        mean_accuracy: mean recall over classes with label pixels.
        kappa: Cohen's kappa (p_o - p_e) / (1 - p_e), NaN when p_e = 1.
    """
    background_index: Optional[int]
    valid_pixels: int
    ignored_pixels: int
    miou: float
    fg_miou: float
    mdice: float
    fg_mdice: float
    pixel_accuracy: float
    mean_accuracy: float
    kappa: float

    kind = "multiclass"

    def summary(self):
        """Headline values by their `value()` names."""
        return {"miou": self.miou, "fg_miou": self.fg_miou, "dice": self.mdice,
                "fg_dice": self.fg_mdice, "acc": self.pixel_accuracy,
                "macc": self.mean_accuracy, "kappa": self.kappa}

    def to_json(self):
        return {"kind": self.kind,
                "summary": {k: _json_number(v) for k, v in self.summary().items()},
                "present_classes": int(self.present.sum()), "num_classes": len(self.names),
                "background_index": self.background_index,
                "valid_pixels": self.valid_pixels, "ignored_pixels": self.ignored_pixels,
                "classes": self.rows()}


def cohen_kappa(matrix):
    """Cohen's kappa of a confusion matrix: (p_o - p_e) / (1 - p_e), with p_o the trace
    share and p_e = sum_c support_c * predicted_c / total^2. NaN when total = 0 or
    p_e = 1 (labels and predictions all one class: agreement is not measurable)."""
    matrix = np.asarray(matrix, float)
    total = matrix.sum()
    if total == 0:
        return math.nan
    observed = np.trace(matrix) / total
    expected = float(matrix.sum(axis=1) @ matrix.sum(axis=0)) / total ** 2
    return math.nan if expected >= 1 else (observed - expected) / (1 - expected)


def segmentation_metrics(matrix, class_names=None, background_index=0, ignored_pixels=0):
    """All single-label metrics of a K x K confusion matrix (rows labels, columns
    predictions). `background_index` (or None) is left out of fg_miou and fg_mdice."""
    matrix = np.asarray(matrix, np.int64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"segmentation_metrics: the confusion matrix has shape "
                         f"{matrix.shape}; a K x K matrix is expected.")
    k = matrix.shape[0]
    if background_index is not None and not 0 <= background_index < k:
        raise ValueError(f"background_index {background_index} is not a class of {k}; use "
                         f"an index in [0, {k}) or None when no class is background.")
    tp = np.diag(matrix)
    valid = int(matrix.sum())
    scores = ClassScores.from_counts(_check_names(class_names, k, "class"), tp,
                                     matrix.sum(axis=0) - tp, matrix.sum(axis=1) - tp, valid)
    foreground = np.ones(k, bool)
    if background_index is not None:
        foreground[background_index] = False
    return SegmentationMetrics(
        **dataclasses.asdict(scores),
        background_index=background_index, valid_pixels=valid,
        ignored_pixels=int(ignored_pixels),
        miou=_mean(scores.iou), fg_miou=_mean(scores.iou[foreground]),
        mdice=_mean(scores.dice), fg_mdice=_mean(scores.dice[foreground]),
        pixel_accuracy=float(tp.sum() / valid) if valid else math.nan,
        mean_accuracy=_mean(scores.recall[scores.support > 0]),
        kappa=cohen_kappa(matrix))


@dataclasses.dataclass(frozen=True)
class MultiLabelMetrics(ClassScores, _Summary):
    """Metrics of a multi-label segmentation: each scored label is its own binary problem
    (TP, FP, FN over that label's non-ignored elements).

    The per-class arrays hold the scored labels only; the skipped channels (PaddleSeg's
    auxiliary background channel) are in `auxiliary`, reported but in no mean.

    Attributes (besides `ClassScores`):
        channels: the output channel of each scored label.
        auxiliary: `ClassScores` of the skipped channels.
        auxiliary_channels: the output channel of each skipped one.
        valid_elements, ignored_elements: label elements counted / ignored, all channels.
        miou, mdice: means over present scored labels.
        mean_accuracy: mean recall over scored labels with positive elements.
        pixel_accuracy: (TP + TN) / counted over the scored labels' elements.
    """
    channels: Tuple[int, ...]
    auxiliary: ClassScores
    auxiliary_channels: Tuple[int, ...]
    valid_elements: int
    ignored_elements: int
    miou: float
    mdice: float
    mean_accuracy: float
    pixel_accuracy: float

    kind = "multilabel"

    def summary(self):
        return {"miou": self.miou, "dice": self.mdice, "acc": self.pixel_accuracy,
                "macc": self.mean_accuracy}

    def _scored_groups(self):
        return (self, self.auxiliary)

    def to_json(self):
        return {"kind": self.kind,
                "summary": {k: _json_number(v) for k, v in self.summary().items()},
                "present_labels": int(self.present.sum()), "num_labels": len(self.names),
                "valid_elements": self.valid_elements,
                "ignored_elements": self.ignored_elements,
                "labels": [dict(row, channel=channel)
                           for row, channel in zip(self.rows(), self.channels)],
                "auxiliary": [dict(row, channel=channel) for row, channel in zip(
                    self.auxiliary.rows(), self.auxiliary_channels)]}


def multilabel_metrics(counts, label_names=None, skip_channels=(0,), ignored_elements=0):
    """Metrics of per-channel 2 x 2 counts ``counts[c] = [[TN, FP], [FN, TP]]`` (C, 2, 2).

    `label_names` names all C channels (default "0".."C-1"); `skip_channels` are reported
    in `auxiliary` and left out of the means.
    """
    counts = np.asarray(counts, np.int64)
    if counts.ndim != 3 or counts.shape[1:] != (2, 2):
        raise ValueError(f"multilabel_metrics: counts have shape {counts.shape}; "
                         "(C, 2, 2) per-channel [[TN, FP], [FN, TP]] are expected.")
    num_channels = counts.shape[0]
    names = _check_names(label_names, num_channels, "label")
    auxiliary = tuple(sorted(set(int(c) for c in skip_channels)))
    scored = tuple(c for c in range(num_channels) if c not in auxiliary)

    def scores_of(channels):
        channels = list(channels)
        tn, fp = counts[channels, 0, 0], counts[channels, 0, 1]
        fn, tp = counts[channels, 1, 0], counts[channels, 1, 1]
        return ClassScores.from_counts([names[c] for c in channels], tp, fp, fn,
                                       counts[channels].sum(axis=(1, 2)))

    scores = scores_of(scored)
    scored_counts = counts[list(scored)]
    counted = int(scored_counts.sum())
    correct = int(scored_counts[:, 0, 0].sum() + scored_counts[:, 1, 1].sum())
    return MultiLabelMetrics(
        **dataclasses.asdict(scores),
        channels=scored, auxiliary=scores_of(auxiliary), auxiliary_channels=auxiliary,
        valid_elements=int(counts.sum()), ignored_elements=int(ignored_elements),
        miou=_mean(scores.iou), mdice=_mean(scores.dice),
        mean_accuracy=_mean(scores.recall[scores.support > 0]),
        pixel_accuracy=correct / counted if counted else math.nan)
