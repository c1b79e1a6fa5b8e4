"""`ThresholdSweep`: IoU and F1 of every foreground threshold, from one pass over val.

For a binary model (2-class softmax: the foreground probability is ``softmax[1]``) or a
multi-label one (a sigmoid per label channel, the auxiliary background channel left out),
each scored channel gets two integer histograms of its probabilities over `bins` equal
bins of [0, 1]: one of the pixels labelled positive, one of those labelled negative
(``ignore_index`` pixels count in neither). A pixel is foreground at threshold t where
p > t; bin b holds the probabilities in (b/bins, (b+1)/bins], so at every bin edge
t = k/bins the counts above it are exact: TP(t) and FP(t) are suffix sums of the two
histograms, FN(t) = positives - TP(t). The best threshold is the edge of highest IoU.

    evaluators:
      - type: SegMetrics
      - type: ThresholdSweep    # tools/val.py --sweep_thresholds adds it without YAML
        bins: 1000

The thresholds are tuned on the data they are scored on, so the "best" numbers are
optimistic; tune on a train or held-out split and score on val to measure the gain.
"""
import json
import math
import os

import numpy as np
import paddle
import paddle.distributed as dist
import paddle.nn.functional as F
from paddleseg.utils import logger
from prettytable import PrettyTable

from paddleseg_imbalance.evaluation.confusion import init_parallel_env_once
from paddleseg_imbalance.evaluation.evaluators import Evaluator, eval_dir
from paddleseg_imbalance.evaluation.manager import EVALUATORS
from paddleseg_imbalance.registry import register

THRESHOLDS_FILE = "thresholds.json"
BINARY_KIND = "binary_softmax"
MULTILABEL_KIND = "multilabel_sigmoid"


def check_sweepable(num_classes, multilabel):
    """`ValueError` unless the output is binary softmax or multi-label sigmoid."""
    if not multilabel and num_classes != 2:
        raise ValueError(
            f"a threshold sweep needs a binary (num_classes 2) or multi-label model; this one "
            f"has {num_classes} classes, decided by argmax: leave ThresholdSweep out of "
            "`evaluators` and drop --sweep_thresholds.")


def scored_channels(num_classes, multilabel, skip_channels):
    """The output channels whose foreground probability is swept: channel 1 of a binary
    softmax, every label channel of a multi-label sigmoid."""
    if not multilabel:
        return [1]
    return [c for c in range(num_classes) if c not in skip_channels]


def foreground_probabilities(logit, label, channels, multilabel, summed_softmax=False):
    """(probabilities, labels) of the scored `channels`, each (N, L, H, W).

    `logit` is what PaddleSeg's inference returns: logits, or with augmented inference
    (`summed_softmax`) softmax probabilities summed over scales and flips.
    """
    logit = logit.astype("float32")
    label = label.astype("int64")
    index = paddle.to_tensor(channels, dtype="int64")
    if multilabel:
        probability = F.sigmoid(logit)
        label = paddle.index_select(label, index, axis=1)
    else:
        if summed_softmax:
            probability = logit / logit.sum(axis=1, keepdim=True)
        else:
            probability = F.softmax(logit, axis=1)
        label = label if label.ndim == 4 else label.unsqueeze(1)  # the foreground's 0/1
    return paddle.index_select(probability, index, axis=1), label


def sweep(positive, negative):
    """IoU and F1 at every inner bin edge from the two histograms of one channel.

    Args:
        positive, negative: int arrays (bins,), the probabilities of the pixels labelled
            positive and negative, bin b = (b/bins, (b+1)/bins].

    Returns:
        dict of arrays over the thresholds k/bins, k = 1 .. bins-1: ``thresholds``,
        ``tp``, ``fp``, ``fn``, ``iou``, ``f1`` (NaN where undefined).
    """
    positive, negative = np.asarray(positive, np.int64), np.asarray(negative, np.int64)
    bins = positive.shape[0]
    tp = np.cumsum(positive[::-1])[::-1][1:]  # pixels with p > k/bins, k = 1 .. bins-1
    fp = np.cumsum(negative[::-1])[::-1][1:]
    fn = positive.sum() - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = tp / (tp + fp + fn)
        f1 = 2 * tp / (2 * tp + fp + fn)
    return dict(thresholds=np.arange(1, bins) / bins, tp=tp, fp=fp, fn=fn, iou=iou, f1=f1)


def best_index(iou, thresholds):
    """The index of the highest IoU (of equal ones, the threshold closest to 0.5), or
    None when no threshold has an IoU (no positive and no predicted pixel)."""
    if np.all(np.isnan(iou)):
        return None
    ties = np.flatnonzero(iou == np.nanmax(iou))
    return int(ties[np.argmin(np.abs(thresholds[ties] - 0.5))])


def _finite(value):
    value = float(value)
    return None if math.isnan(value) else value


