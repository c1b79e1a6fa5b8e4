"""`tools/val.py --save_errors K`: the K val images the model gets most wrong, as pictures.

Each image is scored by its foreground IoU: the pixels predicted as their own foreground
class over the pixels that are foreground in the label or the prediction (every class but
the background counts as foreground; ignored pixels are excluded). The K lowest are drawn over the image:
true positives green, false positives red (foreground predicted on background or on
another class), false negatives blue (foreground missed). An image with no foreground in
its label nor in its prediction has nothing to get wrong and is never listed.

With ``rank_by="missed_objects"`` (`--save_errors_by missed_objects`) the images are ranked
by the number of label objects that `ObjectMetrics` matching misses (most first; images
missing none are not listed), and each missed object is outlined in yellow (also with
`ObjectMetrics` in the evaluators, which also puts each image's missed objects in its
caption).

Each listed image is written twice: ``rank_XX_<image>.png``, a panel (image | label |
prediction | errors, enlarged, with a caption and a legend; `error_panels`), and
``rank_XX_<image>_overlay.png``, the errors tile alone at the image's own size.
Multi-label models (`multilabel_threshold` set) are scored per label, the labels' counts
summed; their panels have one row per label, and their overlay file stacks the labels'
errors tiles top to bottom.
"""
import heapq
import json
import os

import cv2
import numpy as np

from paddleseg_imbalance.engine.error_panels import (COLUMNS, IGNORE_BGR, PanelRow,
                                                     class_colour, draw_panel)
from paddleseg_imbalance.evaluation.object_metrics import (class_masks, image_objects,
                                                           missed_outline)

COLOURS_BGR = {"true_positive": (0, 200, 0), "false_positive": (0, 0, 255),
               "false_negative": (255, 64, 0), "missed_object_outline": (0, 255, 255)}
RANKINGS = ("foreground_iou", "missed_objects")
_ALPHA = 0.6


def error_masks(pred, label, background_index=0, ignore_index=255):
    """Boolean (TP, FP, FN) maps of foreground pixels for one (H, W) prediction/label pair."""
    valid = label != ignore_index
    pred_fg = (pred != background_index) & valid
    label_fg = (label != background_index) & valid
    true_positive = pred_fg & label_fg & (pred == label)
    false_positive = pred_fg & ~true_positive
    false_negative = label_fg & ~true_positive
    return true_positive, false_positive, false_negative


def foreground_iou(pred, label, background_index=0, ignore_index=255):
    """|TP| / |foreground in label or prediction|, or None when there is no foreground."""
    tp, fp, fn = error_masks(pred, label, background_index, ignore_index)
    union = (tp | fp | fn).sum()
    return None if union == 0 else float(tp.sum()) / float(union)


def overlay(image_bgr, pred, label, background_index=0, ignore_index=255, outline=None):
    """The image with TP, FP and FN pixels tinted in `COLOURS_BGR`, and the pixels of
    `outline` (boolean, or None) painted in the missed-object colour."""
    picture = image_bgr.astype(np.float32)
    masks = error_masks(pred, label, background_index, ignore_index)
    for mask, colour in zip(masks, COLOURS_BGR.values()):
        picture[mask] = (1 - _ALPHA) * picture[mask] + _ALPHA * np.array(colour, np.float32)
    if outline is not None:
        picture[outline] = COLOURS_BGR["missed_object_outline"]
    return picture.round().astype(np.uint8)


def _legend(names, background_index, multilabel, outlined):
    entries = [(name.replace("_", " "), COLOURS_BGR[name]) for name in list(COLOURS_BGR)[:3]]
    if outlined:
        entries.append(("missed object", COLOURS_BGR["missed_object_outline"]))
    if multilabel:
        entries.append(("label present", class_colour(1)))
    else:
        entries += [(str(name), class_colour(c, background_index))
                    for c, name in enumerate(names)]
    return entries + [("ignored", IGNORE_BGR)]


