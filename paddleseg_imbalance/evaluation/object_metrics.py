"""`ObjectMetrics`: object-level recall, precision and F1 per class, by object size.

Pixel IoU lets one large object hide many missed small ones. This evaluator scores
objects instead: in each val image and for each scored class (single-label: every class
but the background; multi-label: every label channel but the auxiliary background
channel), the connected components of the label mask and of the prediction mask
(`scipy.ndimage.label`) are the objects, and they are matched one to one:

- a pair is a candidate when its score reaches `threshold`: with ``match: iou`` (the
  default) the score is the pair's IoU; with ``match: coverage`` it is the share of the
  label object's pixels inside the predicted object, which suits thin objects (roads,
  cracks) whose predicted width differs from the label's by a pixel or two;
- candidates are taken greedily, highest score first (ties: lower label object, then
  lower predicted object), each object at most once. With IoU >= 0.5 the matching is
  the only one possible (no object has two candidates except in exact ties), so greedy is
  also the maximum matching.

A matched label object is detected (a true positive); an unmatched label object is
missed; an unmatched predicted object is a false detection. Per class: object recall
(matched / label objects), precision (matched / predicted objects), F1, the number of
objects, recall per size bucket of the label objects' areas in pixels, and the mean
per-object Dice (each label object's Dice with the predicted object overlapping it best,
0 when none overlaps; the mean over label objects). Pixels labelled ``ignore_index`` are
taken out of both masks before the components are found, so they count nowhere.

Objects are 8-connected by default (diagonal neighbours join: a thin diagonal line is
one object, not a chain of single pixels); ``connectivity: 4`` joins edge neighbours only.

    evaluators:
      - type: SegMetrics
      - type: DegenerateResultCheck   # flags small objects all missed while IoU looks fine
      - type: ObjectMetrics
        connectivity: 8               # 4 or 8
        match: iou                    # iou or coverage
        threshold: 0.5                # the score a match needs, in (0, 1]
        size_buckets: [16, 64, 256, 1024]   # object area edges in px (increasing)
        classes: null                 # names or indices to score; default all foreground

The counts stream: each image adds integers (and a Dice sum) per class, and the counts
are summed over ranks once at the end, so two ranks report what one does.
"""
import dataclasses
import json
import math
from typing import List

import numpy as np
import paddle
import paddle.distributed as dist
from paddleseg.utils import logger
from prettytable import PrettyTable
from scipy import ndimage

from paddleseg_imbalance.evaluation.confusion import init_parallel_env_once
from paddleseg_imbalance.evaluation.evaluators import Evaluator, EvaluatorArgumentError
from paddleseg_imbalance.evaluation.manager import EVALUATORS
from paddleseg_imbalance.registry import register

CONNECTIVITY = {4: ndimage.generate_binary_structure(2, 1),
                8: ndimage.generate_binary_structure(2, 2)}
MATCH_CRITERIA = ("iou", "coverage")
DEFAULT_SIZE_BUCKETS = (16, 64, 256, 1024)
_TOTALS = 4  # per class: label objects, predicted objects, matched, Dice sum; then buckets


@dataclasses.dataclass
class ObjectMatch:
    """The objects of one class in one image and how they matched.

    Attributes:
        label_ids: int array (H, W), 0 outside label objects, 1..n inside object i.
        label_areas: int array (n,), pixels per label object.
        matched: bool array (n,), label object i was detected.
        dice: float array (n,), Dice of label object i with its best-overlapping
            predicted object (0 when none overlaps).
        predicted_objects: number of predicted objects.
    """
    label_ids: np.ndarray
    label_areas: np.ndarray
    matched: np.ndarray
    dice: np.ndarray
    predicted_objects: int


def match_objects(label_mask, pred_mask, connectivity=8, match="iou", threshold=0.5):
    """Components of two boolean (H, W) masks, matched one to one (module docstring)."""
    structure = CONNECTIVITY[connectivity]
    label_ids, n_label = ndimage.label(label_mask, structure)
    pred_ids, n_pred = ndimage.label(pred_mask, structure)
    label_areas = np.bincount(label_ids.ravel(), minlength=n_label + 1)[1:]
    matched = np.zeros(n_label, bool)
    dice = np.zeros(n_label)
    if n_label and n_pred:
        both = (label_ids > 0) & (pred_ids > 0)
        codes = label_ids[both].astype(np.int64) * (n_pred + 1) + pred_ids[both]
        pairs, intersection = np.unique(codes, return_counts=True)
        label_of, pred_of = np.divmod(pairs, n_pred + 1)
        label_of, pred_of = label_of - 1, pred_of - 1
        pred_areas = np.bincount(pred_ids.ravel(), minlength=n_pred + 1)[1:]
        sizes = label_areas[label_of] + pred_areas[pred_of]
        np.maximum.at(dice, label_of, 2.0 * intersection / sizes)
        if match == "iou":
            score = intersection / (sizes - intersection)
        else:
            score = intersection / label_areas[label_of]
        candidates = np.flatnonzero(score >= threshold)
        order = candidates[np.lexsort((pred_of[candidates], label_of[candidates],
                                       -score[candidates]))]
        pred_taken = np.zeros(n_pred, bool)
        for i, j in zip(label_of[order].tolist(), pred_of[order].tolist()):
            if not matched[i] and not pred_taken[j]:
                matched[i] = pred_taken[j] = True
    return ObjectMatch(label_ids, label_areas, matched, dice, n_pred)