@register(EVALUATORS)
class ThresholdSweep(Evaluator):
    """Sweeps the foreground threshold of a binary or multi-label model in the same pass
    over val, and writes ``save_dir/eval/thresholds.json`` (``iter_<N>_thresholds.json``
    during training): per class or label, the threshold to use (best by IoU; 0.5 where
    val has no positive pixel), IoU and F1 at 0.5 and at the best threshold, and the
    pixel counts. `tools/predict.py` and `tools/export.py` take the file as
    ``--thresholds``. Also logs a table.

    Args:
        bins (int): histogram bins over [0, 1], even (so 0.5 is a bin edge), at least 2;
            the thresholds tried are the bin edges k/bins.
    """

    needs_probabilities = True

    def __init__(self, bins=1000):
        if isinstance(bins, bool) or not isinstance(bins, int) or bins < 2 or bins % 2:
            raise ValueError(f"ThresholdSweep: bins {bins!r} must be an even integer of at "
                             "least 2 (0.5 must be a bin edge), e.g. 1000.")
        self.bins = bins
        self.channels = None  # set by begin()
        self._counts = None

    def begin(self, num_classes, channels, ignore_index, multilabel):
        """Start an evaluation of a `num_classes`-channel output, sweeping `channels`."""
        check_sweepable(num_classes, multilabel)
        self.num_classes, self.channels = int(num_classes), list(channels)
        self.ignore_index, self.multilabel = int(ignore_index), multilabel
        self._counts = None

    def update(self, probabilities, labels):
        """Add one batch: probabilities and 0/1/ignore labels, both (N, L, H, W) over the
        swept channels (see `foreground_probabilities`)."""
        b, count = self.bins, len(self.channels)
        bin_index = (paddle.ceil(probabilities * b) - 1).clip(0, b - 1).astype("int64")
        channel = paddle.arange(count, dtype="int64").reshape([1, count, 1, 1])
        index = channel * (2 * b) + labels * b + bin_index  # bin [channel][label][p]
        scored = (labels == 0) | (labels == 1)
        index = paddle.where(scored, index, paddle.full_like(index, 2 * b * count))
        counts = paddle.bincount(index.reshape([-1]), minlength=2 * b * count + 1)
        self._counts = counts if self._counts is None else self._counts + counts

    def all_reduce(self):
        """Sum the histograms over ranks (a no-op on one rank); once, on every rank."""
        if dist.get_world_size() < 2:
            return
        init_parallel_env_once()
        packed = paddle.to_tensor(self.histograms().reshape(-1))
        dist.all_reduce(packed)
        self._counts = packed

    def histograms(self):
        """numpy int64 (L, 2, bins): per swept channel, the negative and positive pixels'
        probability histograms."""
        shape = (len(self.channels), 2, self.bins)
        if self._counts is None:
            return np.zeros(shape, np.int64)
        return self._counts.numpy().astype(np.int64)[:int(np.prod(shape))].reshape(shape)

    def __call__(self, result, save_dir=None):
        if self.channels is None:
            raise RuntimeError("ThresholdSweep saw no probabilities: run it through "
                               "paddleseg_imbalance.evaluation.evaluate, which feeds it.")
        names = self._names(result)
        classes = [self._summary(channel, name, negative, positive)
                   for channel, name, (negative, positive)
                   in zip(self.channels, names, self.histograms())]
        report = {"kind": MULTILABEL_KIND if self.multilabel else BINARY_KIND,
                  "num_classes": self.num_classes, "bins": self.bins,
                  "rule": "foreground where probability > threshold",
                  "selected_by": "IoU", "tuned_on": "this evaluation's val set (optimistic "
                  "when scored on the same data)", "classes": classes}
        logger.info("Threshold sweep (best threshold by IoU, tuned on these val images, so "
                    "optimistic):\n" + self._table(classes))
        if save_dir is not None:
            stem = "" if result.iteration is None else f"{result.output_stem}_"
            path = os.path.join(eval_dir(save_dir), stem + THRESHOLDS_FILE)
            with open(path, "w") as file:
                json.dump(report, file, indent=1, allow_nan=False)
            report["path"] = path
        return {"threshold_sweep": report}

    def _names(self, result):
        metrics = result.metrics
        if self.multilabel:
            by_channel = dict(zip(metrics.channels, metrics.names))
            return [str(by_channel.get(c, c)) for c in self.channels]
        return [str(metrics.names[c]) for c in self.channels]

    def _summary(self, channel, name, negative, positive):
        curve = sweep(positive, negative)
        half = self.bins // 2 - 1  # threshold 0.5 = edge bins/2, index bins/2 - 1
        best = best_index(curve["iou"], curve["thresholds"]) if positive.sum() else None
        at_best = half if best is None else best
        return {"channel": channel, "name": name,
                "threshold": float(curve["thresholds"][at_best]),
                "best_threshold": None if best is None else float(curve["thresholds"][best]),
                "iou_at_0.5": _finite(curve["iou"][half]),
                "f1_at_0.5": _finite(curve["f1"][half]),
                "iou_at_best": None if best is None else _finite(curve["iou"][best]),
                "f1_at_best": None if best is None else _finite(curve["f1"][best]),
                "positive_pixels": int(positive.sum()), "negative_pixels": int(negative.sum())}

    @staticmethod
    def _table(classes):
        table = PrettyTable(["Class", "Best threshold", "IoU @0.5", "IoU @best", "F1 @0.5",
                             "F1 @best", "Positive px"])

        def number(value):
            return "-" if value is None else f"{value:.4f}"

        for entry in classes:
            table.add_row([entry["name"], number(entry["best_threshold"]),
                           number(entry["iou_at_0.5"]), number(entry["iou_at_best"]),
                           number(entry["f1_at_0.5"]), number(entry["f1_at_best"]),
                           entry["positive_pixels"]])
        table.align = "r"
        table.align["Class"] = "l"
        return table.get_string()