def _percent(value):
    return "-" if value is None else f"{value:.1%}"


class ErrorGallery:
    """Keeps the `count` worst-scoring val images; `write` draws them.

    Use as `evaluate(..., on_sample=gallery)`. Memory holds `count` prediction/label
    pairs at most. `rank_by` is one of `RANKINGS`; `matching` the `ObjectMetrics`
    matching options (``connectivity``, ``match``, ``threshold``): given (ObjectMetrics
    ran), or with ``missed_objects``, each image's missed objects are counted and outlined.
    `names` names the classes (labels, for multi-label: one per output channel).
    `multilabel_threshold`: None for a single-label model; for a multi-label one the
    probability above which a channel is predicted, `skip_channels` its unscored channels.
    """

    def __init__(self, count, dataset, background_index=0, rank_by="foreground_iou",
                 matching=None, names=None, multilabel_threshold=None, skip_channels=(0,)):
        self.count = count
        self.dataset = dataset
        self.background_index = background_index
        self.rank_by = rank_by
        self.counts_objects = rank_by == "missed_objects" or matching is not None
        self.matching = dict(matching or {})
        self.multilabel = multilabel_threshold is not None
        self.threshold = multilabel_threshold
        skipped = skip_channels if self.multilabel else (background_index,)
        self.channels = [c for c in range(dataset.num_classes) if c not in skipped]
        self.names = [str(n) for n in names] if names else [
            str(c) for c in range(dataset.num_classes)]
        self._worst = []  # min-heap on badness: (badness, index, pred, label)

    def _objects(self, pred, label):
        if not self.counts_objects:
            return {}
        return image_objects(pred, label, self.channels, self.dataset.ignore_index,
                             self.multilabel, **self.matching)

    def _class_iou(self, pred, label):
        """{channel: (intersection, union)} of the channels in the label or prediction."""
        found = {}
        for channel in self.channels:
            label_mask, pred_mask = class_masks(pred, label, channel,
                                                self.dataset.ignore_index, self.multilabel)
            union = int((label_mask | pred_mask).sum())
            if union:
                found[channel] = (int((label_mask & pred_mask).sum()), union)
        return found

    def _foreground_iou(self, pred, label):
        if not self.multilabel:
            return foreground_iou(pred, label, self.background_index,
                                  self.dataset.ignore_index)
        counts = self._class_iou(pred, label).values()
        union = sum(u for _, u in counts)
        return None if union == 0 else sum(i for i, _ in counts) / union

    def _badness(self, pred, label):
        """Higher is worse: the negated foreground IoU, or the missed objects; None when
        the image has nothing to show."""
        if self.rank_by == "missed_objects":
            missed = sum(int((~found.matched).sum())
                         for found in self._objects(pred, label).values())
            return missed or None
        iou = self._foreground_iou(pred, label)
        return None if iou is None else -iou

    def __call__(self, index, pred, label):
        shape = pred.shape[-3:] if self.multilabel else pred.shape[-2:]
        pred = np.asarray(pred.numpy()).reshape(shape)
        pred = (pred > self.threshold) if self.multilabel else pred
        pred = pred.astype(np.int64)
        label = np.asarray(label.numpy()).reshape(shape).astype(np.int64)
        badness = self._badness(pred, label)
        if badness is None:
            return
        entry = (badness, -index, pred, label)  # of equal badness, the first image stays
        if len(self._worst) < self.count:
            heapq.heappush(self._worst, entry)
        elif entry > self._worst[0]:
            heapq.heapreplace(self._worst, entry)

    def _rows(self, pred, label, class_iou, objects):
        """The `PanelRow`s of one image: all classes, or one per label."""
        def missed(channel):
            found = objects.get(channel)
            return 0 if found is None else int((~found.matched).sum())

        def title(channel):
            if channel not in class_iou:
                return f"{self.names[channel]}: nothing labelled or predicted"
            words = f"{self.names[channel]}: IoU {_percent(_ratio(class_iou[channel]))}"
            return words + (f", {missed(channel)} missed objects" if self.counts_objects
                            else "")

        if not self.multilabel:
            return [PanelRow("", pred, label, list(objects.values()))]
        return [PanelRow(title(c), pred[c], label[c], [objects[c]] if c in objects else [])
                for c in self.channels]

    def _caption(self, rank, image_path, class_iou, objects):
        words = [f"#{rank} {os.path.basename(image_path)}"]
        total = (sum(i for i, _ in class_iou.values()) / sum(u for _, u in class_iou.values())
                 if class_iou else None)
        words.append(f"foreground IoU {_percent(total)}")
        if not self.multilabel and len(self.channels) > 1:
            words.append("(" + ", ".join(f"{self.names[c]} {_percent(_ratio(v))}"
                                         for c, v in class_iou.items()) + ")")
        if self.counts_objects:
            missed = {self.names[c]: int((~found.matched).sum())
                      for c, found in objects.items()}
            words.append(f"- missed objects: {sum(missed.values())}" + (
                " (" + ", ".join(f"{n} {m}" for n, m in missed.items()) + ")"
                if len(missed) > 1 else ""))
        return " ".join(words)

    def write(self, save_dir):
        """Write the panels and overlays into `errors/` with `errors/errors.json`; returns
        the panels' paths."""
        directory = os.path.join(save_dir, "errors")
        os.makedirs(directory, exist_ok=True)
        ignore = self.dataset.ignore_index
        listing, paths = [], []
        legend = _legend(self.names, self.background_index, self.multilabel,
                         self.counts_objects)
        ranked = sorted(self._worst, key=lambda entry: (-entry[0], -entry[1]))
        for rank, (badness, negative_index, pred, label) in enumerate(ranked, 1):
            index = -negative_index
            image_path = self.dataset.file_list[index][0]
            image = cv2.imread(image_path, cv2.IMREAD_COLOR)
            if image.shape[:2] != pred.shape[-2:]:
                image = cv2.resize(image, pred.shape[-2:][::-1], interpolation=cv2.INTER_LINEAR)
            stem = f"rank_{rank:02d}_{os.path.splitext(os.path.basename(image_path))[0]}"
            objects = self._objects(pred, label)
            class_iou = self._class_iou(pred, label)
            rows = self._rows(pred, label, class_iou, objects)

            def errors_tile(picture, row_pred, row_label, outline):
                return overlay(picture, row_pred, row_label, self.background_index, ignore,
                               outline)

            cv2.imwrite(os.path.join(directory, stem + "_overlay.png"), np.concatenate(
                [errors_tile(image, row.pred, row.label,
                             missed_outline(row.objects) if row.objects else None)
                 for row in rows], axis=0))
            panel = draw_panel(image, rows, self._caption(rank, image_path, class_iou,
                                                          objects),
                               legend, errors_tile, self.background_index, ignore)
            path = os.path.join(directory, stem + ".png")
            cv2.imwrite(path, panel)
            paths.append(path)
            score = ({"missed_objects": badness} if self.rank_by == "missed_objects"
                     else {"foreground_iou": -badness})
            entry = {"rank": rank, "image": image_path, "panel": stem + ".png",
                     "overlay": stem + "_overlay.png", **score,
                     "iou_by_class": {self.names[c]: _ratio(class_iou[c]) if c in class_iou
                                      else None for c in self.channels}}
            if self.counts_objects:
                entry["missed_by_class"] = {self.names[c]: int((~found.matched).sum())
                                            for c, found in objects.items()}
            listing.append(entry)
        with open(os.path.join(directory, "errors.json"), "w") as file:
            json.dump({"colours_bgr": COLOURS_BGR, "columns": COLUMNS,
                       "multilabel": self.multilabel, "images": listing}, file, indent=1)
        return paths


def _ratio(counts):
    intersection, union = counts
    return intersection / union