def bucket_names(edges):
    """Readable names of the size buckets that `edges` (increasing areas) cut."""
    if not edges:
        return ["all"]
    names = [f"<{edges[0]}"]
    names += [f"{low}-{high - 1}" for low, high in zip(edges[:-1], edges[1:])]
    return names + [f">={edges[-1]}"]


def tally(objects, edges):
    """float64 (4 + 2 * buckets,): label objects, predicted objects, matched, Dice sum,
    label objects per size bucket, matched per size bucket."""
    buckets = len(edges) + 1
    bucket = np.searchsorted(np.asarray(edges), objects.label_areas, side="right")
    per_bucket = np.bincount(bucket, minlength=buckets)
    matched_per_bucket = np.bincount(bucket[objects.matched], minlength=buckets)
    return np.concatenate([[len(objects.label_areas), objects.predicted_objects,
                            int(objects.matched.sum()), objects.dice.sum()],
                           per_bucket, matched_per_bucket]).astype(np.float64)


def class_masks(pred, label, channel, ignore_index, multilabel):
    """Boolean (label, prediction) masks of `channel` in one image, ignored pixels out of
    both. Single-label: (H, W) class indices; multi-label: (C, H, W) 0/1 values."""
    if multilabel:
        label, pred = label[channel], pred[channel]
        valid = label != ignore_index
        return (label == 1) & valid, (pred != 0) & valid
    valid = label != ignore_index
    return (label == channel) & valid, (pred == channel) & valid


def image_objects(pred, label, channels, ignore_index, multilabel=False, connectivity=8,
                  match="iou", threshold=0.5):
    """{channel: `ObjectMatch`} of one image, for the `channels` with a label or predicted
    pixel (see `class_masks` for the shapes)."""
    found = {}
    for channel in channels:
        label_mask, pred_mask = class_masks(pred, label, channel, ignore_index, multilabel)
        if label_mask.any() or pred_mask.any():
            found[channel] = match_objects(label_mask, pred_mask, connectivity, match,
                                           threshold)
    return found


def missed_outline(objects):
    """Boolean (H, W): the boundary pixels of each missed label object in `objects` (the
    values of `image_objects`), each object outlined on its own even where it touches
    another."""
    outline = None
    for found in objects:
        ids = found.label_ids
        missed = np.isin(ids, np.flatnonzero(~found.matched) + 1)
        padded = np.pad(ids, 1)
        neighbours_differ = ((padded[:-2, 1:-1] != ids) | (padded[2:, 1:-1] != ids)
                             | (padded[1:-1, :-2] != ids) | (padded[1:-1, 2:] != ids))
        boundary = missed & neighbours_differ
        outline = boundary if outline is None else outline | boundary
    return outline


def _ratio(numerator, denominator):
    return numerator / denominator if denominator else math.nan


@dataclasses.dataclass
class ObjectScores:
    """Object-level scores, one row per scored class (`EvaluationResult.objects`).

    Attributes:
        names, channels: the scored classes (labels) and their output channels.
        counts: float64 (classes, 4 + 2 * buckets), see `tally`, summed over val.
        size_buckets: the area edges in pixels.
    """
    names: List[str]
    channels: List[int]
    counts: np.ndarray
    size_buckets: List[int]

    @property
    def bucket_names(self):
        return bucket_names(self.size_buckets)

    def row(self, index):
        """The scores of the `index`-th scored class as a dict (NaN where undefined)."""
        counts = self.counts[index]
        objects, predicted, matched, dice_sum = counts[:_TOTALS]
        buckets = len(self.size_buckets) + 1
        per_bucket = counts[_TOTALS:_TOTALS + buckets]
        matched_per_bucket = counts[_TOTALS + buckets:]
        recall, precision = _ratio(matched, objects), _ratio(matched, predicted)
        f1 = _ratio(2 * matched, objects + predicted)
        return {"name": self.names[index], "channel": self.channels[index],
                "label_objects": int(objects), "predicted_objects": int(predicted),
                "matched": int(matched), "recall": recall, "precision": precision,
                "f1": f1, "mean_dice": _ratio(dice_sum, objects),
                "by_size": {name: {"objects": int(n), "matched": int(m),
                                   "recall": _ratio(m, n)}
                            for name, n, m in zip(self.bucket_names, per_bucket,
                                                  matched_per_bucket)}}

    def rows(self):
        return [self.row(i) for i in range(len(self.names))]

    def smallest_missed(self, index, min_objects):
        """The largest size edge below which every label object of class `index` is
        missed, with how many there are; None unless at least `min_objects` are."""
        rows = self.row(index)["by_size"].values()
        objects, found = 0, None
        for edge, bucket in zip(self.size_buckets, rows):
            if bucket["matched"]:
                break
            objects += bucket["objects"]
            if bucket["objects"] and objects >= min_objects:
                found = (edge, objects)
        return found


@register(EVALUATORS)
class ObjectMetrics(Evaluator):
    """Object-level recall, precision, F1, object counts, recall per object size and
    mean per-object Dice per class (see the module docstring for the matching). Logs a
    table, returns ``{"object_metrics": {...}}`` for the evaluation JSON, and puts the
    scores on `EvaluationResult.objects` (for `DegenerateResultCheck` and VisualDL).

    Args:
        connectivity (int): 4 or 8 (default): which neighbours join one object.
        match (str): ``iou`` (default) or ``coverage`` (share of the label object inside
            the predicted object; for thin objects).
        threshold (float): in (0, 1]; the score a pair needs to match (default 0.5).
        size_buckets (list[int]): increasing positive object areas in pixels that cut the
            size buckets (default [16, 64, 256, 1024]: below 4 x 4, 8 x 8, 16 x 16,
            32 x 32 px, and larger).
        classes (list): class names or indices to score; default every class but the
            background (multi-label: every label channel but the skipped ones).
        digits (int): decimals in the table.
    """

    needs_predictions = True

    def __init__(self, connectivity=8, match="iou", threshold=0.5,
                 size_buckets=DEFAULT_SIZE_BUCKETS, classes=None, digits=4):
        if connectivity not in CONNECTIVITY or isinstance(connectivity, bool):
            raise EvaluatorArgumentError(
                "connectivity", f"{connectivity!r} is not a connectivity; use 4 (edge "
                "neighbours) or 8 (edge and diagonal neighbours, the default).")
        if match not in MATCH_CRITERIA:
            raise EvaluatorArgumentError(
                "match", f"{match!r} is not a match criterion; use `iou` (the default) or "
                "`coverage` (the share of the label object inside the predicted one).")
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) \
                or not 0 < threshold <= 1:
            raise EvaluatorArgumentError(
                "threshold", f"{threshold!r} must be a number in (0, 1], e.g. 0.5.")
        edges = list(size_buckets) if isinstance(size_buckets, (list, tuple)) else None
        if edges is None or not all(isinstance(e, int) and not isinstance(e, bool) and e > 0
                                    for e in edges) or any(
                                        b <= a for a, b in zip(edges, edges[1:])):
            raise EvaluatorArgumentError(
                "size_buckets", f"{size_buckets!r} must be a list of strictly increasing "
                "positive object areas in pixels, e.g. [16, 64, 256, 1024].")
        if classes is not None and (not isinstance(classes, (list, tuple)) or not classes):
            raise EvaluatorArgumentError(
                "classes", f"{classes!r} must be a non-empty list of class names or "
                "indices, or left out to score every foreground class.")
        self.connectivity, self.match, self.threshold = connectivity, match, float(threshold)
        self.size_buckets, self.classes, self.digits = edges, classes, int(digits)
        self.matching = dict(connectivity=connectivity, match=match,
                             threshold=self.threshold)
        self.channels = None  # set by begin()
        self._counts = None

    def check_classes(self, num_classes, class_names):
        """`ValueError` naming the `classes` entries that are no class of a
        `num_classes`-channel output named `class_names` (or None); nothing to check
        when `num_classes` is None (not in the config: `begin` checks at evaluation)."""
        if num_classes is not None:
            self._channels_of(self.classes or [], num_classes, class_names)

    def _channels_of(self, classes, num_classes, class_names):
        names = [str(n) for n in class_names] if class_names else []
        channels, unknown = [], []
        for entry in classes:
            if isinstance(entry, int) and not isinstance(entry, bool) \
                    and 0 <= entry < num_classes:
                channels.append(entry)
            elif str(entry) in names:
                channels.append(names.index(str(entry)))
            else:
                unknown.append(entry)
        if unknown:
            known = f"the names {names} or " if names else ""
            raise ValueError(
                f"{unknown} are not classes of this {num_classes}-class model; list "
                f"{known}indices in [0, {num_classes}), or leave `classes` out to score "
                "every foreground class.")
        return list(dict.fromkeys(channels))

    def begin(self, num_classes, ignore_index, multilabel, skip_channels=(0,),
              background_index=0, class_names=None):
        """Start an evaluation of a `num_classes`-channel output."""
        if self.classes is not None:
            self.channels = self._channels_of(self.classes, num_classes, class_names)
        else:
            left_out = set(skip_channels) if multilabel else {background_index}
            self.channels = [c for c in range(num_classes) if c not in left_out]
        self.ignore_index, self.multilabel = int(ignore_index), bool(multilabel)
        self._counts = np.zeros((len(self.channels), _TOTALS + 2 * (len(self.size_buckets)
                                                                     + 1)))
        self._reduced = False

    def update(self, pred, label):
        """Add one batch: numpy or Tensor class indices (N, [1,] H, W), or multi-label
        0/1 predictions and labels (N, C, H, W)."""
        pred, label = _numpy(pred), _numpy(label)
        if not self.multilabel and pred.ndim == 4:
            pred, label = pred[:, 0], label[:, 0]
        rows = {channel: row for row, channel in enumerate(self.channels)}
        for image_pred, image_label in zip(pred, label):
            found = image_objects(image_pred, image_label, self.channels, self.ignore_index,
                                  self.multilabel, **self.matching)
            for channel, objects in found.items():
                self._counts[rows[channel]] += tally(objects, self.size_buckets)

    def all_reduce(self):
        """Sum the counts over ranks (a no-op on one rank); once, on every rank."""
        if dist.get_world_size() < 2:
            return
        init_parallel_env_once()
        packed = paddle.to_tensor(self._counts.reshape(-1))
        dist.all_reduce(packed)
        self._counts = packed.numpy().astype(np.float64).reshape(self._counts.shape)

    def scores(self, result):
        """`ObjectScores` of the finished counts, named after `result`'s classes."""
        if self.channels is None:
            raise RuntimeError("ObjectMetrics saw no predictions: run it through "
                               "paddleseg_imbalance.evaluation.evaluate, which feeds it.")
        metrics = result.metrics
        if self.multilabel:
            by_channel = dict(zip(metrics.channels, metrics.names))
            names = [str(by_channel.get(c, c)) for c in self.channels]
        else:
            names = [str(metrics.names[c]) for c in self.channels]
        return ObjectScores(names, list(self.channels), self._counts.copy(),
                            list(self.size_buckets))

    def add_to_result(self, result):
        """Put the scores on `result.objects` before any evaluator runs."""
        result.objects = self.scores(result)

    def __call__(self, result, save_dir=None):
        scores = result.objects if result.objects is not None else self.scores(result)
        rows = scores.rows()
        logger.info(f"[EVAL] Objects ({self.connectivity}-connected, matched by "
                    f"{self.match} >= {self.threshold:g}; recall by label object area in "
                    "px, objects in brackets):\n" + self._table(scores, rows))
        report = {"connectivity": self.connectivity, "match": self.match,
                  "threshold": self.threshold, "size_buckets": scores.size_buckets,
                  # NaN (no objects, or none predicted) becomes null
                  "classes": json.loads(json.dumps(rows), parse_constant=lambda _: None)}
        return {"object_metrics": report}

    def _table(self, scores, rows):
        def number(value):
            return "-" if math.isnan(value) else f"{value:.{self.digits}f}"

        table = PrettyTable(["Class", "Objects", "Predicted", "Recall", "Precision", "F1",
                             "Mean Dice"] + [f"Recall {b}" for b in scores.bucket_names])
        for row in rows:
            table.add_row([row["name"], row["label_objects"], row["predicted_objects"],
                           number(row["recall"]), number(row["precision"]),
                           number(row["f1"]), number(row["mean_dice"])]
                          + [f"{number(b['recall'])} ({b['objects']})"
                             for b in row["by_size"].values()])
        table.align = "r"
        table.align["Class"] = "l"
        return table.get_string()


def _numpy(values):
    return values.numpy() if isinstance(values, paddle.Tensor) else np.asarray(values)
